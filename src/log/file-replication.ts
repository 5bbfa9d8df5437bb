// The replication layer's hook on a replicated `RedexFile` (src/log/redex-file.ts), and the guard of
// one replicated write. The log knows replication only through these two interfaces.

import type { Acks, WaitForCommitOptions, WaitForReplicasOptions } from './file-options.js';

/**
 * The replication layer's hook on a replicated file, installed once by `Redex` before the handle
 * is handed out. It is all the log knows of replication: a write guard (only the leader may
 * append), a nudge after each local append (so the leader tells its replicas at once), the
 * acknowledged-replication wait, and a close that stops the channel's runtime. The runtime's own
 * writes go through `applyReplicated`, which bypasses the guard.
 */
export interface FileReplication {
  /**
   * Throws (NotLeaderError, or INVALID_ARGUMENT for bad `acks`) when this node may not append
   * to the file now; otherwise the guard of this one write.
   */
  beginWrite(acks: Acks | undefined, ackTimeoutMs: number | undefined): ReplicatedWrite;
  /** Told after a local append was stored; must not call back into the file synchronously. */
  appended(): void;
  waitForReplicas(seq: number, options?: WaitForReplicasOptions): Promise<void>;
  /** Resolves once every event up to `seq` is committed (held by a majority with one history). */
  waitForCommit(seq: number, options?: WaitForCommitOptions): Promise<void>;
  /** Every event below this seq is committed, as far as this node knows. */
  readonly commitSeq: number;
  /** Stops the replication of the file; called once, when the file closes. */
  close(): Promise<void>;
}

/** One replicated write: checked when it takes its seqs, acknowledged after it is stored. */
export interface ReplicatedWrite {
  /** False once this node no longer leads the epoch the write started in. */
  readonly precondition: () => boolean;
  /** Resolves once `lastSeq` is acknowledged as the write's `acks` asks (LEADERSHIP_LOST if not). */
  acknowledge(lastSeq: number, signal: AbortSignal | null): Promise<void>;
}
