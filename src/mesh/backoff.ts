// Reconnect delays: capped exponential backoff with "equal jitter" (half fixed, half random), so a
// restarted cluster does not redial in lockstep yet a single failure is retried quickly.

import type { Random } from '../time/random.js';

/** Hard upper bound on any configured reconnect cap. */
export const RECONNECT_DELAY_MS_MAX = 60_000;
/** Attempts past this do not grow the exponent further (keeps 2 ** attempt finite and exact). */
const EXPONENT_MAX = 30;

/**
 * Delay before reconnect attempt `attempt` (0 for the first retry): `min(cap, base * 2^attempt)`
 * scaled into [1/2, 1) of itself by `random`.
 */
export function backoffDelayMs(
  attempt: number,
  baseMs: number,
  capMs: number,
  random: Random,
): number {
  const exponent = Math.min(Math.max(0, Math.floor(attempt)), EXPONENT_MAX);
  const ceiling = Math.min(capMs, baseMs * 2 ** exponent);
  return Math.floor(ceiling / 2 + random.nextFloat() * (ceiling / 2));
}
