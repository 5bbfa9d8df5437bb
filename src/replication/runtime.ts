// The replication runtime of one channel (the seed's `spawn_replication_runtime` task, REDEX.md §6
// "Runtime"): a thin async shell that feeds the pure pieces — `tick`, the election, the tracker,
// `handleSyncRequest` / `applySyncResponse`, the budget, the backoff, the token registry — and
// performs what they decide through the `ReplicationDispatcher` and the channel's log.
//
// Owns: one loop per channel, driven by the injected Clock (tick timer) and its inbox. Each turn
// takes, in this order: a priority event (Shutdown, SyncResponse, SyncNack), a due tick, a due
// append notification, a normal event (Heartbeat, SyncRequest). Steps never overlap, so the role
// read, the tracker and the send decisions of a step are consistent (upstream R-10).
// Called by: the handle (`handle.ts`), which the router and the `Redex` integration hold.
//
// Beyond the seed (REDEX.md §6 "Beyond upstream"):
// - a Replica that never saw a leader counts it silent after three heartbeat periods;
// - catch-up is pipelined: after a productive chunk a replica still behind asks again at once, a
//   Leader heartbeat announcing a higher tail triggers a request at once, a leader announces new
//   appends with one coalesced heartbeat per replica, and a replica reports its new tail to the
//   leader as soon as it caught up; at most one request per leader is in flight (a request
//   younger than one heartbeat period is waited for, so the tick does not duplicate it);
// - long poll: a replica that caught up also sends a request from its new tail, and the leader
//   holds such a request (since = its tail) open instead of answering it empty, then answers it
//   with the next append in place of that replica's announcement. A new event then reaches a
//   caught-up replica in one hop (response) instead of three (announcement, request, response),
//   and costs the leader one socket write per replica instead of two. A held request is answered
//   empty after `PARKED_REQUEST_HOLD_MS`, replaced by the replica's next request, and NACKed
//   NotLeader at the next tick after the leader lost its role. A replica never re-polls after an
//   empty answer, so a leader that answers at once (upstream) costs one extra round trip per
//   productive chunk, never a loop. Nor does a leader announce appends to a replica it just sent
//   events to: that replica's next request (it always sends one) will find them; the tick clears
//   this, so a replica whose request went missing still hears of new appends within a period;
// - the confirmed tail of every peer is tracked for `waitForReplicas` and the metrics;
// - `cancel` never hangs: every await on the outside world races an abort, and a shutdown that
//   has not finished after `CANCEL_GRACE_MS` on the clock aborts.

import { ClosedError, RedexError, RedexErrorCode } from '../log/errors.js';
import type { Clock, TimerHandle } from '../time/clock.js';
import type { Random } from '../time/random.js';
import { channelIdEquals, channelIdToHex, isNodeId } from '../wire/ids.js';
import {
  type ChannelId,
  NackCode,
  type NodeId,
  Role,
  type SyncClass,
  type SyncHeartbeat,
  type SyncNack,
  type SyncRequest,
  type SyncResponse,
} from '../wire/types.js';
import { CATCHUP_BACKOFF_CAP_MS, CatchupBackoff, isEmptyStrike } from './backoff.js';
import type { BandwidthBudget } from './budget.js';
import {
  type ApplyResult,
  applySyncResponse,
  type CatchupSink,
  type CatchupSource,
  handleSyncRequest,
} from './catchup.js';
import { syncClassOf } from './config.js';
import { type ReplicationCoordinator, TagSinkError } from './coordinator.js';
import { handleDiskPressure } from './disk-pressure.js';
import type { ReplicationDispatcher } from './dispatcher.js';
import { electionTransition, electionViewFrom } from './election.js';
import { HeartbeatTracker } from './heartbeat-tracker.js';
import { type InboundMessage, RuntimeInbox, SHUTDOWN } from './inbox.js';
import type { ChannelMetrics } from './metrics.js';
import { OutstandingRequests } from './outstanding.js';
import { ReplicaProgress, type WaitOptions } from './progress.js';
import { TransitionSignal } from './roles.js';
import { emptyStats, InboundDrop, type RuntimeStats } from './runtime-stats.js';
import {
  advertisedTail,
  observeLag,
  peersOf,
  resolveDualLeader,
  SYNC_REQUEST_CHUNK_BYTES,
  shouldYieldLeadership,
  tick,
  yieldQuietMs,
} from './tick.js';

