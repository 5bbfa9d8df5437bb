// The epoch history of one channel's log: which leader epoch wrote which range of seqs.
// An entry (epoch, startSeq) says "events from startSeq on were written in `epoch`", until the
// next entry. A leader appends its entry when it takes office, before its first write, so an
// entry may cover no event yet. Two logs that hold the same (seq, epoch) hold the same events up
// to seq (only one leader writes in an epoch, and it only ever appends), which is what lets a
// leader check a replica's history with one comparison and find where two histories part.
//
// Pure data: the durable copy is the log layer's quorum state file; the runtime keeps this one in
// step with it (append before the first event of an epoch is written; truncate after the log was
// truncated durably).

/** One run of the history; the wire's `EpochRun` has the same shape. */
export interface EpochEntry {
  readonly epoch: number;
  readonly startSeq: number;
}

/**
 * Entries kept per channel. One is added per leader change that reaches this log, so this only
 * bites on a channel that has changed leaders ten thousand times; the oldest entries go (they
 * describe events retention evicted long ago).
 */
export const EPOCH_HISTORY_MAX = 10_000;

export class EpochHistoryError extends Error {}

export class EpochHistory {
  // Invariants: epochs strictly increase; startSeqs never decrease; length ≤ EPOCH_HISTORY_MAX.
  readonly #entries: EpochEntry[] = [];

  constructor(entries: readonly EpochEntry[] = []) {
    for (const entry of entries) this.append(entry.epoch, entry.startSeq);
  }

  get entries(): readonly EpochEntry[] {
    return this.#entries;
  }

  get length(): number {
    return this.#entries.length;
  }

  /** The newest epoch this log knows of (0 for a log from before epochs or a new one). */
  get latestEpoch(): number {
    return this.#entries.at(-1)?.epoch ?? 0;
  }

  /**
   * The epoch that wrote `seq` (0 when no entry covers it: an event from before epochs).
   * Meaningful only for a seq the log holds or held: the caller checks `seq < nextSeq`.
   */
  epochOf(seq: number): number {
    const index = this.#lastIndexAtOrBefore(seq);
    return index < 0 ? 0 : (this.#entries[index] as EpochEntry).epoch;
  }

  /** The epoch of the last event of a log whose next seq is `nextSeq` (0 for an empty log). */
  lastEpoch(nextSeq: number): number {
    return nextSeq <= 0 ? 0 : this.epochOf(nextSeq - 1);
  }

  /**
   * The first seq after the last event of `epoch` in a log whose next seq is `nextSeq`: the
   * start of the first later epoch, or `nextSeq` when no later epoch wrote. For an epoch this
   * log never saw, the same formula gives where the log would have to end to agree with it.
   */
  endOf(epoch: number, nextSeq: number): number {
    for (const entry of this.#entries) {
      if (entry.epoch > epoch) return Math.min(entry.startSeq, nextSeq);
    }
    return nextSeq;
  }

  /** The largest epoch in the history that is ≤ `epoch` (0 if none). */
  floorEpoch(epoch: number): number {
    let best = 0;
    for (const entry of this.#entries) {
      if (entry.epoch > epoch) break;
      best = entry.epoch;
    }
    return best;
  }

  /** Records that `epoch` writes from `startSeq` on. Throws on an entry that breaks the order. */
  append(epoch: number, startSeq: number): void {
    if (
      !Number.isSafeInteger(epoch) ||
      epoch < 1 ||
      !Number.isSafeInteger(startSeq) ||
      startSeq < 0
    ) {
      throw new EpochHistoryError(`epoch history: bad entry (${epoch}, ${startSeq})`);
    }
    const last = this.#entries.at(-1);
    if (last !== undefined) {
      if (epoch <= last.epoch) {
        throw new EpochHistoryError(
          `epoch history: epoch ${epoch} at ${startSeq} is not after epoch ${last.epoch}`,
        );
      }
      if (startSeq < last.startSeq) {
        throw new EpochHistoryError(
          `epoch history: epoch ${epoch} starts at ${startSeq}, before epoch ${last.epoch} (${last.startSeq})`,
        );
      }
      // An epoch that wrote nothing covers no seq: the newer entry replaces it.
      if (startSeq === last.startSeq) this.#entries.pop();
    }
    this.#entries.push({ epoch, startSeq });
    if (this.#entries.length > EPOCH_HISTORY_MAX) this.#entries.shift();
  }

  /** Forgets every entry that starts at or after `seq` (the log was cut to `seq`). */
  truncateFrom(seq: number): number {
    let removed = 0;
    while ((this.#entries.at(-1)?.startSeq ?? -1) >= seq) {
      this.#entries.pop();
      removed++;
    }
    return removed;
  }

  /** The runs covering `[fromSeq, toSeq)`, for a response that carries those events. */
  runsBetween(fromSeq: number, toSeq: number): EpochEntry[] {
    const runs: EpochEntry[] = [];
    if (toSeq <= fromSeq) return runs;
    const first = this.#lastIndexAtOrBefore(fromSeq);
    if (first >= 0)
      runs.push({ epoch: (this.#entries[first] as EpochEntry).epoch, startSeq: fromSeq });
    for (let i = first + 1; i < this.#entries.length; i++) {
      const entry = this.#entries[i] as EpochEntry;
      if (entry.startSeq >= toSeq) break;
      runs.push(entry);
    }
    return runs;
  }

  #lastIndexAtOrBefore(seq: number): number {
    // Binary search: the history is short, but this runs for every request a leader serves.
    let lo = 0;
    let hi = this.#entries.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#entries[mid] as EpochEntry).startSeq <= seq) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  assertInvariants(): void {
    if (this.#entries.length > EPOCH_HISTORY_MAX) throw new Error('epoch history: too long');
    for (let i = 1; i < this.#entries.length; i++) {
      const prev = this.#entries[i - 1] as EpochEntry;
      const next = this.#entries[i] as EpochEntry;
      if (next.epoch <= prev.epoch) throw new Error('epoch history: epochs do not increase');
      if (next.startSeq <= prev.startSeq)
        throw new Error('epoch history: start seqs do not increase');
    }
  }
}
