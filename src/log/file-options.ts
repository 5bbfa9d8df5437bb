// The options and result shapes of `RedexFile`'s public methods (reads, tails, appends, the
// replication waits), and the page accounting constant they share. `RedexFile`
// (src/log/redex-file.ts) re-exports them all.

/**
 * What a read of a replicated channel shows: `'committed'` (the default) only events a majority
 * holds — they never change; `'uncommitted'` everything in the local log, including events a
 * new leader may still cut (a tail then ends with TRUNCATED). Unreplicated channels show all.
 */
export type Isolation = 'committed' | 'uncommitted';

export interface ReadOptions {
  readonly isolation?: Isolation;
}

export interface TailOptions {
  /** First seq to deliver (default 0). Past `nextSeq` the tail simply waits. */
  readonly fromSeq?: number;
  /** Replicated channels: committed events only (default), or the local log as it is. */
  readonly isolation?: Isolation;
  /** Aborting ends the tail: pending and later `next()` calls reject with `signal.reason`. */
  readonly signal?: AbortSignal;
}

/**
 * When a replicated append resolves: `'quorum'` (the default) once a majority of the replica set
 * holds it with the leader's history — it is committed and survives any minority failure;
 * `'leader'` once stored on this node (it may be lost if this node fails before a replica copied
 * it); `'all'` once every replica holds it too; a number N once N other replicas hold it (and it
 * is committed). Ignored on a channel that is not replicated.
 */
export type Acks = 'quorum' | 'leader' | 'all' | number;

export interface AppendOptions {
  /** Replicated channels only: what the append waits for (default `'quorum'`). */
  readonly acks?: Acks;
  /** Replicated channels only: REPLICATION_TIMEOUT after this long without the acks (default 30 s). */
  readonly ackTimeoutMs?: number;
  /**
   * Already aborted: the call rejects with `signal.reason` and appends nothing. Aborted while a
   * persistent append is being written: the call rejects at once, but the write may still land.
   */
  readonly signal?: AbortSignal;
  /**
   * INTERNAL (replication; applications do not pass it). Evaluated synchronously at the moment
   * the append takes its seqs: at once in memory, just before its group is written on disk
   * (after any wait in the queue). False rejects the append with LEADERSHIP_LOST and takes no
   * seq; other appends of the group are unaffected. A leader passes "I still lead this epoch",
   * so an append that waited past its leadership is not written.
   */
  readonly precondition?: () => boolean;
}

export interface ReadStreamOptions {
  readonly isolation?: Isolation;
  /** Most bytes per page (payload + PAGE_EVENT_OVERHEAD_BYTES each); default the file's `tailBufferSize`. */
  readonly pageBytes?: number;
  /** Aborting ends the iteration with `signal.reason`. */
  readonly signal?: AbortSignal;
}

/** Bytes counted per event, besides its payload, when a page is bounded in bytes. */
export const PAGE_EVENT_OVERHEAD_BYTES = 64;

export interface WaitForReplicasOptions {
  /** Replicas (other than this node) that must hold the seq; default 1. */
  readonly count?: number;
  /** Rejects with REPLICATION_TIMEOUT after this long on the manager's clock; default 30 s. */
  readonly timeoutMs?: number;
  /** Aborting rejects the wait with `signal.reason` and drops its waiter and timer. */
  readonly signal?: AbortSignal;
}

export interface WaitForCommitOptions {
  /** Rejects with REPLICATION_TIMEOUT after this long on the manager's clock; default 30 s. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}
