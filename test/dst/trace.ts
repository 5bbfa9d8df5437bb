// A bounded log of what happened in a simulation run, in virtual time. A failing run prints its
// tail; the determinism test compares digests of two runs of one seed.

import { createHash } from 'node:crypto';
import type { Clock } from '../../src/time/clock.js';

/** Entries kept; older ones fall off (the digest still covers them). */
export const TRACE_ENTRIES_MAX = 20_000;

export class Trace {
  readonly #clock: Clock;
  readonly #entries: string[] = [];
  readonly #hash = createHash('sha256');
  count = 0;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  add(entry: string): void {
    const line = `${this.#clock.nowMs()} ${entry}`;
    this.#hash.update(line).update('\n');
    this.count++;
    this.#entries.push(line);
    if (process.env.DST_VERBOSE) console.log(line);
    if (this.#entries.length > TRACE_ENTRIES_MAX) this.#entries.shift();
  }

  tail(lines = 60): string {
    return this.#entries.slice(-lines).join('\n');
  }

  digest(): string {
    return this.#hash.copy().digest('hex');
  }
}
