import net from 'node:net';
import tls from 'node:tls';
import { type SmtpEndpoint, SmtpDeliveryError } from '../contract.js';

// How long the early probe (watchForImplicitTls) waits for a TLS handshake: at most 5 s, and at
// least 2 s whatever the endpoint's own timeout, which bounds the SMTP dialogue: a handshake on a
// busy server (or a busy machine) can take longer than a short dialogue timeout.
const PROBE_MIN_MS = 2_000;
const PROBE_MAX_MS = 5_000;
// The share of the endpoint's timeout that a probe made once the greeting's wait is over (an email's,
// which never asks early) may take: a twentieth, so that the attempt, connecting included, ends within
// its timeout and a tenth, as an administrator who set the timeout expects; the early probe's 2 to 5 s
// held a silent server's attempt for up to twice its timeout. A probe cut short answers "no": the email
// is retried as a timeout, and Test Mail Settings, which asks early for the whole probe time, still
// names the setting to change.
const LATE_PROBE_SHARE = 0.05;
// How long a plain or STARTTLS connection waits for the greeting before asking, on a connection of
// its own, whether the port expects implicit TLS: a server greets within milliseconds, one that
// waits for a handshake never does, and the whole timeout (30 s by default) is long to wait.
const EARLY_PROBE_AFTER_MS = 1_000;

/**
 * speaksImplicitTls says whether the endpoint's port completes a TLS handshake from the first byte.
 * It sends no SMTP and no credentials, so the certificate is not what it judges (the real
 * connection verifies it); any failure or silence within the time given is "no".
 */
function speaksImplicitTls(endpoint: SmtpEndpoint, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tls.connect({
      host: endpoint.connectAddress ?? endpoint.host,
      port: endpoint.port,
      ...(net.isIP(endpoint.host) ? {} : { servername: endpoint.host }),
      rejectUnauthorized: false,
    });
    const settle = (answer: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => settle(false), timeoutMs);
    socket.once('secureConnect', () => settle(true));
    socket.once('error', () => settle(false));
    socket.once('close', () => settle(false));
  });
}

/** implicitTlsExpected is the failure of a plain or STARTTLS connection to a port that expects implicit TLS: a setting to change (stage `tls`, not retried). */
function implicitTlsExpected(endpoint: SmtpEndpoint): SmtpDeliveryError {
  const mode = endpoint.security === 'starttls' ? 'STARTTLS' : 'plain SMTP';
  return new SmtpDeliveryError(
    `the server sent no SMTP greeting: it expects implicit TLS from the first byte on port ${endpoint.port}, not ${mode} (choose security "tls", the Enable SSL box, usually with port 465)`,
    'tls',
    false,
    undefined,
    undefined,
    // No server greeted: mail health says why in each reader's language; the sentence above is the API's.
    { cause: 'implicit-tls', detail: '' },
  );
}

/**
 * explainSilentGreeting is the failure of a plain or STARTTLS connection whose server never
 * greeted: when the port answers a TLS handshake, the server expects implicit TLS and waits for
 * one, which is a setting to change (stage `tls`, not retried) rather than a server to wait for;
 * otherwise the timeout as it was. `asked` is the answer of a probe already made (watchForImplicitTls):
 * the port is not asked twice, nor the timeout's answer held back by a second probe. Without one,
 * the port is asked for a twentieth of the timeout (LATE_PROBE_SHARE).
 */
export async function explainSilentGreeting(endpoint: SmtpEndpoint, timeout: SmtpDeliveryError, asked?: Promise<boolean>): Promise<SmtpDeliveryError> {
  if (endpoint.security === 'tls' || !(await (asked ?? speaksImplicitTls(endpoint, endpoint.timeoutMs * LATE_PROBE_SHARE)))) return timeout;
  return implicitTlsExpected(endpoint);
}

function probeTimeoutMs(endpoint: SmtpEndpoint): number {
  return Math.min(Math.max(endpoint.timeoutMs, PROBE_MIN_MS), PROBE_MAX_MS);
}

/** ImplicitTlsWatch is a watch for a port that expects implicit TLS (watchForImplicitTls). */
export interface ImplicitTlsWatch {
  /** Stops the watch: no probe starts after it, and one under way reports nothing. */
  stop(): void;
  /** The answer of the probe made, if one was. */
  asked(): Promise<boolean> | undefined;
}

/**
 * watchForImplicitTls asks, when a plain or STARTTLS connection has heard nothing a second after it
 * was opened, whether the port completes a TLS handshake, and calls `found` with the failure to
 * report if it does and the server has still not greeted: "this port expects implicit TLS" in a
 * second or two rather than after the whole timeout. A server that is only slow to greet answers
 * the probe with its greeting, not a handshake, and the connection waits on.
 */
export function watchForImplicitTls(endpoint: SmtpEndpoint, greeted: () => boolean, found: (failure: SmtpDeliveryError) => void): ImplicitTlsWatch {
  let stopped = false;
  let probe: Promise<boolean> | undefined;
  const timer =
    endpoint.security === 'tls'
      ? undefined
      : setTimeout(
          () => {
            if (greeted()) return;
            probe = speaksImplicitTls(endpoint, probeTimeoutMs(endpoint));
            void probe.then((tls) => {
              if (tls && !stopped && !greeted()) found(implicitTlsExpected(endpoint));
            });
          },
          Math.min(EARLY_PROBE_AFTER_MS, endpoint.timeoutMs / 2),
        );
  return {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
    asked: () => probe,
  };
}
