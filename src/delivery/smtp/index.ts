/**
 * The SMTP sender: `createMailSender()` implements the MailSender of ../contract.ts, and
 * `classifySmtpError` is its pure failure classification, exported for the outbox.
 */
export { classifySmtpError, stageOfCommand } from './classify.js';
export { createMailSender, type MailSenderOptions, TranscribedSmtpError } from './sender.js';
export { loginName } from './transport-options.js';
