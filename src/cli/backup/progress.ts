// Progress of a long backup or restore on stderr: done, total, percent and events per second, at
// most once per PROGRESS_INTERVAL_MS (one line rewritten in place on a terminal).

import type { CliIo } from '../io.js';

export const PROGRESS_INTERVAL_MS = 500;

export class Progress {
  readonly #io: CliIo;
  readonly #what: string;
  readonly #total: number | null;
  readonly #quiet: boolean;
  readonly #startMs: number;
  #lastMs: number;
  #printed = false;

  /** `total` null: not known in advance (no percent). */
  constructor(io: CliIo, what: string, total: number | null, quiet: boolean) {
    this.#io = io;
    this.#what = what;
    this.#total = total;
    this.#quiet = quiet;
    this.#startMs = io.nowMs();
    this.#lastMs = this.#startMs;
  }

  /** Reports `done` if the interval has passed since the last line. */
  update(done: number): void {
    if (this.#quiet) return;
    const now = this.#io.nowMs();
    if (now - this.#lastMs < PROGRESS_INTERVAL_MS) return;
    this.#lastMs = now;
    this.#printed = true;
    const line = `redex: ${this.#what}: ${this.#line(done, now)}`;
    this.#io.stderr.write(this.#io.stderr.isTTY ? `\r\x1b[K${line}` : `${line}\n`);
  }

  /** Ends a line left open on a terminal. */
  end(): void {
    if (this.#printed && this.#io.stderr.isTTY) this.#io.stderr.write('\n');
  }

  /** Seconds since the start, for the summary. */
  elapsedSeconds(): number {
    return (this.#io.nowMs() - this.#startMs) / 1000;
  }

  #line(done: number, now: number): string {
    const seconds = (now - this.#startMs) / 1000;
    const rate = seconds > 0 ? Math.round(done / seconds) : 0;
    if (this.#total === null) return `${count(done)} events, ${count(rate)} events/s`;
    const percent = this.#total > 0 ? Math.floor((done / this.#total) * 100) : 100;
    return `${count(done)} of ${count(this.#total)} events (${percent}%), ${count(rate)} events/s`;
  }
}

export function count(value: number): string {
  return value.toLocaleString('en-US');
}
