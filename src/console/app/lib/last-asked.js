// On a slow or loaded server, answers come back out of order: a read asked before another (a list's
// refresh before the one a change asked, a page of other filters) may be answered after it, and its
// older view drawn over the newer one. A page keeps only the answer to the question it asked last.
import { useState } from 'preact/hooks';

/**
 * @typedef {object} LastAsked
 * @property {() => () => boolean} ask marks a new question; what it returns says whether that question is still the last asked
 * @property {() => void} forget makes every answer still to come out of date: the page changed what they read
 *   (emptied, lifted, read again from its start) after they were asked
 * @property {<T>(call: () => Promise<T>, onAnswer: (answer: T) => void, onError?: (error: unknown) => void) => Promise<void>} read
 *   asks `call()` as the last question and hands on its answer, or its error, only while it still is; the promise it
 *   returns settles either way (usePolling asks again once it has)
 */

/**
 * lastAsked counts a page's questions of one kind.
 * @returns {LastAsked}
 */
export function lastAsked() {
  let asked = 0;
  const ask = () => {
    asked += 1;
    const mine = asked;
    return () => mine === asked;
  };
  return {
    ask,
    forget() {
      asked += 1;
    },
    read(call, onAnswer, onError = () => {}) {
      const last = ask();
      return call().then(
        (answer) => {
          if (last()) onAnswer(answer);
        },
        (error) => {
          if (last()) onError(error);
        },
      );
    },
  };
}

/**
 * useLastAsked is a component's lastAsked, kept for its life: across its renders and its polling
 * effects run again (other filters, a refresh asked), whose reads still on their way are then older.
 * @returns {LastAsked}
 */
export function useLastAsked() {
  return useState(lastAsked)[0];
}
