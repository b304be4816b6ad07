/**
 * window-profile: a preload that CPU-profiles a process between two SIGUSR2 signals only (the
 * first starts V8's profiler, the second stops it and writes
 * `$TOCSIN_WINDOW_PROFILE_DIR/<pid>.cpuprofile`), so a benchmark's timed window is profiled
 * without the process's start-up and warm-up, which `--cpu-prof` includes. Read the profiles with
 * bench/profile-summary.ts. bench/scale-out.ts --cpu-prof sets it up.
 */
import fs from 'node:fs';
import inspector from 'node:inspector';
import path from 'node:path';

const dir = process.env.TOCSIN_WINDOW_PROFILE_DIR;
if (dir) {
  const session = new inspector.Session();
  session.connect();
  let running = false;
  process.on('SIGUSR2', () => {
    if (!running) {
      running = true;
      session.post('Profiler.enable', () => session.post('Profiler.start'));
      return;
    }
    running = false;
    session.post('Profiler.stop', (err, result) => {
      if (!err) fs.writeFileSync(path.join(dir, `${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
