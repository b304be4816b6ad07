import { ConfigError } from '../config.js';
import { DEFAULT_FLOOD_WINDOW_MS } from './store.js';

/**
 * floodWindowMs reads TOCSIN_FLOOD_WINDOW_SECONDS (default 600): repeats of a dedup key less than
 * this apart count as one flood. A bad value stops start-up rather than silently using the default.
 */
export function floodWindowMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.TOCSIN_FLOOD_WINDOW_SECONDS;
  if (raw === undefined || raw === '') return DEFAULT_FLOOD_WINDOW_MS;
  const seconds = Number(raw);
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > 86_400) {
    throw new ConfigError('TOCSIN_FLOOD_WINDOW_SECONDS must be a whole number of seconds from 0 to 86400');
  }
  return seconds * 1000;
}
