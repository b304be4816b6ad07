/** LoopTurnCounter counts the turns of the event loop from its start, for tests of what runs in which turn. */
export interface LoopTurnCounter {
  /** The turns gone round so far. */
  readonly turn: number;
  stop(): void;
}

/** countLoopTurns counts every turn of the event loop (a setImmediate each) until stopped. */
export function countLoopTurns(): LoopTurnCounter {
  let turn = 0;
  let counting = true;
  const count = () => {
    turn += 1;
    if (counting) setImmediate(count);
  };
  setImmediate(count);
  return {
    get turn() {
      return turn;
    },
    stop() {
      counting = false;
    },
  };
}
