/** The account the console's browser tests' SMTP server takes (startTestSmtpServer's auth). */
export const SMTP_USER = 'alerts@acme.example';
/** The password of SMTP_USER. */
export const SMTP_PASSWORD = 'app-password-16ch';

/**
 * customSmtpOf is a tenant's custom SMTP settings for the tests' server on `port`: plain, signing
 * in as SMTP_USER (plaintext allowed explicitly, as API.md asks), sending from that address.
 */
export function customSmtpOf(port: number, password: string = SMTP_PASSWORD) {
  return { host: 'localhost', port, security: 'none', allowPlaintextAuth: true, username: SMTP_USER, password, fromAddress: SMTP_USER };
}
