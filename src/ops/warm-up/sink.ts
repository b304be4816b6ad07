import type { AddressInfo } from 'node:net';
import type { SMTPServer } from 'smtp-server';

/**
 * WarmUpSink is the SMTP server a start's warm-up sends its emails to: on loopback, any sign-in,
 * each message read to its end and thrown away. It only counts them, so the warm-up waits for each
 * email as a real one is waited for, and parses nothing (the mail catcher's parser would cost the
 * start CPU that no real send pays).
 */
export class WarmUpSink {
  #server: SMTPServer | undefined;
  #accepted = 0;
  #waiting: { count: number; resolve: () => void }[] = [];

  /** listen starts the sink on 127.0.0.1, on a free port, and returns the port. */
  async listen(): Promise<number> {
    const { SMTPServer } = await import('smtp-server');
    const server = new SMTPServer({
      disabledCommands: ['STARTTLS'],
      authOptional: true,
      allowInsecureAuth: true,
      disableReverseLookup: true,
      logger: false,
      // The sender's pooled connection says QUIT as the scratch server stops; one that did not is not waited for long.
      closeTimeout: 1_000,
      onAuth: (_auth, _session, callback) => callback(null, { user: 'warm-up' }),
      onData: (stream, _session, callback) => {
        stream.on('data', () => undefined);
        stream.on('end', () => {
          this.#accepted++;
          callback();
          const due = this.#waiting.filter((w) => w.count <= this.#accepted);
          this.#waiting = this.#waiting.filter((w) => w.count > this.#accepted);
          for (const w of due) w.resolve();
        });
      },
    });
    this.#server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve((server.server.address() as AddressInfo).port);
      });
    });
  }

  /** accepted resolves once `count` messages in all have been accepted since the sink started. */
  accepted(count: number): Promise<void> {
    if (this.#accepted >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiting.push({ count, resolve }));
  }

  /** close stops listening and ends the sessions still open (the sender's pooled connection). */
  close(): Promise<void> {
    const server = this.#server;
    return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
}
