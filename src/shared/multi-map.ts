/** multiMap groups key–value pairs into a map from each key to all its values, in order. */
export function multiMap<K, V>(pairs: Iterable<readonly [K, V]>): Map<K, V[]> {
  const map = new Map<K, V[]>();
  for (const [key, value] of pairs) {
    const list = map.get(key);
    if (list) list.push(value);
    else map.set(key, [value]);
  }
  return map;
}
