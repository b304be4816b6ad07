/** Messages is a tree of translated strings, as i18next reads its resources. */
export interface Messages {
  readonly [key: string]: string | Messages;
}

/** flattenKeys lists the dotted key of every string of a message tree, e.g. `summary.heading`. */
export function flattenKeys(messages: Messages, prefix = ''): string[] {
  return Object.entries(messages).flatMap(([key, value]) => (typeof value === 'string' ? [`${prefix}${key}`] : flattenKeys(value, `${prefix}${key}.`)));
}
