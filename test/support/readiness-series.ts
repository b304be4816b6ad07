/** readinessSeries reads tocsin_ready and the causes tocsin_not_ready gives 1 from a scrape of /metrics. */
export function readinessSeries(text: string): { ready: number | undefined; notReady: string[] } {
  const ready = /^tocsin_ready (\d+)$/m.exec(text)?.[1];
  const notReady = [...text.matchAll(/^tocsin_not_ready\{cause="(\w+)"\} 1$/gm)].map((m) => m[1]!);
  return { ready: ready === undefined ? undefined : Number(ready), notReady };
}
