/** Clock gives the current time in epoch milliseconds; tests pass a fake one. */
export interface Clock {
  now(): number;
}

/** systemClock reads the machine's clock. */
export const systemClock: Clock = Object.freeze({ now: () => Date.now() });

/** FakeClock is a Clock that moves only when told to, for schedule tests. */
export class FakeClock implements Clock {
  constructor(private current: number) {}

  now(): number {
    return this.current;
  }

  /** set moves the clock to an absolute time. */
  set(epochMs: number): void {
    this.current = epochMs;
  }

  /** advance moves the clock forward by some milliseconds. */
  advance(ms: number): void {
    this.current += ms;
  }
}
