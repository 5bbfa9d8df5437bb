// Read-ahead for sequential disk readers (a replica catching up, a tail backfilling): when a read
// starts where an earlier one ended, the disk log reads READ_AHEAD_BYTES at once and keeps the
// verified events here, so the reader's next reads are served from memory with no disk read and
// no checksum computed again. Bounded: READ_AHEAD_WINDOWS windows per file.

import type { RedexEvent } from '../event.js';

/** Bytes of records one read-ahead covers. */
export const READ_AHEAD_BYTES = 4 << 20;
/** Windows kept per file (one per concurrent sequential reader, e.g. two replicas). */
export const READ_AHEAD_WINDOWS = 2;

interface Window {
  readonly firstSeq: number;
  readonly events: RedexEvent[];
  /** The disk log's truncation count when read: a later truncation may have cut these events. */
  readonly truncations: number;
}

export class ReadAhead {
  readonly #windows: Window[] = [];
  /** Where recent reads ended: a read starting at one of them is sequential. */
  readonly #recentEnds: number[] = [];

  /** Events [start, end) from a window read after the last truncation, or null. */
  take(start: number, end: number, truncations: number): RedexEvent[] | null {
    for (const window of this.#windows) {
      if (
        window.truncations === truncations &&
        start >= window.firstSeq &&
        end <= window.firstSeq + window.events.length
      ) {
        this.noteEnd(end);
        return window.events.slice(start - window.firstSeq, end - window.firstSeq);
      }
    }
    return null;
  }

  isSequential(start: number): boolean {
    return this.#recentEnds.includes(start);
  }

  /** Keeps verified events [firstSeq, firstSeq + events.length), read after `truncations` truncations. */
  keep(firstSeq: number, events: RedexEvent[], truncations: number): void {
    this.#windows.push({ firstSeq, events, truncations });
    if (this.#windows.length > READ_AHEAD_WINDOWS) this.#windows.shift();
  }

  /** Records that a reader's read ended at `seq` (where it will go on). */
  noteEnd(seq: number): void {
    this.#recentEnds.push(seq);
    if (this.#recentEnds.length > READ_AHEAD_WINDOWS * 2) this.#recentEnds.shift();
  }
}
