// INTERNAL (replication): the durable quorum state of one channel — the epoch it has seen, the
// vote it cast in that epoch, the history of leader epochs (which epoch wrote which seqs), and a
// clean-shutdown marker. The log layer only stores it; the replication layer decides with it.
// Persistent files keep it in files next to the log (src/log/disk/quorum-state.ts, layouts in
// docs/STORAGE.md); in-memory files get `MemoryQuorumState`, which follows the same rules.
//
// History rules, checked on every change and at load: epochs strictly increase, start seqs never
// decrease, and an entry whose start seq equals the previous one's replaces it (a leader that
// wrote nothing in its epoch owns no seq, so its entry says nothing).
//
// Ordering is the caller's: when a diverged suffix is removed, truncate the log durably first and
// the history after. A crash in between leaves history entries at or past the log's end, which
// `load(nextSeq)` drops; the other order could leave log entries attributed to the wrong epoch.

import { RedexError, RedexErrorCode } from './errors.js';

/** Epoch `epoch`'s leader wrote the seqs from `startSeq` up to the next entry's start seq. */
export interface EpochEntry {
  readonly epoch: number;
  readonly startSeq: number;
}

export interface QuorumState {
  /** The highest epoch this node has seen (0 for a channel that never saw one). */
  readonly epoch: number;
  /** The node this one voted for in `epoch`, or null. */
  readonly votedFor: bigint | null;
  readonly history: readonly EpochEntry[];
  /** True when the last run ended with `markCleanShutdown` and nothing marked it open since. */
  readonly cleanShutdown: boolean;
}

export interface QuorumStateStore {
  /**
   * Reads (and repairs) the state; must be called before any other method, and again to recover
   * from a failed write. History entries with startSeq ≥ `nextSeq` (the log's next seq after its
   * own recovery) are dropped, durably.
   */
  load(nextSeq: number): Promise<QuorumState>;
  /** Records the epoch and the vote durably before resolving. The epoch never decreases. */
  saveVote(epoch: number, votedFor: bigint | null): Promise<void>;
  /** Records that `epoch`'s leader writes from `startSeq` on, durably before resolving. */
  appendEpoch(epoch: number, startSeq: number): Promise<void>;
  /** Drops the entries with startSeq ≥ `fromSeq`, durably before resolving. */
  truncateHistory(fromSeq: number): Promise<void>;
  /** Clears the clean-shutdown marker (call once the channel is open). */
  markOpen(): Promise<void>;
  /** Sets the clean-shutdown marker (call last, when closing cleanly). */
  markCleanShutdown(): Promise<void>;
}

/** The largest NodeId a state file can hold (an unsigned 64-bit integer). */
export const NODE_ID_MAX = (1n << 64n) - 1n;

function invalid(message: string): RedexError {
  return new RedexError(RedexErrorCode.InvalidArgument, message);
}

/** Throws unless `value` is a non-negative safe integer. */
export function checkCount(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
    throw invalid(`${name} must be a non-negative safe integer, got ${String(value)}`);
  return value;
}

export function checkVote(votedFor: unknown): bigint | null {
  if (votedFor === null) return null;
  if (typeof votedFor !== 'bigint' || votedFor < 0n || votedFor > NODE_ID_MAX)
    throw invalid(`votedFor must be null or a NodeId (a u64 bigint), got ${String(votedFor)}`);
  return votedFor;
}

/** `history` with `entry` added under the rules above, or why it may not be. */
export function historyWith(
  history: readonly EpochEntry[],
  entry: EpochEntry,
): EpochEntry[] | string {
  const last = history[history.length - 1];
  if (last === undefined) return [entry];
  if (entry.epoch <= last.epoch)
    return `epoch ${entry.epoch} does not follow the last epoch ${last.epoch}`;
  if (entry.startSeq < last.startSeq)
    return `epoch ${entry.epoch} starts at seq ${entry.startSeq}, before epoch ${last.epoch} (seq ${last.startSeq})`;
  const kept = entry.startSeq === last.startSeq ? history.slice(0, -1) : history.slice();
  kept.push(entry);
  return kept;
}

/** The entries with startSeq < `seq`. */
export function historyBelow(history: readonly EpochEntry[], seq: number): EpochEntry[] {
  let keep = history.length;
  while (keep > 0 && history[keep - 1]!.startSeq >= seq) keep--;
  return history.slice(0, keep);
}

export function notLoaded(): RedexError {
  return invalid('the quorum state must be loaded (load(nextSeq)) before it is changed');
}

/** Validates a vote against the current state; returns the vote to store. */
export function checkNewVote(
  current: QuorumState,
  epoch: unknown,
  votedFor: unknown,
): { epoch: number; votedFor: bigint | null } {
  const checkedEpoch = checkCount('epoch', epoch);
  const checkedVote = checkVote(votedFor);
  if (checkedEpoch < current.epoch)
    throw invalid(`epoch ${checkedEpoch} is below the recorded epoch ${current.epoch}`);
  return { epoch: checkedEpoch, votedFor: checkedVote };
}

/** Validates a new history entry; returns the new history. */
export function checkNewEpoch(
  history: readonly EpochEntry[],
  epoch: unknown,
  startSeq: unknown,
): EpochEntry[] {
  const entry = { epoch: checkCount('epoch', epoch), startSeq: checkCount('startSeq', startSeq) };
  const next = historyWith(history, entry);
  if (typeof next === 'string') throw invalid(next);
  return next;
}

/** The quorum state of an in-memory file: the same rules, nothing survives the process. */
export class MemoryQuorumState implements QuorumStateStore {
  #state: QuorumState = { epoch: 0, votedFor: null, history: [], cleanShutdown: false };
  #loaded = false;

  async load(nextSeq: number): Promise<QuorumState> {
    checkCount('nextSeq', nextSeq);
    this.#state = { ...this.#state, history: historyBelow(this.#state.history, nextSeq) };
    this.#loaded = true;
    return this.#state;
  }

  async saveVote(epoch: number, votedFor: bigint | null): Promise<void> {
    const vote = checkNewVote(this.#current(), epoch, votedFor);
    this.#state = { ...this.#state, ...vote };
  }

  async appendEpoch(epoch: number, startSeq: number): Promise<void> {
    this.#state = {
      ...this.#state,
      history: checkNewEpoch(this.#current().history, epoch, startSeq),
    };
  }

  async truncateHistory(fromSeq: number): Promise<void> {
    checkCount('fromSeq', fromSeq);
    this.#state = { ...this.#state, history: historyBelow(this.#current().history, fromSeq) };
  }

  async markOpen(): Promise<void> {
    this.#state = { ...this.#current(), cleanShutdown: false };
  }

  async markCleanShutdown(): Promise<void> {
    this.#state = { ...this.#current(), cleanShutdown: true };
  }

  #current(): QuorumState {
    if (!this.#loaded) throw notLoaded();
    return this.#state;
  }
}
