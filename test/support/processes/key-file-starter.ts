/**
 * key-file-starter is a worker thread for the secret-key test: it stands for one Tocsin process
 * starting. For each round it waits on the shared signal, then opens the data folder's key as a
 * start does and answers with a secret sealed by it (or the error). Threads woken by one
 * Atomics.notify start within microseconds of each other, which processes never do.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SecretBox } from '../../../src/settings/secret-box.js';

const signal = new Int32Array(workerData.signal as SharedArrayBuffer);
parentPort!.on('message', (dir: string) => {
  const round = Atomics.load(signal, 0);
  parentPort!.postMessage('waiting');
  Atomics.wait(signal, 0, round);
  try {
    parentPort!.postMessage({ sealed: SecretBox.fromDataDir(dir).seal('hunter2', 'race') });
  } catch (err) {
    parentPort!.postMessage({ error: (err as Error).message });
  }
});
