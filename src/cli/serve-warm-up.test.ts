import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it, vi } from 'vitest';
import { serveCommand } from './serve.js';

const warmFatalPath = vi.hoisted(() => vi.fn(async () => ({ alerts: 2 })));
vi.mock('../ops/warm-up/fatal-path.js', () => ({ warmFatalPath }));

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-serve-warm-up-'));
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

it('runs the Fatal path warm-up that TOCSIN_WARM_UP_ALERTS asks for before it starts serving, and leaves no shutdown timer behind once stopped', async () => {
  const names = ['TOCSIN_WARM_UP_ALERTS', 'TOCSIN_DATA_DIR', 'PORT', 'TOCSIN_MAIL_CATCHER_PORT', 'LOG_LEVEL', 'TOCSIN_ROLE', 'DATABASE_URL', 'TOCSIN_SMTP_URL'];
  const saved = Object.fromEntries(names.map((name) => [name, process.env[name]]));
  Object.assign(process.env, {
    TOCSIN_WARM_UP_ALERTS: '2',
    TOCSIN_DATA_DIR: dataDir,
    PORT: '0',
    TOCSIN_MAIL_CATCHER_PORT: '0',
    LOG_LEVEL: 'silent',
    TOCSIN_ROLE: 'all',
  });
  delete process.env.DATABASE_URL;
  delete process.env.TOCSIN_SMTP_URL;
  const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  // The shutdown's bound (process.exit after 15 s if the close hangs) must end with a close that
  // did not hang: left running, it exited this test process 15 s later, in the middle of other files.
  const setTimer = vi.spyOn(globalThis, 'setTimeout');
  const clearTimer = vi.spyOn(globalThis, 'clearTimeout');
  let served = false;
  try {
    // Stopped as soon as it serves: the banner is printed once serving, before the stop is heard.
    const controller = new AbortController();
    const received = new Promise<string>((resolve) =>
      write.mockImplementation((chunk) => {
        if (String(chunk).includes('Tocsin is running')) {
          served = true;
          resolve('SIGTERM');
        }
        return true;
      }),
    );
    warmFatalPath.mockImplementation(async () => {
      expect(served).toBe(false);
      return { alerts: 2 };
    });
    expect(await serveCommand([], { signal: controller.signal, received, onRepeat: () => undefined })).toBe(0);
    expect(served).toBe(true);
    expect(warmFatalPath).toHaveBeenCalledOnce();
    expect(warmFatalPath).toHaveBeenCalledWith(expect.objectContaining({ alerts: 2, budgetMs: 30_000 }));
    const bound = setTimer.mock.calls.findLastIndex(([, ms]) => ms === 15_000);
    expect(bound).toBeGreaterThanOrEqual(0);
    expect(clearTimer).toHaveBeenCalledWith(setTimer.mock.results[bound]!.value);
  } finally {
    setTimer.mockRestore();
    clearTimer.mockRestore();
    write.mockRestore();
    for (const name of names) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  }
}, 120_000);