/** A shutdown still running after this long (on the runtime's clock) is aborted. */
export const CANCEL_GRACE_MS = 5_000;
/** Delay of the leader's append announcement: 0 coalesces every append of one event-loop turn. */
export const APPEND_NOTIFY_DELAY_MS = 0;

/**
 * Longest a leader holds a caught-up replica's request open waiting for an append (long poll).
 * Well under the replica's request-token TTL (30 s), so the empty answer still finds its token.
 */
export const PARKED_REQUEST_HOLD_MS = 5_000;

/** The log operations the runtime needs; `RedexFile` fits (the integration routes writes to its internal apply path). */
export interface RuntimeFile extends CatchupSource, CatchupSink {
  skipTo(seq: number): Promise<void>;
  sweepRetention(): Promise<number>;
}

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
  readonly clock: Clock;
  /** Mints request tokens (use a cryptographic source in production: tokens must not be guessable). */
  readonly random: Random;
  readonly budget: BandwidthBudget;
  readonly metrics?: ChannelMetrics;
  /** Default: the coordinator config's heartbeatMs. */
  readonly heartbeatMs?: number;
  /** Default: the coordinator config's defaultClass. */
  readonly defaultClass?: SyncClass;
  /** Default: the coordinator config's backgroundFraction. */
  readonly backgroundFraction?: number;
  /** The local tail (default: the file's nextSeq). The seed's tests inject a constant. */
  readonly tailProvider?: () => number;
  /** The heartbeat's wall-clock field (default: the clock's nowMs). */
  readonly wallClockMs?: () => number;
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

  readonly #members: ReadonlySet<NodeId>;
  readonly #peers: readonly NodeId[];
  readonly #file: RuntimeFile;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #metrics: ChannelMetrics | undefined;
  readonly #defaultClass: SyncClass;
  readonly #backgroundFraction: number;
  readonly #tail: () => number;
  readonly #wallClockMs: () => number;
  readonly #inbox: RuntimeInbox;
  // Released when the task ends, so a dropped runtime does not keep the mesh reachable.
  #dispatcher: ReplicationDispatcher | null;
  /** When this node last started waiting for a leader (entered Replica, or lost its belief). */
  #replicaSinceMs: number | null = null;
  /** Set while this node is quiet after yielding leadership: when to rejoin as a Replica. */
  #rejoinAtMs: number | null = null;
  readonly #unsubscribeRole: () => void;
  // Leader: the open request of each caught-up replica (long poll). Invariant: keys ⊆ #peers;
  // emptied when the loop ends.
  readonly #parked = new Map<NodeId, { readonly request: SyncRequest; readonly atMs: number }>();
  // Leader: replicas sent events whose next request has not come yet. Their next request will
  // find the new appends anyway, so an announcement would only cost a write. Cleared each tick,
  // so a replica whose request went missing hears of new appends within a heartbeat period.
  readonly #awaitingRequest = new Set<NodeId>();

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
    const heartbeatMs = options.heartbeatMs ?? config.heartbeatMs;
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
    this.#members = new Set(options.replicaSet);
    this.#peers = peersOf(options.replicaSet, options.selfId);
    this.#file = options.file;
    this.#clock = options.clock;
    this.#random = options.random;
    this.#metrics = options.metrics;
    this.#dispatcher = options.dispatcher;
    this.#defaultClass = options.defaultClass ?? syncClassOf(config.defaultClass);
    this.#backgroundFraction = options.backgroundFraction ?? config.backgroundFraction;
    const file = options.file;
    this.#tail = options.tailProvider ?? (() => file.nextSeq);
    const clock = options.clock;
    this.#wallClockMs = options.wallClockMs ?? (() => clock.nowMs());
    this.tracker = new HeartbeatTracker(options.selfId, heartbeatMs);
    this.progress = new ReplicaProgress(this.channelName, clock, this.#peers);
    this.#inbox = new RuntimeInbox(JSON.stringify(this.channelName), () => this.#wakeUp());
    this.#done = new Promise<void>((resolve) => {
      this.#resolveDone = resolve;
    });
    if (this.coordinator.role === Role.Replica) this.#replicaSinceMs = clock.nowMs();
    this.#unsubscribeRole = this.coordinator.onRoleChange((event) => {
      if (event.to === Role.Replica) this.#replicaSinceMs = this.#clock.nowMs();
      // A new leader says so at once instead of at its next tick.
      if (event.to === Role.Leader) this.#scheduleNotify();
      if (event.from === Role.Leader && event.to !== Role.Leader) this.#metrics?.clearLag('leader');
      if (event.from === Role.Replica && event.to !== Role.Replica) {
        this.#metrics?.clearLag('replica');
      }
    });
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
      // In the lane, Shutdown is ordered after the responses already queued (as in the seed).
      // With the lane full it cannot be queued: the flag then stops the loop as soon as the
      // lane is drained, still gracefully (the seed aborted instead).
      this.#inbox.tryPush(SHUTDOWN);
      this.#graceTimer = this.#clock.setTimer(CANCEL_GRACE_MS, () => this.abort());
      this.#wakeUp();
    }
    return this.#done;
  }

  /** Stops the loop at its current await, without the graceful Idle transition (the seed's abort). */
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
          await this.#step(() => this.#announceTail());
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
      // that falls due while one is pending is merged into it (tokio's MissedTickBehavior::Skip).
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
    this.#parked.clear();
    this.#awaitingRequest.clear();
    this.#inbox.close();
    this.progress.close(new ClosedError(`the replication of ${JSON.stringify(this.channelName)}`));
    this.#dispatcher = null;
    this.#resolveDone();
  }

  // ─── the tick ──────────────────────────────────────────────────────────────────────────────

  /** One heartbeat period: the seed's `on_tick`. Public so tests can drive it step by step. */
  async onTick(): Promise<void> {
    if (this.#ended) return;
    this.stats.ticks++;
    const now = this.#clock.nowMs();
    this.backoff.gcExpired(now, CATCHUP_BACKOFF_CAP_MS * 2);
    this.outstanding.gcExpired(now);
    await this.#releaseParked(now);
    this.#awaitingRequest.clear();
    const tail = this.#tail();
    // Role, tracker and tail are read in one synchronous stretch.
    const role = this.coordinator.role;
    this.coordinator.recordTailSeq(
      advertisedTail(role, tail, this.tracker.peerTails(), this.selfId),
    );
    this.#metrics?.tailSeq(tail);
    if (role === Role.Idle && this.#rejoinAtMs !== null) {
      if (now < this.#rejoinAtMs) return;
      this.#rejoinAtMs = null;
      this.#clearLeaderBelief(now);
      await this.#transition(Role.Replica, TransitionSignal.CapabilitySelected);
      return;
    }
    if (role === Role.Candidate) {
      // A Candidate left over from an election with nobody eligible retries every tick.
      await this.#elect(now, tail);
      return;
    }
    const out = tick({
      role,
      selfId: this.selfId,
      channelId: this.channelId,
      replicaSet: this.replicaSet,
      tracker: this.tracker,
      tailSeq: tail,
      nowMs: now,
      wallClockMs: this.#wallClockMs(),
      defaultClass: this.#defaultClass,
      replicaSinceMs: this.#replicaSinceMs,
    });
    const lag = observeLag(role, this.replicaSet, this.selfId, this.tracker, now);
    if (lag !== null) this.#metrics?.recordLag(lag.role, lag.lagMs);
    for (const message of out.messages) {
      if (message.kind === 'heartbeat') {
        await this.#send(message.target, message.message);
      } else {
        await this.#requestChunk(message.target, now, true, message.message);
      }
    }
    if (out.transition === null) return;
    const moved = await this.#transition(out.transition.target, out.transition.signal);
    // Run the election in the same tick so the Candidate window stays short.
    if (moved && out.transition.target === Role.Candidate) await this.#elect(now, tail);
  }

  /** Ranks self and the healthy members (election.ts) and takes the outcome's transition. */
  async #elect(now: number, tail: number): Promise<void> {
    this.stats.elections++;
    const view = electionViewFrom(this.tracker, this.selfId, tail, this.replicaSet, now);
    const outcome = electionTransition(view);
    if (outcome === null) return; // nobody eligible: stay Candidate, retry next tick
    const moved = await this.#transition(outcome.target, outcome.signal);
    // Only a transition that happened may clear the belief (§8): had a concurrent close won the
    // race, wiping it would leave nothing to recover from.
    if (moved) this.#clearLeaderBelief(this.#clock.nowMs());
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

  /** Drops the leader belief and the tokens sent to that leader; waiting restarts now. */
  #clearLeaderBelief(now: number): void {
    const prior = this.tracker.clearBelievedLeader();
    if (prior !== null) this.outstanding.clearLeader(prior);
    this.#replicaSinceMs = now;
  }

  /**
   * Leader: the append announcement. A replica with a held request gets the new events as its
   * answer; every other peer gets one heartbeat with the current tail.
   */
  async #announceTail(): Promise<void> {
    if (this.coordinator.role !== Role.Leader) return;
    const tail = this.#tail();
    const message: SyncHeartbeat = {
      kind: 'heartbeat',
      channelId: this.channelId,
      tailSeq: tail,
      role: Role.Leader,
      wallClockMs: this.#wallClockMs(),
    };
    for (const peer of this.#peers) {
      const parked = this.#parked.get(peer);
      if (parked !== undefined && parked.request.sinceSeq < tail) {
        this.#parked.delete(peer);
        this.stats.parkedAnswered++;
        await this.#serveRequest(peer, parked.request);
      } else if (this.#awaitingRequest.has(peer)) {
        this.stats.announcementsSkipped++;
      } else {
        await this.#send(peer, message);
      }
    }
  }

  /**
   * Tick: a leader answers the requests held longer than `PARKED_REQUEST_HOLD_MS` (empty, or
   * with what arrived); a node that is no longer leader NACKs every held request NotLeader.
   */
  async #releaseParked(now: number): Promise<void> {
    if (this.#parked.size === 0) return;
    const leading = this.coordinator.role === Role.Leader;
    for (const [peer, parked] of [...this.#parked]) {
      if (leading && now - parked.atMs < PARKED_REQUEST_HOLD_MS) continue;
      this.#parked.delete(peer);
      this.stats.parkedAnswered++;
      if (leading) await this.#serveRequest(peer, parked.request);
      else await this.#nack(peer, parked.request, NackCode.NotLeader);
    }
  }

  // ─── inbound ───────────────────────────────────────────────────────────────────────────────

  /** One message from a peer: the seed's `on_inbound`. Public so tests can drive it directly. */
  async onInbound(event: InboundMessage): Promise<void> {
    if (this.#ended) return;
    const { from, message } = event;
    // Peer-auth gates first: a non-member must not drive the state machine at all, and a
    // misrouted frame must not touch this channel's tracker or log (R-12, on every type).
    if (from === this.selfId) return this.#drop(InboundDrop.FromSelf);
    if (!this.#members.has(from)) return this.#drop(InboundDrop.NotMember);
    if (!channelIdEquals(message.channelId, this.channelId)) {
      return this.#drop(InboundDrop.ChannelMismatch);
    }
    const now = this.#clock.nowMs();
    switch (message.kind) {
      case 'heartbeat':
        return this.#onHeartbeat(from, message, now);
      case 'request':
        return this.#onRequest(from, message);
      case 'response':
        return this.#onResponse(from, message, now);
      case 'nack':
        return this.#onNack(from, message, now);
    }
  }

  #drop(reason: InboundDrop): void {
    this.stats.drops[reason]++;
  }

  async #onHeartbeat(from: NodeId, message: SyncHeartbeat, now: number): Promise<void> {
    this.stats.heartbeatsIn++;
    this.tracker.recordHeartbeat(from, message.role, message.tailSeq, now);
    this.progress.observe(from, message.tailSeq);
    if (this.coordinator.role === Role.Leader) {
      const localTail = this.#tail();
      this.#metrics?.replicaConfirmedTail(from, message.tailSeq, localTail);
      if (message.role === Role.Leader) {
        // Two leaders met (partition heal): the higher tail keeps it, then the lower NodeId.
        const concession = resolveDualLeader(this.selfId, localTail, from, message.tailSeq);
        if (concession !== null) {
          await this.#transition(concession.target, concession.signal);
        } else if (this.tracker.believedLeader === from) {
          // We keep leading: the tracker adopted the loser's claim, which must not outlive it.
          this.#clearLeaderBelief(now);
        }
      } else if (
        this.replicaSet.includes(from) &&
        shouldYieldLeadership(localTail, message.role, message.tailSeq)
      ) {
        // Outranked by a member holding more: go quiet so the others elect it (tick.ts).
        if (await this.#transition(Role.Idle, TransitionSignal.GracefulRelinquish)) {
          this.stats.yields++;
          this.#rejoinAtMs =
            now + yieldQuietMs(this.tracker.heartbeatMs, this.tracker.missThreshold);
        }
      }
    }
    // Prompt catch-up: the believed leader announced more than we hold.
    if (
      this.coordinator.role === Role.Replica &&
      this.tracker.believedLeader === from &&
      message.tailSeq > this.#tail()
    ) {
      await this.#requestChunk(from, now, true);
    }
  }

  async #onRequest(from: NodeId, request: SyncRequest): Promise<void> {
    this.stats.requestsIn++;
    // Asking from N means holding everything below N.
    this.progress.observe(from, request.sinceSeq);
    if (this.coordinator.role !== Role.Leader) {
      await this.#nack(from, request, NackCode.NotLeader);
      return;
    }
    // A newer request from the same replica supersedes its held one (whose token just expires).
    this.#parked.delete(from);
    this.#awaitingRequest.delete(from);
    if (request.sinceSeq === this.#tail()) {
      // Caught up: hold the request open and answer it with the next append (long poll).
      this.#parked.set(from, { request, atMs: this.#clock.nowMs() });
      this.stats.requestsParked++;
      return;
    }
    await this.#serveRequest(from, request);
  }

  /** Leader: answers `request` — a chunk from since, a NACK, or nothing (budget, role). */
  async #serveRequest(from: NodeId, request: SyncRequest): Promise<void> {
    let outcome: Awaited<ReturnType<typeof handleSyncRequest>>;
    try {
      outcome = await this.#io(handleSyncRequest(this.#file, request, this.channelId));
    } catch (error) {
      if (error === ABORTED) throw error;
      this.stats.fileErrors++;
      return;
    }
    if (outcome.kind === 'drop') return this.#drop(InboundDrop.ChannelMismatch);
    if (outcome.kind === 'nack') {
      await this.#send(from, outcome.nack);
      return;
    }
    const cost = outcome.costBytes;
    const now = this.#clock.nowMs();
    if (!this.budget.tryConsume(cost, request.syncClass, now, this.#backgroundFraction)) {
      await this.#nack(from, request, NackCode.Backpressure);
      return;
    }
    // Re-check the role after the read and the budget: a leader that lost its role in the
    // meantime must not ship data. Nothing is sent, so the budget gets its bytes back.
    if (this.coordinator.role !== Role.Leader) {
      this.budget.refund(cost);
      await this.#nack(from, request, NackCode.NotLeader);
      return;
    }
    this.#metrics?.syncBytes(cost);
    if (!(await this.#send(from, outcome.response))) {
      this.budget.refund(cost);
    } else if (outcome.response.events.length > 0) {
      this.#awaitingRequest.add(from);
    }
  }

  async #onResponse(from: NodeId, response: SyncResponse, now: number): Promise<void> {
    this.stats.responsesIn++;
    // The token is consumed before the other gates, so a response dropped below still frees its
    // entry instead of sitting there until the TTL.
    if (!this.outstanding.take(from, response.requestId, now)) {
      return this.#drop(InboundDrop.UnknownToken);
    }
    // Only the leader we follow may write into our log.
    if (this.tracker.believedLeader !== from) return this.#drop(InboundDrop.NotBelievedLeader);
    if (this.coordinator.role !== Role.Replica) return this.#drop(InboundDrop.WrongRole);
    const before = this.#file.nextSeq;
    let result = await this.#apply(response);
    if (result === null) return;
    if (!result.ok && result.error.kind === 'GapBeforeChunk') {
      // The leader trimmed past our tail: skip ahead to its first seq and apply again.
      this.stats.skipAheads++;
      this.#metrics?.skipAhead();
      if (result.error.divergenceSuspected) this.stats.divergenceSuspected++;
      try {
        await this.#io(this.#file.skipTo(result.error.firstSeq));
      } catch (error) {
        if (error === ABORTED) throw error;
        this.stats.fileErrors++;
        return;
      }
      result = await this.#apply(response);
      if (result === null) return;
    }
    if (!result.ok) {
      const kind = result.error.kind;
      if (kind === 'AppendFailed') {
        this.stats.diskPressure++;
        await this.#io(
          handleDiskPressure({
            coordinator: this.coordinator,
            file: this.#file,
            metrics: this.#metrics,
          }),
        );
      } else if (kind === 'StaleChunk') {
        this.stats.staleChunks++;
      } else {
        this.stats.applyErrors++;
      }
      return;
    }
    const newTail = result.newTail;
    this.coordinator.recordTailSeq(newTail);
    this.#metrics?.tailSeq(newTail);
    if (newTail > before) {
      this.backoff.recordProgress(from);
      this.stats.chunksApplied++;
      this.stats.eventsApplied += result.applied;
      await this.#afterProgress(from, newTail);
    } else {
      this.stats.emptyResponses++;
      if (isEmptyStrike(this.tracker, from, newTail, this.#clock.nowMs())) {
        this.backoff.recordEmpty(from, this.#clock.nowMs());
      }
    }
  }

  /** `applySyncResponse` through the abort race; null when the file itself failed (closed). */
  async #apply(response: SyncResponse): Promise<ApplyResult | null> {
    try {
      return await this.#io(applySyncResponse(this.#file, response, this.channelId));
    } catch (error) {
      if (error === ABORTED) throw error;
      this.stats.fileErrors++;
      return null;
    }
  }

  /** After our tail advanced: ask for the next chunk at once, or tell the leader we caught up. */
  async #afterProgress(leader: NodeId, newTail: number): Promise<void> {
    if (this.coordinator.role !== Role.Replica) return;
    const claimed = this.tracker.peer(leader)?.tailSeq ?? 0;
    if (claimed > newTail) {
      // The next request's since_seq tells the leader our tail as well.
      await this.#requestChunk(leader, this.#clock.nowMs(), false);
      return;
    }
    await this.#send(leader, {
      kind: 'heartbeat',
      channelId: this.channelId,
      tailSeq: newTail,
      role: Role.Replica,
      wallClockMs: this.#wallClockMs(),
    });
    // Long poll: the leader holds this request and answers it with its next append.
    await this.#requestChunk(leader, this.#clock.nowMs(), false);
  }

  async #onNack(from: NodeId, nack: SyncNack, now: number): Promise<void> {
    this.stats.nacksIn++;
    // Only the believed leader may NACK: a BadRange from anyone else could skip our tail past
    // events still on their way, a NotLeader could make us drop a healthy leader.
    if (this.tracker.believedLeader !== from) return this.#drop(InboundDrop.NotBelievedLeader);
    // A stale BadRange must not destroy data on a retry: it needs a live token.
    if (!this.outstanding.take(from, nack.requestId, now)) {
      return this.#drop(InboundDrop.UnknownToken);
    }
    switch (nack.errorCode) {
      case NackCode.NotLeader:
        // re-resolve through heartbeats instead of asking the stale leader until it times out.
        this.#clearLeaderBelief(now);
        return;
      case NackCode.BadRange: {
        // jump straight to the leader's first retained seq; since+1 only when it sent none.
        this.stats.skipAheads++;
        this.#metrics?.skipAhead();
        const before = this.#file.nextSeq;
        try {
          await this.#io(this.#file.skipTo(badRangeSkipTarget(nack)));
        } catch (error) {
          if (error === ABORTED) throw error;
          this.stats.fileErrors++;
          return;
        }
        const after = this.#file.nextSeq;
        if (after > before) await this.#afterProgress(from, after);
        return;
      }
      case NackCode.Backpressure:
        return; // the next tick asks again
      case NackCode.ChannelClosed:
        // ChannelClose is legal from every role, so a role flip since the request cannot strand it.
        await this.#transition(Role.Idle, TransitionSignal.ChannelClose);
        return;
    }
  }

  // ─── outbound ──────────────────────────────────────────────────────────────────────────────

  /**
   * Sends a SyncRequest from our tail to `leader` with a fresh token, unless the leader is in
   * backoff or (with `checkInFlight`) a request to it is younger than one heartbeat period.
   */
  async #requestChunk(
    leader: NodeId,
    now: number,
    checkInFlight: boolean,
    template?: SyncRequest,
  ): Promise<void> {
    if (leader === this.selfId) return; // never a request to self
    if (this.backoff.isInBackoff(leader, now)) {
      this.stats.backoffSkips++;
      return;
    }
    if (checkInFlight) {
      const newest = this.outstanding.newestSentMs(leader, now);
      if (newest !== null && now - newest < this.heartbeatMs) {
        this.stats.inFlightSkips++;
        return;
      }
    }
    const token = this.#random.nextU64();
    const request: SyncRequest = {
      kind: 'request',
      channelId: this.channelId,
      sinceSeq: template?.sinceSeq ?? this.#tail(),
      chunkMax: template?.chunkMax ?? SYNC_REQUEST_CHUNK_BYTES,
      requestId: token,
      syncClass: template?.syncClass ?? this.#defaultClass,
    };
    this.outstanding.record(leader, token, now);
    // A request that never left cannot be answered: free its token at once.
    if (!(await this.#send(leader, request))) this.outstanding.take(leader, token, now);
  }

  #nack(to: NodeId, request: SyncRequest, code: NackCode): Promise<boolean> {
    return this.#send(to, {
      kind: 'nack',
      channelId: this.channelId,
      sinceSeq: request.sinceSeq,
      errorCode: code,
      leaderFirstRetainedSeq: 0,
      requestId: request.requestId,
      detail: '',
    });
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
    for (const peer of [...this.#parked.keys(), ...this.#awaitingRequest]) {
      if (!this.#peers.includes(peer)) throw new Error('runtime: long-poll state for a non-peer');
    }
    if (this.#ended) {
      if (this.#parked.size > 0 || this.#awaitingRequest.size > 0) {
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

/** Where a BadRange NACK sends the replica: the leader's first retained seq, else since + 1. */
export function badRangeSkipTarget(
  nack: Pick<SyncNack, 'sinceSeq' | 'leaderFirstRetainedSeq'>,
): number {
  if (nack.leaderFirstRetainedSeq > 0) return nack.leaderFirstRetainedSeq;
  // Saturating: since_seq at the top of the safe range cannot step past it.
  return Math.min(nack.sinceSeq + 1, Number.MAX_SAFE_INTEGER);
}
