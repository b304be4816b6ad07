/** light is whether a #rrggbb or #rgb colour is near white, as an email's card and page are (anything else, a name or rgb(), is not). */
export function light(colour: string): boolean {
  const hex = /^#([0-9a-f]{3}|[0-9a-f]{6})$/.exec(colour)?.[1];
  if (!hex) return false;
  const channels = hex.length === 3 ? [...hex].map((c) => Number.parseInt(c + c, 16)) : [0, 2, 4].map((i) => Number.parseInt(hex.slice(i, i + 2), 16));
  return channels.every((channel) => channel >= 0xe0);
}
