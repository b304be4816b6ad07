/**
 * inWords says a list of allowed values as a sentence does: "en, fr, de, es or ja", "tenant or user".
 * In a module of its own, which imports nothing: the CLI says its options' allowed values with it
 * before it loads a command (src/cli/arguments.ts).
 */
export function inWords(values: readonly unknown[]): string {
  const words = values.map(String);
  return words.length < 2 ? (words[0] ?? '') : `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`;
}
