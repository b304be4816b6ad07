/**
 * URGENT_FIRST_MS is how long an urgent email's send keeps a process's report renders waiting at
 * most (UrgentSends): a Fatal alert's email takes a few of its server's round trips, far less;
 * a send to a server that does not answer lets the reports render again after that long.
 */
const URGENT_FIRST_MS = 2_000;

/**
 * rendersWait says whether work that gives way to urgent sends (a report's render) waits now: while
 * a send that began less than `holdMs` ago is under way. Given the start times of the sends under
 * way, it also says until when at most (the youngest's start plus `holdMs`), when it waits.
 */
export function rendersWait(startedAt: Iterable<number>, now: number, holdMs: number): { readonly wait: boolean; readonly until?: number } {
  let youngest = Number.NEGATIVE_INFINITY;
  for (const at of startedAt) youngest = Math.max(youngest, at);
  const until = youngest + holdMs;
  return until > now ? { wait: true, until } : { wait: false };
}

/**
 * UrgentSends are the urgent emails (a Fatal alert's, a mail-health notice) a process is sending,
 * which the reports' renders give way to (LoopTurns' `yieldTo`). A worker renders a claim's reports
 * one after another, each in a turn of the event loop of tens of milliseconds; a Fatal email's send
 * needs a turn for each of its steps (its facts read, its server's replies to MAIL, RCPT, DATA and
 * the message), and each waited behind a report's render: during a big tenant's daily reports
 * another tenant's Fatal email took 0.3-1.2 s, under load several seconds, instead of a few round trips.
 * While one is under way (URGENT_FIRST_MS at most), no report starts its render.
 */
export class UrgentSends {
  /** When each send under way began (performance.now()). */
  readonly #startedAt = new Set<{ readonly at: number }>();
  readonly #waiters: (() => void)[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(private readonly holdMs = URGENT_FIRST_MS) {}

  /** begin counts an urgent send under way; call what it returns once its server has answered. */
  begin(): () => void {
    const send = { at: performance.now() };
    this.#startedAt.add(send);
    return () => {
      if (this.#startedAt.delete(send)) this.#settle();
    };
  }

  /** pressing says whether work that gives way to urgent sends waits now (rendersWait). */
  get pressing(): boolean {
    return this.#verdict().wait;
  }

  /** settled resolves once nothing is pressing: the urgent sends ended, or began URGENT_FIRST_MS ago. */
  settled(): Promise<void> {
    if (!this.pressing) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.#waiters.push(resolve);
      this.#settle();
    });
  }

  #verdict() {
    return rendersWait(
      Array.from(this.#startedAt, (send) => send.at),
      performance.now(),
      this.holdMs,
    );
  }

  /** #settle lets the waiters go when nothing presses any more, else looks again when the youngest send's hold ends. */
  #settle(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#waiters.length === 0) return;
    const verdict = this.#verdict();
    if (!verdict.wait) {
      for (const resolve of this.#waiters.splice(0)) resolve();
      return;
    }
    this.#timer = setTimeout(() => this.#settle(), Math.max(1, Math.ceil(verdict.until! - performance.now())));
    // A stopping process is not kept alive for it: the renders waiting end with it.
    this.#timer.unref();
  }
}
