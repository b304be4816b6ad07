/**
 * seededRandom is a deterministic pseudo-random sequence in [0, 1) (a linear congruential
 * generator), for tests that pick random moments or steps and must replay a failure exactly.
 */
export function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}
