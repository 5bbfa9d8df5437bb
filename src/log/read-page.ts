// One page of a range read: the events a reader takes in one step, bounded in bytes. Shared by
// `RedexFile`'s bounded reads, its streams and its tails (src/log/redex-file.ts).

import type { RedexEvent } from './event.js';

/** What a page is read from: a `MemoryStore`, a `DiskLog`, or a disk log's written view. */
export interface PageSource {
  readonly firstSeq: number;
  readonly nextSeq: number;
  lengthAt(seq: number): number;
  readEvents(from: number, to: number): RedexEvent[] | Promise<RedexEvent[]>;
}

/**
 * Retained events from max(start, firstSeq) below `end` while Σ (payload + overhead) ≤ maxBytes;
 * at least one event when one exists, so a reader always makes progress.
 */
export function readPage(
  view: PageSource,
  start: number,
  end: number,
  maxBytes: number,
  perEventOverhead: number,
): RedexEvent[] | Promise<RedexEvent[]> {
  const from = Math.max(start, view.firstSeq);
  const to = Math.min(end, view.nextSeq);
  let used = 0;
  let stop = from;
  while (stop < to) {
    const cost = view.lengthAt(stop) + perEventOverhead;
    if (stop > from && used + cost > maxBytes) break;
    used += cost;
    stop++;
  }
  return view.readEvents(from, stop);
}
