// The replication runtime of one channel: performs what the pure step decides. The step
// functions (step.ts, step-serve.ts, step-apply.ts, step-tick.ts) read its `ChannelState` and
// return effects; this class runs them in order through the `ReplicationDispatcher`, the
// channel's log and the coordinator, and feeds each outcome to the step's next decision. The
// loop, its timers and the lifecycle are `RuntimeLoop`'s (runtime-loop.ts). Also owns the
// channel's snapshot and change listeners for observers.
// Called by: the handle (`handle.ts`), which the router and the `Redex` integration hold.

import { ClosedError, RedexError, RedexErrorCode } from '../log/errors.js';
import type { Clock } from '../time/clock.js';
import type { Random } from '../time/random.js';
import { channelIdToHex, isNodeId } from '../wire/ids.js';
import {
  type ChannelId,
  type NodeId,
  type QuorumMessage,
  Role,
  type SyncHeartbeat,
  type SyncNack,
  type SyncRequest,
  type SyncResponse,
} from '../wire/types.js';
import { CatchupBackoff } from './backoff.js';
import type { BandwidthBudget } from './budget.js';
import {
  type ApplyResult,
  applySyncResponse,
  type CatchupSink,
  type CatchupSource,
  handleSyncRequest,
} from './catchup.js';
import {
  buildSnapshot,
  CHANGE_LISTENERS_MAX,
  type ChangeListener,
  type ChannelSnapshot,
} from './channel-snapshot.js';
import { CommitWaiters } from './commit-waiters.js';
import { silenceMsOf, syncClassOf } from './config.js';
import { type ReplicationCoordinator, TagSinkError } from './coordinator.js';
import { handleDiskPressure } from './disk-pressure.js';
import type { ReplicationDispatcher } from './dispatcher.js';
import { HeartbeatTracker } from './heartbeat-tracker.js';
import type { InboundMessage } from './inbox.js';
import type { ChannelMetrics } from './metrics.js';
import { OutstandingRequests } from './outstanding.js';
import { ReplicaProgress, type WaitOptions } from './progress.js';
import {
  ChannelQuorum,
  type QuorumEffect,
  type QuorumTransitionReason,
} from './quorum/channel-quorum.js';
import type { EpochEntry } from './quorum/epoch-history.js';
import { TransitionSignal } from './roles.js';
import { ABORTED, RuntimeLoop } from './runtime-loop.js';
import { emptyStats, type RuntimeStats } from './runtime-stats.js';
import { afterSkip, afterTruncate, onInbound } from './step.js';
import { afterApply } from './step-apply.js';
import { quorumRoleOf } from './step-quorum.js';
import { afterRespond, afterServeRead, announceAppends } from './step-serve.js';
import type { ChannelState, MetricEffect, StepEffect, StepView } from './step-state.js';
import { NO_EFFECTS } from './step-state.js';
import { beginTick, finishTick } from './step-tick.js';
import { peersOf } from './tick.js';

/** The log operations the runtime needs; `RedexFile` fits (the integration routes writes to its internal apply path). */
export interface RuntimeFile extends CatchupSource, CatchupSink {
  skipTo(seq: number): Promise<void>;
  sweepRetention(): Promise<number>;
  /** Cuts a diverged suffix: every event at or after `seq` goes, durably, before it resolves. */
  truncateFrom(seq: number): Promise<number>;
}

/** Where the channel's epoch, vote and epoch history are made durable (the log's quorum files). */
export interface QuorumPersistence {
  saveVote(epoch: number, votedFor: bigint | null): Promise<void>;
  appendEpoch(epoch: number, startSeq: number): Promise<void>;
  truncateHistory(fromSeq: number): Promise<void>;
}

/** The quorum state loaded at open, and whether this node may vote before it caught up. */
export interface QuorumStart {
  readonly durable: {
    readonly epoch: number;
    readonly votedFor: NodeId | null;
    readonly history: readonly EpochEntry[];
  };
  readonly mayVote: boolean;
  readonly persistence: QuorumPersistence;
}

/** Memory only: a fresh state with nothing durable (tests; in-memory channels use the same). */
export function volatileQuorumStart(mayVote = true): QuorumStart {
  const done = () => Promise.resolve();
  return {
    durable: { epoch: 0, votedFor: null, history: [] },
    mayVote,
    persistence: { saveVote: done, appendEpoch: done, truncateHistory: done },
  };
}

