// The replication runtime of one channel: performs what the pure step decides. The step
// functions (step.ts, step-serve.ts, step-apply.ts, step-tick.ts) read its `ChannelState` and
// return effects; this class runs them in order through the channel's log, the coordinator and
// the dispatcher, and feeds each outcome to the step's next decision. The loop, its timers and
// the lifecycle are `RuntimeLoop`'s (runtime-loop.ts); sending is `RuntimeSender`'s
// (runtime-send.ts); quorum effects are performed in runtime-quorum.ts; the change listeners and
// metrics observation live in runtime-observers.ts; options and their checks in
// runtime-options.ts. Also owns the channel's snapshot for observers.
// Called by: the handle (`handle.ts`), which the router and the `Redex` integration hold.

import { ClosedError } from '../log/errors.js';
import type { Clock } from '../time/clock.js';
import type { Random } from '../time/random.js';
import { channelIdToHex } from '../wire/ids.js';
import { type ChannelId, type NodeId, Role } from '../wire/types.js';
import { CatchupBackoff } from './backoff.js';
import {
  createBeatState,
  heartbeatSent,
  markBusy,
  quietHeartbeat,
  quietTick,
  quietUntilMs,
  refreshLiveness,
  settleTick,
} from './beat-liveness.js';
import type { BandwidthBudget } from './budget.js';
import {
  type ApplyResult,
  applySyncResponse,
  type CatchupSource,
  handleSyncRequest,
} from './catchup.js';
import { buildSnapshot, type ChangeListener, type ChannelSnapshot } from './channel-snapshot.js';
import { CommitWaiters } from './commit-waiters.js';
import { silenceMsOf, syncClassOf } from './config.js';
import { type ReplicationCoordinator, TagSinkError } from './coordinator.js';
import { handleDiskPressure } from './disk-pressure.js';
import { HeartbeatTracker } from './heartbeat-tracker.js';
import type { InboundMessage } from './inbox.js';
import type { ChannelMetrics } from './metrics.js';
import { OutstandingRequests } from './outstanding.js';
import { CatchupPipeline } from './pipeline.js';
import { ReplicaProgress, type WaitOptions } from './progress.js';
import { ChannelQuorum } from './quorum/channel-quorum.js';
import { TransitionSignal } from './roles.js';
import { ABORTED, RuntimeLoop } from './runtime-loop.js';
import { ChangeListeners, observeQuorum, recordMetric } from './runtime-observers.js';
import {
  checkRuntimeOptions,
  type QuorumPersistence,
  type RuntimeFile,
  type RuntimeOptions,
  volatileQuorumStart,
} from './runtime-options.js';
import { performQuorumEffect, type QuorumEffectHost } from './runtime-quorum.js';
import { RuntimeSender } from './runtime-send.js';
import { emptyStats, type RuntimeStats } from './runtime-stats.js';
import { TransferRequests, type TransferResult } from './runtime-transfer.js';
import { afterSkip, onInbound } from './step.js';
import { afterApply } from './step-apply.js';
import { quorumRoleOf, startTransfer } from './step-quorum.js';
import { afterRespond, afterServeRead, announceAppends } from './step-serve.js';
import type { ChannelState, StepEffect, StepView } from './step-state.js';
import { NO_EFFECTS } from './step-state.js';
import { beginTick, finishTick, standCheck } from './step-tick.js';
import { peersOf } from './tick.js';

export {
  type QuorumPersistence,
  type QuorumStart,
  type RuntimeFile,
  type RuntimeOptions,
  volatileQuorumStart,
} from './runtime-options.js';

/**
 * What the leader serves from: the file, ending where its shippable events end. A class, so that
 * every channel's source shares one hidden class (an object literal with getters gets its own).
 */
class ShipSource implements CatchupSource {
  readonly #file: RuntimeFile;

  constructor(file: RuntimeFile) {
    this.#file = file;
  }

