// What each replica of a channel has confirmed holding, and the callers waiting for it
// (acknowledged replication, docs/DESIGN.md#catch-up; beyond upstream). A peer confirms holding
// everything below N when its heartbeat claims tail N, or when it asks for data from N (a
// SyncRequest's since_seq is its next seq). Replicas only report a tail once their append resolved,
// that is once it is as durable as their fsync policy promises.
//
// Owns: the latest confirmed tail per peer of the replica set, and the `waitForReplicas` waiters.
// Called by: the runtime (on every heartbeat and request), the file's `waitForReplicas`.

import { ClosedError, RedexError, RedexErrorCode, ReplicationTimeoutError } from '../log/errors.js';
import type { Clock, TimerHandle } from '../time/clock.js';
import type { NodeId } from '../wire/types.js';

/** Pending `waitForReplicas` calls per channel; one more is refused at once. */
export const REPLICA_WAITERS_MAX = 4096;
export const WAIT_FOR_REPLICAS_COUNT_DEFAULT = 1;
export const WAIT_FOR_REPLICAS_TIMEOUT_MS_DEFAULT = 30_000;

export interface WaitOptions {
  readonly count?: number;
  readonly timeoutMs?: number;
  /** Aborting rejects the wait with `signal.reason` and drops its waiter, timer and listener. */
  readonly signal?: AbortSignal;
}

interface Waiter {
  readonly seq: number;
  readonly count: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
  timer: TimerHandle | null;
  readonly signal: AbortSignal | null;
  readonly onAbort: () => void;
}

function invalid(message: string): RedexError {
  return new RedexError(RedexErrorCode.InvalidArgument, `waitForReplicas: ${message}`);
}

export class ReplicaProgress {
  readonly #channel: string;
  readonly #clock: Clock;
  readonly #peers: ReadonlySet<NodeId>;
  // Invariant: keys ⊆ #peers; values are safe integers ≥ 0 (the latest report, not the max: a
  // restarted in-memory replica really does hold less than before).
  readonly #tails = new Map<NodeId, number>();
  // Invariant: size ≤ REPLICA_WAITERS_MAX; none of them is already satisfied.
  readonly #waiters = new Set<Waiter>();
  #closed = false;

  /** `peers`: the replica-set members other than this node. */
  constructor(channel: string, clock: Clock, peers: Iterable<NodeId>) {
    this.#channel = channel;
    this.#clock = clock;
    this.#peers = new Set(peers);
  }

  get peerCount(): number {
    return this.#peers.size;
  }

  get waiterCount(): number {
    return this.#waiters.size;
  }

  /** Latest tail `peer` confirmed, or null if it never reported. */
  confirmedTail(peer: NodeId): number | null {
    return this.#tails.get(peer) ?? null;
  }

  /** Peers that confirmed holding `seq` (their tail is above it). */
  holding(seq: number): number {
    let count = 0;
    for (const tail of this.#tails.values()) if (tail > seq) count++;
    return count;
  }

  /** Records `peer`'s report; ignored for non-members and bad values. */
  observe(peer: NodeId, tail: number): void {
    if (this.#closed || !this.#peers.has(peer) || !Number.isSafeInteger(tail) || tail < 0) return;
    this.#tails.set(peer, tail);
    if (this.#waiters.size === 0) return;
    for (const waiter of [...this.#waiters]) {
      if (this.holding(waiter.seq) >= waiter.count) this.#settle(waiter, null);
    }
  }

  /** Resolves when `count` peers hold `seq`; see `RedexFile.waitForReplicas`. */
  wait(seq: number, options: WaitOptions = {}): Promise<void> {
    try {
      if (this.#closed)
        throw new ClosedError(`the replication of ${JSON.stringify(this.#channel)}`);
      if (!Number.isSafeInteger(seq) || seq < 0) {
        throw invalid(`seq must be a safe integer ≥ 0, got ${String(seq)}`);
      }
      const count = options.count ?? WAIT_FOR_REPLICAS_COUNT_DEFAULT;
      if (!Number.isSafeInteger(count) || count < 0 || count > this.#peers.size) {
        throw invalid(
          `count must be an integer in 0..${this.#peers.size} (the other replicas of ${JSON.stringify(this.#channel)}), got ${String(count)}`,
        );
      }
      const timeoutMs = options.timeoutMs ?? WAIT_FOR_REPLICAS_TIMEOUT_MS_DEFAULT;
      if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 0) {
        throw invalid(`timeoutMs must be a safe integer ≥ 0, got ${String(timeoutMs)}`);
      }
      const signal = options.signal ?? null;
      if (signal !== null && !(signal instanceof AbortSignal)) {
        throw invalid(`signal must be an AbortSignal, got ${typeof signal}`);
      }
      signal?.throwIfAborted();
      if (this.holding(seq) >= count) return Promise.resolve();
      if (this.#waiters.size >= REPLICA_WAITERS_MAX) {
        throw invalid(`more than ${REPLICA_WAITERS_MAX} calls waiting on ${this.#channel}`);
      }
      return new Promise<void>((resolve, reject) => {
        const waiter: Waiter = {
          seq,
          count,
          resolve,
          reject,
          timer: null,
          signal,
          onAbort: () => {
            // The listener ran once and is gone; `#settle` would take a null reason for success.
            if (!this.#waiters.delete(waiter)) return;
            waiter.timer?.cancel();
            reject(signal!.reason);
          },
        };
        this.#waiters.add(waiter);
        signal?.addEventListener('abort', waiter.onAbort, { once: true });
        waiter.timer = this.#clock.setTimer(timeoutMs, () => {
          const error = new ReplicationTimeoutError(
            this.#channel,
            seq,
            count,
            this.holding(seq),
            timeoutMs,
          );
          this.#settle(waiter, error);
        });
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Rejects every waiter with `error` and refuses new ones; idempotent. */
  /** Forgets every confirmed position (a new leadership counts only what it validates itself). */
  reset(): void {
    this.#tails.clear();
  }

  close(error: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const waiter of [...this.#waiters]) this.#settle(waiter, error);
  }

  #settle(waiter: Waiter, error: unknown): void {
    if (!this.#waiters.delete(waiter)) return;
    waiter.timer?.cancel();
    waiter.signal?.removeEventListener('abort', waiter.onAbort);
    if (error === null) waiter.resolve();
    else waiter.reject(error);
  }

  assertInvariants(): void {
    if (this.#waiters.size > REPLICA_WAITERS_MAX) throw new Error('progress: too many waiters');
    for (const [peer, tail] of this.#tails) {
      if (!this.#peers.has(peer)) throw new Error(`progress: ${peer} is not a peer`);
      if (!Number.isSafeInteger(tail) || tail < 0) throw new Error('progress: bad tail');
    }
    for (const waiter of this.#waiters) {
      if (this.holding(waiter.seq) >= waiter.count) throw new Error('progress: satisfied waiter');
    }
    if (this.#closed && this.#waiters.size > 0) throw new Error('progress: closed with waiters');
  }
}