/** Heartbeat period, default class and background fraction come from the coordinator's config. */
export interface RuntimeOptions {
  readonly channelId: ChannelId;
  /** Channel name: metrics label and error messages (default: the channel id in hex). */
  readonly channelName?: string;
  readonly selfId: NodeId;
  /** Every member of the channel's replica set, this node included. */
  readonly replicaSet: readonly NodeId[];
  readonly file: RuntimeFile;
  readonly coordinator: ReplicationCoordinator;
  readonly dispatcher: ReplicationDispatcher;
  /** Drives the timers; its `nowMs` is also the heartbeat's wall-clock field. */
  readonly clock: Clock;
  /** Mints request tokens (use a cryptographic source in production: tokens must not be guessable). */
  readonly random: Random;
  readonly budget: BandwidthBudget;
  readonly metrics?: ChannelMetrics;
  /** Default: a fresh, volatile quorum state that may vote (tests of the seed's behaviour). */
  readonly quorum?: QuorumStart;
  /** Told after the commit moved (the file wakes its committed readers). */
  readonly onCommit?: () => void;
}

function invalidOption(message: string): RedexError {
  return new RedexError(RedexErrorCode.InvalidArgument, `replication runtime: ${message}`);
}

export class ReplicationRuntime extends RuntimeLoop {
  readonly channelId: ChannelId;
  readonly channelName: string;
  readonly selfId: NodeId;
  readonly replicaSet: readonly NodeId[];
  readonly coordinator: ReplicationCoordinator;
  readonly tracker: HeartbeatTracker;
  readonly backoff = new CatchupBackoff();
  readonly outstanding = new OutstandingRequests();
  readonly budget: BandwidthBudget;
  readonly progress: ReplicaProgress;
  readonly quorum: ChannelQuorum;
  readonly commits: CommitWaiters;
  readonly stats: RuntimeStats = emptyStats();
  /** The latest unexpected error a step threw (see `stats.stepErrors`). */
  lastError: unknown = null;

  /** The pure step's state; only step functions change it. */
  readonly #state: ChannelState;
  readonly #file: RuntimeFile;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #metrics: ChannelMetrics | undefined;
  // Released when the task ends, so a dropped runtime does not keep the mesh reachable.
  #dispatcher: ReplicationDispatcher | null;
  readonly #persistence: QuorumPersistence;
  readonly #onCommit: (() => void) | undefined;
  readonly #unsubscribeRole: () => void;
  readonly #listeners = new Set<ChangeListener>();
  /** What the change listeners last saw (role, leader, tail, confirmed tails). */
  #lastChangeKey = '';
  #confirmedVersion = 0;