  get nextSeq(): number {
    return this.#file.shipNextSeq ?? this.#file.nextSeq;
  }

  get firstSeq(): number | null {
    const file = this.#file;
    return file.shipFirstSeq === undefined ? file.firstSeq : file.shipFirstSeq;
  }

  readRangeLimited(start: number, end: number, maxBytes: number, overhead: number) {
    return this.#file.readRangeLimited(start, end, maxBytes, overhead);
  }
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
  readonly pipeline = new CatchupPipeline();
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
  /** What the leader serves from: the file, ending where its shippable events end. */
  readonly #shipSource: CatchupSource;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #metrics: ChannelMetrics | undefined;
  // Holds the dispatcher until the task ends, so a dropped runtime does not keep the mesh reachable.
  readonly #sender: RuntimeSender;
  readonly #quorumHost: QuorumEffectHost;
  readonly #unsubscribeRole: () => void;
  readonly #changes: ChangeListeners;
  readonly #transfers: TransferRequests;

  constructor(options: RuntimeOptions) {
    const name = options.channelName ?? channelIdToHex(options.channelId);
    super(
      options.clock,
      options.coordinator.config.heartbeatMs,
      JSON.stringify(name),
      options.ticks,
    );
    checkRuntimeOptions(options);
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
    this.#shipSource = new ShipSource(options.file);
    this.#clock = options.clock;
    this.#random = options.random;
    this.#metrics = options.metrics;
    this.tracker = new HeartbeatTracker(options.selfId, config);
    this.progress = new ReplicaProgress(this.channelName, options.clock, peers);
    const start = options.quorum ?? volatileQuorumStart();
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
    this.#transfers = new TransferRequests(this.channelName, silenceMsOf(config));
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
      pipeline: this.pipeline,
      backoff: this.backoff,
      budget: this.budget,
      stats: this.stats,
      quorum: this.quorum,
      parked: new Map(),
      shipped: new Map(),
      awaitingRequest: new Set(),
      commitTold: new Map(),
      beats: options.beats === undefined ? null : createBeatState(options.beats),
      elections: options.elections ?? null,
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
      this.#changes.report();
    });
    this.#changes = new ChangeListeners(
      () => this.#changeFacts(),
      (error) => this.stepFailed(error),
    );
    this.#sender = new RuntimeSender({
      channelId: this.channelId,
      dispatcher: options.dispatcher,
      stats: this.stats,
      io: (promise) => this.io(promise),
      random: options.random,
      clock: options.clock,
      quorum: this.quorum,
      file: options.file,
      outstanding: this.outstanding,
    });
    this.#quorumHost = this.#makeQuorumHost(start.persistence, options.onCommit);
  }

  #makeQuorumHost(
    persistence: QuorumPersistence,
    onCommit: (() => void) | undefined,
  ): QuorumEffectHost {
    return {
      channelId: this.channelId,
      coordinator: this.coordinator,
      commits: this.commits,
      stats: this.stats,
      state: this.#state,
      file: this.#file,
      persistence,
      sender: this.#sender,
      io: (promise) => this.io(promise),
      view: () => this.#view(),
      transition: (target, signal) => this.#transition(target, signal),
      scheduleNotify: () => this.scheduleNotify(),
      committed: () => {
        this.#changes.confirmedChanged();
        onCommit?.();
      },
    };
  }

  /** False once the task ended: it no longer references the dispatcher. */
  get holdsDispatcher(): boolean {
    return this.#sender.holdsDispatcher;
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

  /**
   * True while this node leads and can take appends for `epoch` (the current one): not during a
   * leadership transfer, whose target must catch up with a log that no longer grows.
   */
  leads(epoch = this.quorum.epoch): boolean {
    return this.#leadsEpoch(epoch) && this.quorum.transferTarget === null;
  }

  /** Leader of `epoch`, transfer or not: acknowledgements of its appends may still come. */
  #leadsEpoch(epoch: number): boolean {
    return (
      !this.ended &&
      this.coordinator.role === Role.Leader &&
      this.quorum.leader === this.selfId &&
      this.quorum.epoch === epoch
    );
  }

  /**
   * Leader: hands the leadership to `target` (another member). Appends are refused with
   * NOT_LEADER meanwhile. Resolves once `target` leads a later epoch; rejects with
   * TRANSFER_FAILED when refused, when another node won, or when the target did not take over
   * within the silence window (this node then leads again).
   */
  transferLeadership(target: NodeId): Promise<TransferResult> {
    if (this.#transfers.pending) return this.#transfers.request(target);
    const result = this.#transfers.request(target);
    const queued = this.runLocalStep(async () => {
      markBusy(this.#state);
      const view = this.#view();
      // A channel that slept has its peers' times as of its last read: the transfer weighs them.
      refreshLiveness(this.#state, view);
      const { effects, refusal } = startTransfer(this.#state, target, view);
      this.#transfers.began(this.quorum.epoch, view.nowMs, refusal);
      await this.#perform(effects);
    });
    if (!queued) this.#transfers.close();
    return result;
  }

  #ackView() {
    const progress = this.progress;
    return {
      epoch: this.quorum.epoch,
      leading: this.#leadsEpoch(this.quorum.epoch),
      commitSeq: this.quorum.commitSeq,
      holding: (seq: number) => progress.holding(seq),
      replicaCount: progress.peerCount,
    };
  }

  /** The channel's replication state now, as a plain frozen object. */
  snapshot(): ChannelSnapshot {
    // A sleeping channel brings its peers' times up to their node beats when they are read.
    if (this.parked && !this.ended) refreshLiveness(this.#state, this.#view());
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
    return this.#changes.add(listener);
  }

  #changeFacts() {
    const role = this.coordinator.role;
    return {
      role,
      leader: role === Role.Leader ? this.selfId : this.tracker.believedLeader,
      tailSeq: this.#file.nextSeq,
      ended: this.ended,
      epoch: this.quorum.epoch,
      commitSeq: this.quorum.commitSeq,
    };
  }

  protected override async onAnnounce(): Promise<void> {
    markBusy(this.#state);
    const view = this.#view();
    refreshLiveness(this.#state, view);
    await this.#perform(announceAppends(this.#state, view));
  }

  protected override closeGracefully(): Promise<void> {
    return this.coordinator.transitionTo(Role.Idle, TransitionSignal.ChannelClose).then(() => {});
  }

  protected override stepFailed(error: unknown): void {
    this.stats.stepErrors++;
    this.lastError = error;
  }

  protected override afterStep(): void {
    observeQuorum(this.#metrics, this.quorum);
    if (this.#transfers.pending) {
      this.#transfers.observe({
        epoch: this.quorum.epoch,
        leader: this.quorum.leader,
        leading: this.coordinator.role === Role.Leader,
        transferTarget: this.quorum.transferTarget,
        nowMs: this.#clock.nowMs(),
      });
    }
    this.#changes.report();
  }

  protected override released(): void {
    this.#unsubscribeRole();
    this.#state.parked.clear();
    this.#state.shipped.clear();
    this.#state.awaitingRequest.clear();
    this.#state.commitTold.clear();
    const closed = new ClosedError(`the replication of ${JSON.stringify(this.channelName)}`);
    this.progress.close(closed);
    // Acknowledgements still waiting never come from this runtime: their outcome is unknown.
    this.commits.update();
    this.commits.close(closed);
    this.#transfers.close();
    this.#sender.release();
    this.#changes.report();
    this.#changes.clear();
  }

  /** Fresh inputs of a step function. */
  #view(): StepView {
    const role = this.coordinator.role;
    const tailSeq = this.#file.nextSeq;
    const writtenTailSeq = role === Role.Leader ? (this.#file.shipNextSeq ?? tailSeq) : tailSeq;
    return { role, tailSeq, writtenTailSeq, nowMs: this.#clock.nowMs() };
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
    settleTick(this.#state, this.#view());
    this.#armStandCheck();
  }

  /**
   * A heartbeat identical to the last one from its sender, while nothing is due: taken at once as
   * liveness (beat-liveness.ts), without a step. False: queue it as usual.
   */
  quietInbound(event: InboundMessage): boolean {
    if (!this.parked || this.ended || this.#state.beats === null) return false;
    try {
      const view = this.#view();
      if (!quietHeartbeat(this.#state, event, view)) return false;
      // The peer's cover starts again: a sleep that would end with the old one is made longer.
      this.sleepTicksUntil(quietUntilMs(this.#state, view.nowMs));
      return true;
    } catch {
      return false; // the full step will meet (and count) whatever threw
    }
  }

  /**
   * A tick with nothing due: liveness, due refreshes and the lag gauge only; then the time until
   * which the channel's ticks may sleep (beat-liveness.ts).
   */
  protected override quietTick(): number | null {
    if (this.ended || this.#state.beats === null) return null;
    const nowMs = this.#clock.nowMs();
    const effects = quietTick(this.#state, this.#view());
    if (effects === null) return null;
    this.#state.stats.ticks++;
    for (const effect of effects) {
      if (effect.kind === 'metric' && this.#metrics !== undefined) {
        recordMetric(this.#metrics, effect.metric);
      } else if (effect.kind === 'send' && effect.message.kind === 'heartbeat') {
        // A refresh: recorded as sent, then queued in the dispatcher (never awaited here).
        heartbeatSent(this.#state, effect.to, effect.message, this.#clock.nowMs());
        this.#sender.sendHeartbeatNow(effect.to, effect.message);
      }
    }
    return quietUntilMs(this.#state, nowMs);
  }

  /**
   * Also checks for a silent leader once the first silence window after the start has passed:
   * on a shared tick grid the next beat may come up to a period later.
   */
  override start(): void {
    super.start();
    this.scheduleStandCheck(this.#clock.nowMs() + this.quorum.silenceMs);
  }

  /** A replica whose turn to stand comes before the next tick: stand then, not at the tick. */
  protected override async onStandCheck(): Promise<void> {
    if (this.ended) return;
    markBusy(this.#state);
    const jitterMs = this.#random.nextInt(this.coordinator.config.heartbeatMs);
    await this.#perform(standCheck(this.#state, { ...this.#view(), jitterMs }));
    this.#armStandCheck();
  }

  #armStandCheck(): void {
    const at = this.quorum.standAtMs;
    if (at !== null && at > this.#clock.nowMs() && this.coordinator.role === Role.Replica) {
      this.scheduleStandCheck(at);
    }
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
        if (effect.message.kind === 'heartbeat') {
          heartbeatSent(state, effect.to, effect.message, this.#clock.nowMs());
        }
        await this.#sender.send(effect.to, effect.message);
        return NO_EFFECTS;
      case 'request':
        await this.#sender.sendRequest(effect.to, effect);
        return NO_EFFECTS;
      case 'serve': {
        const outcome = await this.#fileOp(() =>
          handleSyncRequest(this.#shipSource, effect.request, this.channelId),
        );
        return outcome === null ? NO_EFFECTS : afterServeRead(state, effect, outcome, this.#view());
      }
      case 'respond':
        return afterRespond(state, effect, await this.#sender.send(effect.to, effect.response));
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
        return performQuorumEffect(this.#quorumHost, effect.effect);
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
        if (this.progress.confirmedTail(effect.peer) !== before) this.#changes.confirmedChanged();
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

  assertInvariants(): void {
    this.tracker.assertInvariants();
    this.backoff.assertInvariants();
    this.outstanding.assertInvariants();
    this.pipeline.assertInvariants();
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
      if (this.#sender.holdsDispatcher) throw new Error('runtime: ended but holds the dispatcher');
    }
  }
}
