// The per-channel replication coordinator (docs/DESIGN.md#roles-and-transitions): holds the
// validated role, the highest
// recorded tail and the channel identity, and runs every role change through one serialized
// path: validate → set the role → bump metrics → chain-tag side effect → tell observers.
//
// Owns: the role cell and the order of side effects. Serialization is a promise chain, so two
// transitions never interleave their announce/withdraw calls
// (docs/DESIGN.md#serialized-transitions): without it a stale
// announce could land after a fresher withdraw and the mesh would advertise a holder that left.
// Called by: the runtime (tick proposals, elections, NACKs, disk pressure, shutdown) and tests.

import { RedexError, RedexErrorCode } from '../errors/redex-error.js';
import { Role } from '../wire/types.js';
import type { ReplicationConfig } from './config.js';
import type { CoordinatorMetrics } from './metrics.js';
import { ALL_ROLES, type Transition, TransitionSignal, validateTransition } from './roles.js';

/** Transitions waiting their turn; more than this is a runaway caller. */
export const TRANSITION_QUEUE_MAX = 64;
/** Observers per coordinator. */
export const OBSERVERS_MAX = 64;

/**
 * The mesh-side advertisement of "this node holds the channel up to tailSeq". Implementations
 * must be idempotent: a repeated announce replaces the previous one; withdraw of nothing is fine.
 */
export interface ChainTagSink {
  announce(originHash: bigint, tailSeq: number): Promise<void> | void;
  withdraw(originHash: bigint): Promise<void> | void;
}

export interface ChannelIdentity {
  /** Channel name; also the metrics label. */
  readonly name: string;
  /** Substrate-level chain identifier the sink advertises. */
  readonly originHash: bigint;
}

/** What an observer learns; `kinds` may be empty (for example Candidate → Replica). */
export type RoleChangeKind = 'became-holder' | 'leader-changed' | 'leader-lost' | 'idled';

export interface RoleChangeEvent {
  readonly channel: string;
  readonly originHash: bigint;
  readonly from: Role;
  readonly to: Role;
  readonly signal: TransitionSignal;
  readonly kinds: readonly RoleChangeKind[];
  /** The role changed but the chain-tag side effect failed (the caller got a TagSinkError). */
  readonly tagSinkFailed: boolean;
}

export type RoleChangeObserver = (event: RoleChangeEvent) => void;

/** The role changed, but announcing or withdrawing the chain tag failed. */
export class TagSinkError extends RedexError {
  readonly transition: Transition;
  readonly operation: 'announce' | 'withdraw';

  constructor(transition: Transition, operation: 'announce' | 'withdraw', cause: unknown) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(
      RedexErrorCode.Io,
      `role changed but chain-tag ${operation} failed (${detail}); the mesh may advertise a stale holder`,
      { cause },
    );
    this.transition = transition;
    this.operation = operation;
  }
}

export class TransitionQueueFullError extends RedexError {
  constructor(channel: string) {
    super(
      RedexErrorCode.InvalidArgument,
      `more than ${TRANSITION_QUEUE_MAX} role transitions queued for ${JSON.stringify(channel)}`,
    );
  }
}

export interface CoordinatorOptions {
  readonly channel: ChannelIdentity;
  readonly config: ReplicationConfig;
  readonly sink: ChainTagSink;
  readonly metrics?: CoordinatorMetrics;
}

const NO_METRICS: CoordinatorMetrics = {
  leaderChange() {},
  electionThrash() {},
  announceDivergence() {},
};

function kindsOf(from: Role, to: Role): RoleChangeKind[] {
  const kinds: RoleChangeKind[] = [];
  if (from === Role.Idle && to !== Role.Idle) kinds.push('became-holder');
  if (to === Role.Leader) kinds.push('leader-changed');
  if (from === Role.Leader && to !== Role.Leader) kinds.push('leader-lost');
  if (to === Role.Idle && from !== Role.Idle) kinds.push('idled');
  return kinds;
}

export class ReplicationCoordinator {
  readonly channel: ChannelIdentity;
  readonly config: ReplicationConfig;
  readonly #sink: ChainTagSink;
  readonly #metrics: CoordinatorMetrics;
  // Invariant: #role is one of ALL_ROLES; it only changes inside #apply.
  #role: Role = Role.Idle;
  // Invariant: a safe integer ≥ 0 that never decreases.
  #tailSeq = 0;
  // Tail of the promise chain that serializes transitions; never rejects.
  #queue: Promise<void> = Promise.resolve();
  // Invariant: 0 ≤ #pending ≤ TRANSITION_QUEUE_MAX.
  #pending = 0;
  readonly #observers = new Set<RoleChangeObserver>();
  #observerErrors = 0;

