// The replication runtime of one channel: a thin async shell around the pure step. Owns the loop,
// its timers (tick, append announcement, shutdown grace), the lifecycle, the abort race on every
// outside await, and performing the effects the step functions return (step-state.ts lists them)
// through the `ReplicationDispatcher`, the channel's log and the coordinator.
//
// Each turn of the loop takes, in this order: a priority event (Shutdown, SyncResponse, SyncNack),
// a due tick, a due append announcement, a normal event (Heartbeat, SyncRequest). Steps never
// overlap, so the role read, the tracker and the send decisions of a step are consistent.
// Called by: the handle (`handle.ts`), which the router and the `Redex` integration hold.
//
// `cancel` never hangs: every await on the outside world races an abort, and a shutdown that has
// not finished after `CANCEL_GRACE_MS` on the clock aborts.

import { ClosedError, RedexError, RedexErrorCode } from '../log/errors.js';
import type { Clock, TimerHandle } from '../time/clock.js';
import type { Random } from '../time/random.js';
import { channelIdToHex, isNodeId } from '../wire/ids.js';
import {
  type ChannelId,
  type NodeId,
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
import { syncClassOf } from './config.js';
import { type ReplicationCoordinator, TagSinkError } from './coordinator.js';
import { handleDiskPressure } from './disk-pressure.js';
import type { ReplicationDispatcher } from './dispatcher.js';
import { HeartbeatTracker } from './heartbeat-tracker.js';
import { type InboundMessage, RuntimeInbox, SHUTDOWN } from './inbox.js';
import type { ChannelMetrics } from './metrics.js';
import { OutstandingRequests } from './outstanding.js';
import { ReplicaProgress, type WaitOptions } from './progress.js';
import { TransitionSignal } from './roles.js';
import { emptyStats, type RuntimeStats } from './runtime-stats.js';
import { afterSkip, afterTransition, onInbound } from './step.js';
import { afterApply } from './step-apply.js';
import { afterRespond, afterServeRead, announceAppends } from './step-serve.js';
import type { ChannelState, MetricEffect, StepEffect, StepView } from './step-state.js';
import { NO_EFFECTS } from './step-state.js';
import { beginTick, finishTick } from './step-tick.js';
import { peersOf } from './tick.js';

/** A shutdown still running after this long (on the runtime's clock) is aborted. */
export const CANCEL_GRACE_MS = 5_000;
/** Delay of the leader's append announcement: 0 coalesces every append of one event-loop turn. */
export const APPEND_NOTIFY_DELAY_MS = 0;

/** The log operations the runtime needs; `RedexFile` fits (the integration routes writes to its internal apply path). */
export interface RuntimeFile extends CatchupSource, CatchupSink {
  skipTo(seq: number): Promise<void>;
  sweepRetention(): Promise<number>;
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
}

/** Thrown through every outside await once the runtime is aborted; never escapes the loop. */
const ABORTED: unique symbol = Symbol('replication runtime aborted');

function invalidOption(message: string): RedexError {
  return new RedexError(RedexErrorCode.InvalidArgument, `replication runtime: ${message}`);
}

export class ReplicationRuntime {
  readonly channelId: ChannelId;
  readonly channelName: string;
  readonly selfId: NodeId;
  readonly replicaSet: readonly NodeId[];
  readonly heartbeatMs: number;
  readonly coordinator: ReplicationCoordinator;
  readonly tracker: HeartbeatTracker;
  readonly backoff = new CatchupBackoff();
  readonly outstanding = new OutstandingRequests();
  readonly budget: BandwidthBudget;
  readonly progress: ReplicaProgress;
  readonly stats: RuntimeStats = emptyStats();
  /** The latest unexpected error a step threw (see `stats.stepErrors`). */
  lastError: unknown = null;

  /** The pure step's state; only step functions change it. */
  readonly #state: ChannelState;
  readonly #file: RuntimeFile;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #metrics: ChannelMetrics | undefined;
  readonly #inbox: RuntimeInbox;
  // Released when the task ends, so a dropped runtime does not keep the mesh reachable.
  #dispatcher: ReplicationDispatcher | null;
  readonly #unsubscribeRole: () => void;
  readonly #listeners = new Set<ChangeListener>();
  /** What the change listeners last saw (role, leader, tail, confirmed tails). */
  #lastChangeKey = '';
  #confirmedVersion = 0;

  // Lifecycle. Invariants: #ended ⇒ no live timer, the inbox closed, no dispatcher held;
  // #aborted ⇒ #started.
  #started = false;
  #ended = false;
  #aborted = false;
  #shutdownRequested = false;
  #tickDue = false;
  #notifyDue = false;
  #tickTimer: TimerHandle | null = null;
  #notifyTimer: TimerHandle | null = null;
  #graceTimer: TimerHandle | null = null;
  #wake: (() => void) | null = null;
  // Rejecters of the outside awaits in progress (steps are sequential, so at most a few).
  readonly #pendingIo = new Set<(reason: unknown) => void>();
  #resolveDone: () => void = () => {};
  readonly #done: Promise<void>;

  constructor(options: RuntimeOptions) {
    if (!isNodeId(options.selfId))
      throw invalidOption(`selfId must be a NodeId, got ${String(options.selfId)}`);
    if (!Array.isArray(options.replicaSet)) throw invalidOption('replicaSet must be an array');
    for (const id of options.replicaSet) {
      if (!isNodeId(id)) throw invalidOption(`replicaSet holds a bad NodeId ${String(id)}`);
    }
    const config = options.coordinator.config;
    const heartbeatMs = config.heartbeatMs;
    if (!Number.isSafeInteger(heartbeatMs) || heartbeatMs <= 0) {
      throw invalidOption(`heartbeatMs must be a positive integer, got ${String(heartbeatMs)}`);
    }
    this.channelId = options.channelId;
    this.channelName = options.channelName ?? channelIdToHex(options.channelId);
    this.selfId = options.selfId;
    this.replicaSet = Object.freeze([...options.replicaSet]);
    this.heartbeatMs = heartbeatMs;
    this.coordinator = options.coordinator;
    this.budget = options.budget;
    const peers = peersOf(options.replicaSet, options.selfId);
    this.#file = options.file;
    this.#clock = options.clock;
    this.#random = options.random;
    this.#metrics = options.metrics;
    this.#dispatcher = options.dispatcher;
    this.tracker = new HeartbeatTracker(options.selfId, heartbeatMs);
    this.progress = new ReplicaProgress(this.channelName, options.clock, peers);
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
      parked: new Map(),
      awaitingRequest: new Set(),
      replicaSinceMs: this.coordinator.role === Role.Replica ? options.clock.nowMs() : null,
      rejoinAtMs: null,
    };
    this.#inbox = new RuntimeInbox(JSON.stringify(this.channelName), () => this.#wakeUp());
    this.#done = new Promise<void>((resolve) => {
      this.#resolveDone = resolve;
    });
    this.#unsubscribeRole = this.coordinator.onRoleChange((event) => {
      if (event.to === Role.Replica) this.#state.replicaSinceMs = this.#clock.nowMs();
      // A new leader says so at once instead of at its next tick.
      if (event.to === Role.Leader) this.#scheduleNotify();
      if (event.from === Role.Leader && event.to !== Role.Leader) this.#metrics?.clearLag('leader');
      if (event.from === Role.Replica && event.to !== Role.Replica) {
        this.#metrics?.clearLag('replica');
      }
      this.#reportChange();
    });
    this.#lastChangeKey = this.#changeKey();
  }

  /** The inbox the handle pushes into. */
  get inbox(): RuntimeInbox {
    return this.#inbox;
  }

  get started(): boolean {
    return this.#started;
  }

  /** True once the loop has really ended (not merely been asked to). */
  get ended(): boolean {
    return this.#ended;
  }

  /** False once the task ended: it no longer references the dispatcher. */
  get holdsDispatcher(): boolean {
    return this.#dispatcher !== null;
  }

  /** Resolves when the loop has ended. */
  get done(): Promise<void> {
    return this.#done;
  }

  /** Starts the loop; the first tick comes one heartbeat period from now. */
  start(): void {
    if (this.#started || this.#ended) throw new Error('replication runtime: started twice');
    this.#started = true;
    this.#scheduleTick();
    void this.#run();
  }

  /**
   * Asks the loop to stop after the graceful Idle transition; resolves once it ended. Never
   * blocked by a full inbox (the request then bypasses the lane) and never hangs: after
   * `CANCEL_GRACE_MS` the loop is aborted wherever it is waiting.
   */
  shutdown(): Promise<void> {
    if (this.#ended) return this.#done;
    if (!this.#started) {
      this.#finish();
      return this.#done;
    }
    if (!this.#shutdownRequested) {
      this.#shutdownRequested = true;
      // In the lane, Shutdown is ordered after the responses already queued. With the lane full
      // it cannot be queued: the flag then stops the loop as soon as the lane is drained.
      this.#inbox.tryPush(SHUTDOWN);
      this.#graceTimer = this.#clock.setTimer(CANCEL_GRACE_MS, () => this.abort());
      this.#wakeUp();
    }
    return this.#done;
  }

  /** Stops the loop at its current await, without the graceful Idle transition. */
  abort(): void {
    if (this.#ended) return;
    if (!this.#started) {
      this.#finish();
      return;
    }
    this.#aborted = true;
    for (const reject of [...this.#pendingIo]) reject(ABORTED);
    this.#pendingIo.clear();
    this.#wakeUp();
  }

  /** Leader: announce new appends to every peer soon (one heartbeat each, coalesced). */
  notifyAppended(): void {
    if (this.coordinator.role === Role.Leader) this.#scheduleNotify();
  }

  waitForReplicas(seq: number, options?: WaitOptions): Promise<void> {
    return this.progress.wait(seq, options);
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

  // ─── the loop ──────────────────────────────────────────────────────────────────────────────

  async #run(): Promise<void> {
    try {
      while (!this.#aborted) {
        const urgent = this.#inbox.popPriority();
        if (urgent !== undefined) {
          if (urgent.kind === 'shutdown') break;
          await this.#step(() => this.onInbound(urgent));
          continue;
        }
        if (this.#shutdownRequested) break;
        if (this.#tickDue) {
          this.#tickDue = false;
          await this.#step(() => this.onTick());
          continue;
        }
        if (this.#notifyDue) {
          this.#notifyDue = false;
          await this.#step(() => this.#perform(announceAppends(this.#state, this.#view())));
          continue;
        }
        const event = this.#inbox.popNormal();
        if (event !== undefined) {
          if (event.kind === 'shutdown') break;
          await this.#step(() => this.onInbound(event));
          continue;
        }
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
      }
      if (!this.#aborted) {
        await this.#io(
          this.coordinator.transitionTo(Role.Idle, TransitionSignal.ChannelClose),
        ).catch((error: unknown) => {
          if (error === ABORTED) throw error;
        });
      }
    } catch (error) {
      if (error !== ABORTED) this.#recordError(error);
    } finally {
      this.#finish();
    }
  }

  async #step(run: () => Promise<void>): Promise<void> {
    try {
      await run();
    } catch (error) {
      if (error === ABORTED) throw error;
      this.#recordError(error);
    }
    this.#reportChange();
  }

  #recordError(error: unknown): void {
    this.stats.stepErrors++;
    this.lastError = error;
  }

  #wakeUp(): void {
    const wake = this.#wake;
    if (wake !== null) {
      this.#wake = null;
      wake();
    }
  }

  /**
   * Every await on the outside world goes through here, so an abort can interrupt it. (Not
   * `Promise.race` with one abort promise: each race would leave a reaction on it for the
   * runtime's whole life.)
   */
  #io<T>(promise: Promise<T>): Promise<T> {
    if (!this.#started) return promise;
    if (this.#aborted) return Promise.reject(ABORTED);
    return new Promise<T>((resolve, reject) => {
      const pending = this.#pendingIo;
      pending.add(reject);
      promise.then(
        (value) => {
          pending.delete(reject);
          resolve(value);
        },
        (error: unknown) => {
          pending.delete(reject);
          reject(error);
        },
      );
    });
  }

  #scheduleTick(): void {
    this.#tickTimer = this.#clock.setTimer(this.heartbeatMs, () => {
      // Rescheduled from the timer, not from the step, so the period does not drift; a tick
      // that falls due while one is pending is merged into it.
      this.#scheduleTick();
      this.#tickDue = true;
      this.#wakeUp();
    });
  }

  #scheduleNotify(): void {
    if (!this.#started || this.#ended || this.#notifyTimer !== null) return;
    this.#notifyTimer = this.#clock.setTimer(APPEND_NOTIFY_DELAY_MS, () => {
      this.#notifyTimer = null;
      this.#notifyDue = true;
      this.#wakeUp();
    });
  }

  #finish(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#tickTimer?.cancel();
    this.#notifyTimer?.cancel();
    this.#graceTimer?.cancel();
    this.#tickTimer = null;
    this.#notifyTimer = null;
    this.#graceTimer = null;
    this.#unsubscribeRole();
    this.#state.parked.clear();
    this.#state.awaitingRequest.clear();
    this.#inbox.close();
    this.progress.close(new ClosedError(`the replication of ${JSON.stringify(this.channelName)}`));
    this.#dispatcher = null;
    this.#reportChange();
    this.#listeners.clear();
    this.#resolveDone();
  }

  #changeKey(): string {
    const role = this.coordinator.role;
    const leader = role === Role.Leader ? this.selfId : this.tracker.believedLeader;
    return `${role}|${leader}|${this.#file.nextSeq}|${this.#confirmedVersion}|${this.#ended}`;
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
        this.#recordError(error);
      }
    }
  }

  /** Fresh inputs of a step function. */
  #view(): StepView {
    return { role: this.coordinator.role, tailSeq: this.#file.nextSeq, nowMs: this.#clock.nowMs() };
  }

  // ─── steps ─────────────────────────────────────────────────────────────────────────────────

  /** One heartbeat period. Public so tests can drive it step by step. */
  async onTick(): Promise<void> {
    if (this.#ended) return;
    const now = this.#clock.nowMs();
    await this.#perform(beginTick(this.#state, this.#view()));
    // Role, tracker and tail are read in one synchronous stretch; the tick's time is its start.
    await this.#perform(finishTick(this.#state, { ...this.#view(), nowMs: now }));
  }

  /** One message from a peer. Public so tests can drive it directly. */
  async onInbound(event: InboundMessage): Promise<void> {
    if (this.#ended) return;
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
        return skipped === null ? NO_EFFECTS : afterSkip(state, effect.then, this.#view());
      }
      case 'transition': {
        const moved = await this.#transition(effect.target, effect.signal);
        if (effect.then === null) return NO_EFFECTS;
        return afterTransition(state, effect.then, moved, this.#view());
      }
      case 'disk-pressure':
        await this.#io(
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
        return NO_EFFECTS;
      }
      case 'record-tail':
        this.coordinator.recordTailSeq(effect.tailSeq);
        return NO_EFFECTS;
      case 'metric':
        this.#recordMetric(effect.metric);
        return NO_EFFECTS;
    }
  }

  #recordMetric(metric: MetricEffect): void {
    const metrics = this.#metrics;
    if (metrics === undefined) return;
    switch (metric.name) {
      case 'replica-confirmed-tail':
        return metrics.replicaConfirmedTail(metric.peer, metric.tailSeq, metric.localTail);
      case 'skip-ahead':
        return metrics.skipAhead();
      case 'sync-bytes':
        return metrics.syncBytes(metric.bytes);
      case 'tail':
        return metrics.tailSeq(metric.tailSeq);
      case 'lag':
        return metrics.recordLag(metric.role, metric.lagMs);
    }
  }

  /** A log operation through the abort race; null (counted) when the file itself failed. */
  async #fileOp<T>(run: () => Promise<T>): Promise<T | null> {
    try {
      return await this.#io(run());
    } catch (error) {
      if (error === ABORTED) throw error;
      this.stats.fileErrors++;
      return null;
    }
  }

  /** True when the role moved (including a TagSinkError: the role changed, the tag did not). */
  async #transition(target: Role, signal: TransitionSignal): Promise<boolean> {
    try {
      await this.#io(this.coordinator.transitionTo(target, signal));
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
          await this.#io(dispatcher.sendHeartbeat(target, message));
          this.stats.heartbeatsOut++;
          break;
        case 'request':
          await this.#io(dispatcher.sendSyncRequest(target, message));
          this.stats.requestsOut++;
          break;
        case 'response':
          await this.#io(dispatcher.sendSyncResponse(target, message));
          this.stats.responsesOut++;
          break;
        case 'nack':
          await this.#io(dispatcher.sendSyncNack(target, message));
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
    this.coordinator.assertInvariants();
    this.#inbox.assertInvariants();
    const { parked, awaitingRequest, peers } = this.#state;
    for (const peer of [...parked.keys(), ...awaitingRequest]) {
      if (!peers.includes(peer)) throw new Error('runtime: long-poll state for a non-peer');
    }
    if (this.#ended) {
      if (parked.size > 0 || awaitingRequest.size > 0) {
        throw new Error('runtime: ended with long-poll state');
      }
      if (this.#tickTimer !== null || this.#notifyTimer !== null || this.#graceTimer !== null) {
        throw new Error('runtime: ended with a live timer');
      }
      if (this.#dispatcher !== null) throw new Error('runtime: ended but holds the dispatcher');
      if (!this.#inbox.closed) throw new Error('runtime: ended with an open inbox');
    }
  }
}
