/** Messages is a tree of translated strings, as i18next reads its resources. */
export interface Messages {
  readonly [key: string]: string | Messages;
}

/** flattenTexts lists every string of a message tree with its dotted key, e.g. `['summary.heading', 'Error summary']`. */
export function flattenTexts(messages: Messages, prefix = ''): [string, string][] {
  return Object.entries(messages).flatMap(([key, value]): [string, string][] =>
    typeof value === 'string' ? [[`${prefix}${key}`, value]] : flattenTexts(value, `${prefix}${key}.`),
  );
}

/** flattenKeys lists the dotted key of every string of a message tree, e.g. `summary.heading`. */
export function flattenKeys(messages: Messages, prefix = ''): string[] {
  return flattenTexts(messages, prefix).map(([key]) => key);
}
