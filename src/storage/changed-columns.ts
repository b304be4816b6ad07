/**
 * changedColumns keeps the columns of a PATCH whose value differs from the row as stored: a field
 * sent back as it was read is no change, so it leaves updatedAt as it was, as `{}` does (API.md: a
 * field left out keeps its value; sending its own value is the same request).
 */
export function changedColumns<R extends object>(row: R, columns: Partial<R>): Partial<R> {
  return Object.fromEntries(Object.entries(columns).filter(([name, value]) => !Object.is(row[name as keyof R], value))) as Partial<R>;
}

/** sameMembers tells whether two lists hold the same values, in any order (role ids, opt-out kinds). */
export function sameMembers(a: readonly unknown[], b: readonly unknown[]): boolean {
  const left = new Set(a);
  const right = new Set(b);
  return left.size === right.size && [...left].every((value) => right.has(value));
}
