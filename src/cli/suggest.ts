/**
 * closestName is the one of `names` nearest to what was typed, at most two edits away (a letter
 * missing, doubled, swapped or wrong), for a "did you mean" after a misspelt command or option;
 * undefined when none is that near, or when two are equally near.
 */
export function closestName(typed: string, names: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  let tie = false;
  for (const name of names) {
    const distance = editDistance(typed.toLowerCase(), name.toLowerCase());
    if (distance < bestDistance) [best, bestDistance, tie] = [name, distance, false];
    else if (distance === bestDistance) tie = true;
  }
  return tie ? undefined : best;
}

/**
 * didYouMean is what to add to parseArgs' "Unknown option '--tennant'": ` (did you mean --tenant?)`
 * when one of the command's options is near, else nothing.
 */
export function didYouMean(err: unknown, options: readonly string[]): string {
  const typed = /^Unknown option '--?([^'=]+)/.exec((err as Error | undefined)?.message ?? '')?.[1];
  const near = typed === undefined ? undefined : closestName(typed, options);
  return near === undefined ? '' : ` (did you mean --${near}?)`;
}

/** editDistance counts the insertions, deletions, substitutions and swaps of neighbours that turn a into b. */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      rows[i]![j] = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) rows[i]![j] = Math.min(rows[i]![j]!, rows[i - 2]![j - 2]! + 1);
    }
  }
  return rows[a.length]![b.length]!;
}
