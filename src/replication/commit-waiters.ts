// The callers waiting for an append to be acknowledged by the quorum (or by all, or by N
// replicas) and for `waitForCommit`. A leader's waiter is bound to the epoch it was written in:
// it resolves only when that epoch's leader (this node, still leading) counts it, and fails with
// LEADERSHIP_LOST (outcome unknown) as soon as that epoch ends here — another epoch's progress
// never satisfies it.
//
// Owns: the waiters, their one timeout timer and their abort listeners. Called by: the runtime
// (commit and leadership-lost effects, peer positions) and the replicated file's append path.

import {
  ClosedError,
  LeadershipLostError,
  RedexError,
  RedexErrorCode,
  ReplicationTimeoutError,
} from '../log/errors.js';
import type { Clock, TimerHandle } from '../time/clock.js';
import { DeadlineQueues } from './deadline-queues.js';
import { type Queued, SeqQueue } from './seq-queue.js';

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

interface Waiter extends AckCondition, Queued {
  readonly queue: SeqQueue<Waiter>;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
  readonly timeoutMs: number;
  /** When it times out, on the clock (ms). */
  readonly deadlineMs: number;
  readonly signal: AbortSignal | null;
  readonly onAbort: (() => void) | null;
}

/** What the waiters read to decide: the commit, and how many replicas hold a seq. */
export interface AckView {
  readonly epoch: number;
  readonly leading: boolean;
  readonly commitSeq: number;
  holding(seq: number): number;
  readonly replicaCount: number;
}

/** Waiters of one kind (epoch and how many must hold), settled in seq order. */
function kindOf(condition: AckCondition): string {
  return `${condition.epoch ?? '-'}/${condition.replicas}`;
}

export class CommitWaiters {
  readonly #channel: string;
  readonly #clock: Clock;
  readonly #view: () => AckView;
  // One queue per kind: within a kind, whatever satisfies a seq satisfies every seq below it.
  readonly #queues = new Map<string, SeqQueue<Waiter>>();
  #size = 0;
  #closed = false;
  // One timer for every waiter (a timer per append cost about as much as the rest of a wait):
  // armed for the earliest deadline, or earlier; when it fires, the waiters past their deadline
  // time out and it is armed again for the earliest one left. None while no waiter is pending.
  readonly #deadlines = new DeadlineQueues<Waiter>();
  #timer: TimerHandle | null = null;
  #timerAtMs = Number.POSITIVE_INFINITY;

  constructor(channel: string, clock: Clock, view: () => AckView) {
    this.#channel = channel;
    this.#clock = clock;
    this.#view = view;
  }

  get size(): number {
    return this.#size;
  }

