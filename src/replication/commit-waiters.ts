// The callers waiting for an append to be acknowledged by the quorum (or by all, or by N
// replicas) and for `waitForCommit`. A leader's waiter is bound to the epoch it was written in:
// it resolves only when that epoch's leader (this node, still leading) counts it, and fails with
// LEADERSHIP_LOST (outcome unknown) as soon as that epoch ends here — another epoch's progress
// never satisfies it.
//
// Owns: the waiters, their timers and abort listeners. Called by: the runtime (commit and
// leadership-lost effects, peer positions) and the replicated file's append path.

import {
  ClosedError,
  LeadershipLostError,
  RedexError,
  RedexErrorCode,
  ReplicationTimeoutError,
} from '../log/errors.js';
import type { Clock, TimerHandle } from '../time/clock.js';

/** Pending acknowledgements per channel; one more is refused at once. */
export const COMMIT_WAITERS_MAX = 65_536;
export const ACK_TIMEOUT_MS_DEFAULT = 30_000;

export interface AckCondition {
  /** The last seq of the append (everything up to it must be acknowledged). */
  readonly seq: number;
  /** The epoch it was written in (leader acknowledgements), or null (`waitForCommit`). */
  readonly epoch: number | null;
  /** 'commit': commitSeq > seq. A number: that many replicas hold it (validated), plus commit. */
  readonly replicas: number | 'commit' | 'all';
}

interface Waiter extends AckCondition {
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
  timer: TimerHandle | null;
  readonly signal: AbortSignal | null;
  readonly onAbort: () => void;
}

/** What the waiters read to decide: the commit, and how many replicas hold a seq. */
export interface AckView {
  readonly epoch: number;
  readonly leading: boolean;
  readonly commitSeq: number;
  holding(seq: number): number;
  readonly replicaCount: number;
}

export class CommitWaiters {
  readonly #channel: string;
  readonly #clock: Clock;
  readonly #view: () => AckView;
  readonly #waiters = new Set<Waiter>();
  #closed = false;

  constructor(channel: string, clock: Clock, view: () => AckView) {
    this.#channel = channel;
    this.#clock = clock;
    this.#view = view;
  }

  get size(): number {
    return this.#waiters.size;
  }

  wait(
    condition: AckCondition,
    options: { readonly timeoutMs?: number; readonly signal?: AbortSignal | null } = {},
  ): Promise<void> {
    if (this.#closed)
      return Promise.reject(new ClosedError(`the replication of ${JSON.stringify(this.#channel)}`));
    if (this.#satisfied(condition, this.#view())) return Promise.resolve();
    if (this.#lost(condition, this.#view())) {
      return Promise.reject(new LeadershipLostError(this.#channel, 'unknown', condition.seq));
    }
    if (this.#waiters.size >= COMMIT_WAITERS_MAX) {
      return Promise.reject(
        new RedexError(
          RedexErrorCode.InvalidArgument,
          `more than ${COMMIT_WAITERS_MAX} acknowledgements pending on ${this.#channel}`,
        ),
      );
    }
    const signal = options.signal ?? null;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const timeoutMs = options.timeoutMs ?? ACK_TIMEOUT_MS_DEFAULT;
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        ...condition,
        resolve,
        reject,
        timer: null,
        signal,
        onAbort: () => this.#settle(waiter, signal?.reason),
      };
      this.#waiters.add(waiter);
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      waiter.timer = this.#clock.setTimer(timeoutMs, () => {
        const view = this.#view();
        const count =
          condition.replicas === 'commit'
            ? 0
            : condition.replicas === 'all'
              ? view.replicaCount
              : condition.replicas;
        this.#settle(
          waiter,
          new ReplicationTimeoutError(
            this.#channel,
            condition.seq,
            count,
            view.holding(condition.seq),
            timeoutMs,
          ),
        );
      });
    });
  }

  /** Something the waiters read moved (commit, a replica's position, the epoch or the role). */
  update(): void {
    if (this.#waiters.size === 0) return;
    const view = this.#view();
    for (const waiter of [...this.#waiters]) {
      if (this.#satisfied(waiter, view)) this.#settle(waiter, null);
      else if (this.#lost(waiter, view)) {
        this.#settle(waiter, new LeadershipLostError(this.#channel, 'unknown', waiter.seq));
      }
    }
  }

  /** Rejects every waiter and refuses new ones; idempotent. */
  close(error: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const waiter of [...this.#waiters]) this.#settle(waiter, error);
  }

  #satisfied(condition: AckCondition, view: AckView): boolean {
    if (condition.epoch !== null && (condition.epoch !== view.epoch || !view.leading)) return false;
    if (view.commitSeq <= condition.seq) return false;
    if (condition.replicas === 'commit') return true;
    const needed = condition.replicas === 'all' ? view.replicaCount : condition.replicas;
    return view.holding(condition.seq) >= needed;
  }

  #lost(condition: AckCondition, view: AckView): boolean {
    return condition.epoch !== null && (condition.epoch !== view.epoch || !view.leading);
  }

  #settle(waiter: Waiter, error: unknown): void {
    if (!this.#waiters.delete(waiter)) return;
    waiter.timer?.cancel();
    waiter.signal?.removeEventListener('abort', waiter.onAbort);
    if (error === null) waiter.resolve();
    else waiter.reject(error);
  }

  assertInvariants(): void {
    if (this.#waiters.size > COMMIT_WAITERS_MAX) throw new Error('commit waiters: too many');
    if (this.#closed && this.#waiters.size > 0)
      throw new Error('commit waiters: closed with waiters');
  }
}
