// Telling a screen reader that a count of new things rose (the bell's unread alerts, the alert list's
// arrivals), as a badge or a button shows it to the eye, without a sentence at every 3-s refresh.
import { useEffect, useRef, useState } from 'preact/hooks';

/** SAY_MS is how long after telling of a rise the next one waits before being told. */
const SAY_MS = 30_000;
/**
 * SAID_MS is how long what was told stays in its status: emptied, the same sentence said later (the
 * count back where it was, after alerts read) is a change a screen reader hears again, and a reader
 * going through the page finds no count of long ago.
 */
const SAID_MS = 5_000;

/**
 * risesSpeaker calls `say` when the count it is given rises: not for the count it starts with, not
 * when it falls (alerts read, arrivals shown), and at most once per SAY_MS, so a storm of alerts is
 * one sentence every half minute, not one per refresh. A rise held back is said once that time has
 * passed, at the next count that still finds it.
 * @param {(count: number) => void} say
 */
function risesSpeaker(say) {
  /** @type {number | null} */
  let told = null;
  let toldAt = Number.NEGATIVE_INFINITY;
  return (/** @type {number} */ count) => {
    if (told === null || count < told) told = count;
    else if (count > told && Date.now() - toldAt >= SAY_MS) {
      told = count;
      toldAt = Date.now();
      say(count);
    }
  };
}

/**
 * useToldRises gives what to show in a live region (role=status, on the page from the start) and
 * `hear`, to be given each count as it is read: a rise is put in `words` there (risesSpeaker), and
 * taken away SAID_MS later.
 * @param {(count: number) => string} words
 * @returns {{ news: string, hear: (count: number) => void }}
 */
export function useToldRises(words) {
  const [news, setNews] = useState('');
  const hear = useRef(risesSpeaker((count) => setNews(words(count)))).current;
  useEffect(() => {
    if (!news) return undefined;
    const said = setTimeout(() => setNews(''), SAID_MS);
    return () => clearTimeout(said);
  }, [news]);
  return { news, hear };
}