  wait(
    condition: AckCondition,
    options: { readonly timeoutMs?: number; readonly signal?: AbortSignal | null } = {},
  ): Promise<void> {
    if (this.#closed)
      return Promise.reject(new ClosedError(`the replication of ${JSON.stringify(this.#channel)}`));
    const view = this.#view();
    if (this.#satisfied(condition, view)) return Promise.resolve();
    if (this.#lost(condition, view)) {
      return Promise.reject(new LeadershipLostError(this.#channel, 'unknown', condition.seq));
    }
    if (this.#size >= COMMIT_WAITERS_MAX) {
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
    const kind = kindOf(condition);
    let queue = this.#queues.get(kind);
    if (queue === undefined) {
      queue = new SeqQueue<Waiter>();
      this.#queues.set(kind, queue);
    }
    const into = queue;
    const deadlineMs = this.#clock.nowMs() + timeoutMs;
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        seq: condition.seq,
        epoch: condition.epoch,
        replicas: condition.replicas,
        done: false,
        queue: into,
        resolve,
        reject,
        timeoutMs,
        deadlineMs,
        signal,
        onAbort: signal === null ? null : () => this.#leave(waiter, signal.reason),
      };
      into.push(waiter);
      this.#deadlines.add(waiter);
      this.#size++;
      if (signal !== null) signal.addEventListener('abort', waiter.onAbort!, { once: true });
      if (this.#timer === null || deadlineMs < this.#timerAtMs)
        this.#armTimer(deadlineMs, timeoutMs);
    });
  }

  /** The shared timer, for `deadlineMs` (which is `delayMs` from now). */
  #armTimer(deadlineMs: number, delayMs: number): void {
    this.#timer?.cancel();
    this.#timerAtMs = deadlineMs;
    this.#timer = this.#clock.setTimer(delayMs, () => this.#expire());
  }

  #disarmTimer(): void {
    this.#timer?.cancel();
    this.#timer = null;
    this.#timerAtMs = Number.POSITIVE_INFINITY;
  }

  /** The shared timer fired: waiters past their deadline time out; it is armed for the next. */
  #expire(): void {
    this.#timer = null;
    this.#timerAtMs = Number.POSITIVE_INFINITY;
    const now = this.#clock.nowMs();
    const due = this.#deadlines.takeDue(now);
    const next = this.#deadlines.nextDeadline();
    if (next !== Number.POSITIVE_INFINITY) this.#armTimer(next, next - now);
    if (due.length === 0) return;
    const view = this.#view();
    for (const waiter of due) {
      const count =
        waiter.replicas === 'commit'
          ? 0
          : waiter.replicas === 'all'
            ? view.replicaCount
            : waiter.replicas;
      this.#leave(
        waiter,
        new ReplicationTimeoutError(
          this.#channel,
          waiter.seq,
          count,
          view.holding(waiter.seq),
          waiter.timeoutMs,
        ),
      );
    }
  }

  /**
   * Something the waiters read moved (commit, a replica's position, the epoch or the role).
   * Costs one check per kind plus one per waiter it settles.
   */
  update(): void {
    if (this.#size === 0) return;
    const view = this.#view();
    for (const [kind, queue] of this.#queues) {
      const first = queue.peek();
      if (first === undefined) {
        this.#queues.delete(kind);
        continue;
      }
      // Every waiter of a kind shares its epoch: lost together when that epoch ends here.
      if (this.#lost(first, view)) {
        this.#queues.delete(kind);
        for (const waiter of queue.pending()) {
          this.#finish(waiter, new LeadershipLostError(this.#channel, 'unknown', waiter.seq));
        }
        continue;
      }
      queue.settleFront(
        (waiter) => this.#satisfied(waiter, view),
        (waiter) => this.#finish(waiter, null),
      );
    }
  }

  /** Rejects every waiter and refuses new ones; idempotent. */
  close(error: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#disarmTimer();
    const queues = [...this.#queues.values()];
    this.#queues.clear();
    for (const queue of queues) for (const waiter of queue.pending()) this.#finish(waiter, error);
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

  /** A waiter leaves before its turn (timeout, abort): marked, so its queue skips it. */
  #leave(waiter: Waiter, error: unknown): void {
    if (waiter.done) return;
    waiter.done = true;
    waiter.queue.forgetOne();
    this.#finish(waiter, error);
  }

  /** Settles a waiter that its queue no longer counts. */
  #finish(waiter: Waiter, error: unknown): void {
    waiter.done = true;
    this.#size--;
    this.#deadlines.settled(waiter);
    if (this.#size === 0) this.#disarmTimer();
    if (waiter.onAbort !== null) waiter.signal!.removeEventListener('abort', waiter.onAbort);
    if (error === null) waiter.resolve();
    else waiter.reject(error);
  }

  assertInvariants(): void {
    if (this.#size > COMMIT_WAITERS_MAX) throw new Error('commit waiters: too many');
    let counted = 0;
    for (const queue of this.#queues.values()) counted += queue.size;
    if (counted !== this.#size) throw new Error('commit waiters: count does not match the queues');
    if (this.#closed && this.#size > 0) throw new Error('commit waiters: closed with waiters');
    if (this.#timer !== null && this.#size === 0)
      throw new Error('commit waiters: a timer without waiters');
    if (this.#deadlines.pending !== this.#size)
      throw new Error('commit waiters: deadlines do not match the waiters');
  }
}
