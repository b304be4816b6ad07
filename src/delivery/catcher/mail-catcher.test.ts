import nodemailer from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';
import { MailCatcher } from './mail-catcher.js';

describe('the built-in mail catcher', () => {
  let catcher: MailCatcher | undefined;
  afterEach(async () => {
    await catcher?.close();
    catcher = undefined;
  });

  async function catchOne(to: string, extra: Record<string, string> = {}) {
    catcher = new MailCatcher();
    const port = await catcher.listen(0);
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
    await transport.sendMail({ from: 'alertes@exemple.fr', to, subject: 'Récapitulatif', text: 'Bonjour', headers: extra });
    transport.close();
    const [message] = catcher.messages();
    if (!message) throw new Error('the catcher kept no message');
    return message;
  }

  it('shows the headers of an email to an accented address (SMTPUTF8) as written, not as mojibake', async () => {
    const message = await catchOne('"Zoé Lefèvre" <zoé@exemple.fr>');
    expect(message.envelope.to).toEqual(['zoé@exemple.fr']);
    expect(message.headers.to).toContain('<zoé@exemple.fr>');
    expect(message.headers.to).not.toContain('Ã');
  });

  it('keeps a header line that is not UTF-8 as its bytes read one to a character', async () => {
    // An 8-bit header in another charset (Latin-1 "é" is one byte, 0xE9) cannot be read as UTF-8.
    catcher = new MailCatcher();
    const port = await catcher.listen(0);
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
    const raw = Buffer.concat([
      Buffer.from('From: alertes@exemple.fr\r\nTo: ops@exemple.fr\r\nX-Note: caf'),
      Buffer.from([0xe9]),
      Buffer.from('\r\nSubject: test\r\n\r\nBonjour\r\n'),
    ]);
    await transport.sendMail({ envelope: { from: 'alertes@exemple.fr', to: ['ops@exemple.fr'] }, raw });
    transport.close();
    expect(catcher.messages()[0]?.headers['x-note']).toBe('café');
  });
});