  constructor(options: RuntimeOptions) {
    const name = options.channelName ?? channelIdToHex(options.channelId);
    super(options.clock, options.coordinator.config.heartbeatMs, JSON.stringify(name));
    if (!isNodeId(options.selfId))
      throw invalidOption(`selfId must be a NodeId, got ${String(options.selfId)}`);
    if (!Array.isArray(options.replicaSet)) throw invalidOption('replicaSet must be an array');
    for (const id of options.replicaSet) {
      if (!isNodeId(id)) throw invalidOption(`replicaSet holds a bad NodeId ${String(id)}`);
    }
    const config = options.coordinator.config;
    // Resolved and frozen by `resolveReplicationConfig`, which validated it: trusted here.
    const heartbeatMs = config.heartbeatMs;
    this.channelId = options.channelId;
    this.channelName = name;
    this.selfId = options.selfId;
    this.replicaSet = Object.freeze([...options.replicaSet]);
    this.coordinator = options.coordinator;
    this.budget = options.budget;
    const peers = peersOf(options.replicaSet, options.selfId);
    this.#file = options.file;
    this.#clock = options.clock;
    this.#random = options.random;
    this.#metrics = options.metrics;
    this.#dispatcher = options.dispatcher;
    this.tracker = new HeartbeatTracker(options.selfId, config);
    this.progress = new ReplicaProgress(this.channelName, options.clock, peers);
    const start = options.quorum ?? volatileQuorumStart();
    this.#persistence = start.persistence;
    this.#onCommit = options.onCommit;
    this.quorum = new ChannelQuorum({
      selfId: options.selfId,
      replicaSet: options.replicaSet,
      heartbeatMs,
      silenceMs: silenceMsOf(config),
      durable: start.durable,
      mayVote: start.mayVote,
      nowMs: options.clock.nowMs(),
    });
    this.commits = new CommitWaiters(this.channelName, options.clock, () => this.#ackView());
    this.#state = {
      selfId: this.selfId,
      channelId: this.channelId,
      replicaSet: this.replicaSet,
      members: new Set(options.replicaSet),
      peers,
      heartbeatMs,
      defaultClass: syncClassOf(config.defaultClass),
      backgroundFraction: config.backgroundFraction,
      tracker: this.tracker,
      outstanding: this.outstanding,
      backoff: this.backoff,
      budget: this.budget,
      stats: this.stats,
      quorum: this.quorum,
      parked: new Map(),
      awaitingRequest: new Set(),
    };
    this.#unsubscribeRole = this.coordinator.onRoleChange((event) => {
      // Positions confirmed to an earlier leadership do not count for this one.
      if (event.to === Role.Leader || event.from === Role.Leader) this.progress.reset();
      this.commits.update();
      // A new leader says so at once instead of at its next tick.
      if (event.to === Role.Leader) this.scheduleNotify();
      if (event.from === Role.Leader && event.to !== Role.Leader) this.#metrics?.clearLag('leader');
      if (event.from === Role.Replica && event.to !== Role.Replica) {
        this.#metrics?.clearLag('replica');
      }
      this.#reportChange();
    });
    this.#lastChangeKey = this.#changeKey();
  }

  /** False once the task ended: it no longer references the dispatcher. */
  get holdsDispatcher(): boolean {
    return this.#dispatcher !== null;
  }

  /** Leader: announce new appends to every peer soon (one heartbeat each, coalesced). */
  notifyAppended(): void {
    if (this.coordinator.role === Role.Leader) this.scheduleNotify();
  }

  waitForReplicas(seq: number, options?: WaitOptions): Promise<void> {
    return this.progress.wait(seq, options);
  }

  /** The highest leader epoch this node has seen. */
  get epoch(): number {
    return this.quorum.epoch;
  }

  /** Every event below this seq is committed, as far as this node knows. */
  get commitSeq(): number {
    return this.quorum.commitSeq;
  }

  /**
   * The epoch that wrote `seq` in this node's log (0 before epochs); undefined for a seq this log
   * neither holds nor has history for (skipped over, or evicted and forgotten).
   */
  epochOf(seq: number): number | undefined {
    const firstSeq = this.#file.firstSeq;
    const held = firstSeq !== null && seq >= firstSeq && seq < this.#file.nextSeq;
    const covered = (this.quorum.history.entries[0]?.startSeq ?? Number.POSITIVE_INFINITY) <= seq;
    return held || covered ? this.quorum.history.epochOf(seq) : undefined;
  }

  /** True while this node leads and can take appends for `epoch` (the current one). */
  leads(epoch = this.quorum.epoch): boolean {
    return (
      !this.ended &&
      this.coordinator.role === Role.Leader &&
      this.quorum.leader === this.selfId &&
      this.quorum.epoch === epoch
    );
  }

  #ackView() {
    const progress = this.progress;
    return {
      epoch: this.quorum.epoch,
      leading: this.leads(),
      commitSeq: this.quorum.commitSeq,
      holding: (seq: number) => progress.holding(seq),
      replicaCount: progress.peerCount,
    };
  }

  /** The channel's replication state now, as a plain frozen object. */
  snapshot(): ChannelSnapshot {
    const role = this.coordinator.role;
    return buildSnapshot({
      selfId: this.selfId,
      role,
      leader: role === Role.Leader ? this.selfId : this.tracker.believedLeader,
      tailSeq: this.#file.nextSeq,
      nowMs: this.#clock.nowMs(),
      peers: this.#state.peers,
      tracker: this.tracker,
      confirmedTail: (peer) => this.progress.confirmedTail(peer),
      matchedSeq: (peer) => (role === Role.Leader ? (this.quorum.matched.get(peer) ?? null) : null),
      epoch: this.quorum.epoch,
      commitSeq: this.quorum.commitSeq,
    });
  }

  /**
   * Calls `listener` when the role, the leader, this node's tail or a confirmed tail changed; at
   * most once per step. Returns the unsubscribe function.
   */
  onChange(listener: ChangeListener): () => void {
    if (this.#listeners.size >= CHANGE_LISTENERS_MAX && !this.#listeners.has(listener)) {
      throw invalidOption(`more than ${CHANGE_LISTENERS_MAX} change listeners`);
    }
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  #changeKey(): string {
    const role = this.coordinator.role;
    const leader = role === Role.Leader ? this.selfId : this.tracker.believedLeader;
    const q = this.quorum;
    return `${role}|${leader}|${this.#file.nextSeq}|${this.#confirmedVersion}|${this.ended}|${q.epoch}|${q.commitSeq}`;
  }

  protected override async onAnnounce(): Promise<void> {
    await this.#perform(announceAppends(this.#state, this.#view()));
  }

  protected override closeGracefully(): Promise<void> {
    return this.coordinator.transitionTo(Role.Idle, TransitionSignal.ChannelClose).then(() => {});
  }

  protected override stepFailed(error: unknown): void {
    this.stats.stepErrors++;
    this.lastError = error;
  }

  protected override afterStep(): void {
    const q = this.quorum;
    const c = q.counters;
    this.#metrics?.observeQuorum({
      epoch: q.epoch,
      commitSeq: q.commitSeq,
      truncatedEvents: c.truncatedEvents,
      staleEpochDrops: c.staleEpochDrops + c.noEpochDrops,
      preVotes: c.preVotesStarted,
      electionsWon: c.electionsWon,
      electionsLost: c.electionsLost,
    });
    this.#reportChange();
  }

  protected override released(): void {
    this.#unsubscribeRole();
    this.#state.parked.clear();
    this.#state.awaitingRequest.clear();
    const closed = new ClosedError(`the replication of ${JSON.stringify(this.channelName)}`);
    this.progress.close(closed);
    // Acknowledgements still waiting never come from this runtime: their outcome is unknown.
    this.commits.update();
    this.commits.close(closed);
    this.#dispatcher = null;
    this.#reportChange();
    this.#listeners.clear();
  }

  /** Tells the change listeners, once, if what they watch moved since they were last told. */
  #reportChange(): void {
    if (this.#listeners.size === 0) return;
    const key = this.#changeKey();
    if (key === this.#lastChangeKey) return;
    this.#lastChangeKey = key;
    for (const listener of [...this.#listeners]) {
      try {
        listener();
      } catch (error) {
        this.stepFailed(error);
      }
    }
  }

  /** Fresh inputs of a step function. */
  #view(): StepView {
    return { role: this.coordinator.role, tailSeq: this.#file.nextSeq, nowMs: this.#clock.nowMs() };
  }

  // ─── steps ─────────────────────────────────────────────────────────────────────────────────

  /** One heartbeat period. Public so tests can drive it step by step. */
  override async onTick(): Promise<void> {
    if (this.ended) return;
    const now = this.#clock.nowMs();
    await this.#perform(beginTick(this.#state, this.#view()));
    // Role, tracker and tail are read in one synchronous stretch; the tick's time is its start.
    const jitterMs = this.#random.nextInt(this.coordinator.config.heartbeatMs);
    await this.#perform(finishTick(this.#state, { ...this.#view(), nowMs: now, jitterMs }));
  }

  /** One message from a peer. Public so tests can drive it directly. */
  override async onInbound(event: InboundMessage): Promise<void> {
    if (this.ended) return;
    await this.#perform(onInbound(this.#state, event, this.#view()));
  }

  /** Performs `effects` in order; what an effect's outcome decides runs before the next one. */
  async #perform(effects: readonly StepEffect[]): Promise<void> {
    for (const effect of effects) {
      const next = await this.#performOne(effect);
      if (next.length > 0) await this.#perform(next);
    }
  }

  async #performOne(effect: StepEffect): Promise<readonly StepEffect[]> {
    const state = this.#state;
    switch (effect.kind) {
      case 'send':
        await this.#send(effect.to, effect.message);
        return NO_EFFECTS;
      case 'request':
        await this.#sendRequest(effect.to, effect);
        return NO_EFFECTS;
      case 'serve': {
        const outcome = await this.#fileOp(() =>
          handleSyncRequest(this.#file, effect.request, this.channelId),
        );
        return outcome === null ? NO_EFFECTS : afterServeRead(state, effect, outcome, this.#view());
      }
      case 'respond':
        return afterRespond(state, effect, await this.#send(effect.to, effect.response));
      case 'apply': {
        const result: ApplyResult | null = await this.#fileOp(() =>
          applySyncResponse(this.#file, effect.response, this.channelId),
        );
        return result === null ? NO_EFFECTS : afterApply(state, effect, result, this.#view());
      }
      case 'skip-to': {
        const skipped = await this.#fileOp(() => this.#file.skipTo(effect.seq).then(() => true));
        return skipped === null ? NO_EFFECTS : afterSkip(state, effect.next, this.#view());
      }
      case 'transition':
        await this.#transition(effect.target, effect.signal);
        return NO_EFFECTS;
      case 'quorum':
        return this.#performQuorum(effect.effect);
      case 'disk-pressure':
        await this.io(
          handleDiskPressure({
            coordinator: this.coordinator,
            file: this.#file,
            metrics: this.#metrics,
          }),
        );
        return NO_EFFECTS;
      case 'confirm-tail': {
        const before = this.progress.confirmedTail(effect.peer);
        this.progress.observe(effect.peer, effect.tailSeq);
        if (this.progress.confirmedTail(effect.peer) !== before) this.#confirmedVersion++;
        this.commits.update();
        return NO_EFFECTS;
      }
      case 'record-tail':
        this.coordinator.recordTailSeq(effect.tailSeq);
        return NO_EFFECTS;
      case 'metric':
        if (this.#metrics !== undefined) recordMetric(this.#metrics, effect.metric);
        return NO_EFFECTS;
    }
  }

  /**
   * One quorum effect. A durable write that fails throws: the step ends there, so nothing that
   * depended on it (an answer to a vote, an event of the new epoch) happens.
   */
  async #performQuorum(effect: QuorumEffect): Promise<readonly StepEffect[]> {
    switch (effect.kind) {
      case 'persist-vote':
        await this.io(this.#persistence.saveVote(effect.epoch, effect.votedFor));
        return NO_EFFECTS;
      case 'persist-epoch-start':
        await this.io(this.#persistence.appendEpoch(effect.epoch, effect.startSeq));
        return NO_EFFECTS;
      case 'persist-history-truncate':
        await this.io(this.#persistence.truncateHistory(effect.fromSeq));
        return NO_EFFECTS;
      case 'truncate-log': {
        await this.io(this.#file.truncateFrom(effect.fromSeq));
        this.stats.truncations++;
        return afterTruncate(this.#state, effect.fromSeq, this.#view());
      }
      case 'send-vote-request':
        await this.#sendQuorum(effect.to, {
          kind: 'vote-request',
          channelId: this.channelId,
          epoch: effect.epoch,
          lastEpoch: effect.lastEpoch,
          nextSeq: effect.nextSeq,
          preVote: effect.preVote,
          transfer: effect.transfer,
        });
        return NO_EFFECTS;
      case 'send-vote-response':
        await this.#sendQuorum(effect.to, {
          kind: 'vote-response',
          channelId: this.channelId,
          epoch: effect.epoch,
          granted: effect.granted,
          preVote: effect.preVote,
        });
        return NO_EFFECTS;
      case 'become':
        await this.#become(effect.role, effect.reason);
        return NO_EFFECTS;
      case 'leadership-lost':
        this.commits.update();
        return NO_EFFECTS;
      case 'commit':
        this.commits.update();
        this.#confirmedVersion++;
        this.#onCommit?.();
        // Replicas show committed events only: tell them soon (one coalesced heartbeat each).
        if (this.coordinator.role === Role.Leader) this.scheduleNotify();
        return NO_EFFECTS;
    }
  }

  /** The coordinator's transition for a role the quorum logic decided. */
  async #become(
    role: 'leader' | 'candidate' | 'replica',
    reason: QuorumTransitionReason,
  ): Promise<void> {
    const from = this.coordinator.role;
    if (role === 'leader') {
      await this.#transition(Role.Leader, TransitionSignal.ElectionWon);
    } else if (role === 'candidate') {
      await this.#transition(Role.Candidate, TransitionSignal.MissedHeartbeats);
    } else if (from === Role.Leader) {
      const signal =
        reason === 'quorum-lost'
          ? TransitionSignal.QuorumLost
          : TransitionSignal.HigherEpochObserved;
      await this.#transition(Role.Replica, signal);
    } else if (from === Role.Candidate) {
      const signal =
        reason === 'higher-epoch'
          ? TransitionSignal.HigherEpochObserved
          : TransitionSignal.ElectionLost;
      await this.#transition(Role.Replica, signal);
    }
    this.commits.update();
  }

  async #sendQuorum(target: NodeId, message: QuorumMessage): Promise<void> {
    const dispatcher = this.#dispatcher;
    if (dispatcher === null) return;
    try {
      await this.io(dispatcher.sendQuorum(target, message));
      this.stats.votesOut++;
    } catch (error) {
      if (error === ABORTED) throw error;
      this.stats.sendFailures++;
    }
  }

  /** A log operation through the abort race; null (counted) when the file itself failed. */
  async #fileOp<T>(run: () => Promise<T>): Promise<T | null> {
    try {
      return await this.io(run());
    } catch (error) {
      if (error === ABORTED) throw error;
      this.stats.fileErrors++;
      return null;
    }
  }

  /** True when the role moved (including a TagSinkError: the role changed, the tag did not). */
  async #transition(target: Role, signal: TransitionSignal): Promise<boolean> {
    try {
      await this.io(this.coordinator.transitionTo(target, signal));
      return true;
    } catch (error) {
      if (error === ABORTED) throw error;
      return error instanceof TagSinkError;
    }
  }

  /** Sends a SyncRequest under a fresh token; a request that never left frees its token at once. */
  async #sendRequest(
    leader: NodeId,
    shape: Pick<SyncRequest, 'sinceSeq' | 'chunkMax' | 'syncClass'>,
  ): Promise<void> {
    const token = this.#random.nextU64();
    const now = this.#clock.nowMs();
    const request: SyncRequest = {
      kind: 'request',
      channelId: this.channelId,
      sinceSeq: shape.sinceSeq,
      chunkMax: shape.chunkMax,
      requestId: token,
      syncClass: shape.syncClass,
      quorum: {
        epoch: this.quorum.epoch,
        lastFetchedEpoch: this.quorum.fetchEpoch(shape.sinceSeq, this.#file.firstSeq),
      },
    };
    this.outstanding.record(leader, token, now);
    if (!(await this.#send(leader, request))) this.outstanding.take(leader, token, now);
  }

  /** True when the dispatcher accepted the message; a failure is counted, never thrown. */
  async #send(
    target: NodeId,
    message: SyncHeartbeat | SyncRequest | SyncResponse | SyncNack,
  ): Promise<boolean> {
    const dispatcher = this.#dispatcher;
    if (dispatcher === null) return false;
    try {
      switch (message.kind) {
        case 'heartbeat':
          await this.io(dispatcher.sendHeartbeat(target, message));
          this.stats.heartbeatsOut++;
          break;
        case 'request':
          await this.io(dispatcher.sendSyncRequest(target, message));
          this.stats.requestsOut++;
          break;
        case 'response':
          await this.io(dispatcher.sendSyncResponse(target, message));
          this.stats.responsesOut++;
          break;
        case 'nack':
          await this.io(dispatcher.sendSyncNack(target, message));
          this.stats.nacksOut++;
          break;
      }
      return true;
    } catch (error) {
      if (error === ABORTED) throw error;
      this.stats.sendFailures++;
      return false;
    }
  }

  assertInvariants(): void {
    this.tracker.assertInvariants();
    this.backoff.assertInvariants();
    this.outstanding.assertInvariants();
    this.budget.assertInvariants();
    this.progress.assertInvariants();
    this.commits.assertInvariants();
    this.coordinator.assertInvariants();
    if (!this.ended)
      this.quorum.assertInvariants(quorumRoleOf(this.coordinator.role), this.#file.nextSeq);
    this.assertLoopInvariants();
    const { parked, awaitingRequest, peers } = this.#state;
    for (const peer of [...parked.keys(), ...awaitingRequest]) {
      if (!peers.includes(peer)) throw new Error('runtime: long-poll state for a non-peer');
    }
    if (this.ended) {
      if (parked.size > 0 || awaitingRequest.size > 0) {
        throw new Error('runtime: ended with long-poll state');
      }
      if (this.#dispatcher !== null) throw new Error('runtime: ended but holds the dispatcher');
    }
  }
}

function recordMetric(metrics: ChannelMetrics, metric: MetricEffect): void {
  if (metric.name === 'replica-confirmed-tail') {
    metrics.replicaConfirmedTail(metric.peer, metric.tailSeq, metric.localTail);
  } else if (metric.name === 'skip-ahead') metrics.skipAhead();
  else if (metric.name === 'sync-bytes') metrics.syncBytes(metric.bytes);
  else if (metric.name === 'tail') metrics.tailSeq(metric.tailSeq);
  else metrics.recordLag(metric.role, metric.lagMs);
}