  constructor(options: CoordinatorOptions) {
    this.channel = options.channel;
    this.config = options.config;
    this.#sink = options.sink;
    this.#metrics = options.metrics ?? NO_METRICS;
  }

  /** The current role (a snapshot; a queued transition may change it). */
  get role(): Role {
    return this.#role;
  }

  /** Highest tail recorded so far; what the next announce advertises. */
  get tailSeq(): number {
    return this.#tailSeq;
  }

  /** Transitions accepted but not yet finished (including the running one). */
  get pendingTransitions(): number {
    return this.#pending;
  }

  /** Observer callbacks that threw (they are isolated from the coordinator). */
  get observerErrors(): number {
    return this.#observerErrors;
  }

  /** Keeps the maximum: a lower value is ignored, so a late reader never rolls the tail back. */
  recordTailSeq(seq: number): void {
    if (!Number.isSafeInteger(seq) || seq < 0) {
      throw new RedexError(
        RedexErrorCode.InvalidArgument,
        `recordTailSeq: tail must be a safe integer ≥ 0, got ${seq}`,
      );
    }
    if (seq > this.#tailSeq) this.#tailSeq = seq;
  }

  /** Registers an observer; returns the function that removes it. */
  onRoleChange(observer: RoleChangeObserver): () => void {
    if (this.#observers.size >= OBSERVERS_MAX && !this.#observers.has(observer)) {
      throw new RedexError(
        RedexErrorCode.InvalidArgument,
        `more than ${OBSERVERS_MAX} role observers on ${JSON.stringify(this.channel.name)}`,
      );
    }
    this.#observers.add(observer);
    return () => {
      this.#observers.delete(observer);
    };
  }

  /**
   * Moves to `target` because of `signal`, after every earlier transition has finished.
   * Resolves to the validated transition, or null for the idempotent Idle → Idle close.
   * Rejects with a `TransitionError` (role unchanged) or a `TagSinkError` (role changed).
   */
  transitionTo(target: Role, signal: TransitionSignal): Promise<Transition | null> {
    if (this.#pending >= TRANSITION_QUEUE_MAX) {
      return Promise.reject(new TransitionQueueFullError(this.channel.name));
    }
    this.#pending++;
    const run = this.#queue.then(async () => {
      try {
        return await this.#apply(target, signal);
      } finally {
        // Before `run` settles, so a caller that awaited it sees an accurate count.
        this.#pending--;
      }
    });
    this.#queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  async #apply(target: Role, signal: TransitionSignal): Promise<Transition | null> {
    const transition = validateTransition(this.#role, target, signal);
    if (transition.noop) return null;
    this.#role = target;

    // Metrics first: they count what happened, even if the side effect below fails.
    if (target === Role.Leader) this.#metrics.leaderChange();
    if (signal === TransitionSignal.MissedHeartbeats) this.#metrics.electionThrash();

    let failure: TagSinkError | null = null;
    const { from } = transition;
    const origin = this.channel.originHash;
    if (
      (from === Role.Idle && target === Role.Replica) ||
      (from === Role.Candidate && target === Role.Leader)
    ) {
      try {
        await this.#sink.announce(origin, this.#tailSeq);
      } catch (error) {
        failure = new TagSinkError(transition, 'announce', error);
      }
    } else if (target === Role.Idle) {
      try {
        await this.#sink.withdraw(origin);
      } catch (error) {
        this.#metrics.announceDivergence();
        failure = new TagSinkError(transition, 'withdraw', error);
      }
    }

    // Observers hear of every real role change, even when the tag side effect failed: the role
    // did change, and retrying the same transition later would be invalid, so they would never
    // hear of it otherwise (upstream skipped them on failure).
    this.#notify({
      channel: this.channel.name,
      originHash: origin,
      from,
      to: target,
      signal,
      kinds: kindsOf(from, target),
      tagSinkFailed: failure !== null,
    });
    if (failure !== null) throw failure;
    return transition;
  }

  #notify(event: RoleChangeEvent): void {
    for (const observer of [...this.#observers]) {
      try {
        observer(event);
      } catch {
        this.#observerErrors++;
      }
    }
  }

  assertInvariants(): void {
    if (!ALL_ROLES.includes(this.#role)) throw new Error(`coordinator: bad role ${this.#role}`);
    if (!Number.isSafeInteger(this.#tailSeq) || this.#tailSeq < 0) {
      throw new Error(`coordinator: bad tailSeq ${this.#tailSeq}`);
    }
    if (this.#pending < 0 || this.#pending > TRANSITION_QUEUE_MAX) {
      throw new Error(`coordinator: pending ${this.#pending} out of range`);
    }
    if (this.#observers.size > OBSERVERS_MAX) throw new Error('coordinator: too many observers');
  }
}
