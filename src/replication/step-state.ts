// The state and the vocabulary of the pure replication step: what one channel's decisions read and
// update (`ChannelState`), what they read fresh from the outside at each call (`StepView`), and
// what they ask the runtime to do (`StepEffect`). The step functions (step.ts, step-serve.ts,
// step-apply.ts, step-tick.ts) mutate only the pure pieces of the state they are given and return
// effects; the runtime performs the effects in order.
//
// An effect whose outcome matters (a file read, an apply, a skip, a transition, a send whose
// failure must be undone) names the pure function the runtime calls with that outcome: `serve` →
// `afterServeRead`, `respond` → `afterRespond`, `apply` → `afterApply`, `skip-to` → `afterSkip`,
// `transition` → `afterTransition`. Their results are performed before the next effect of the list.

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
import type { CatchupBackoff } from './backoff.js';
import type { BeatState } from './beat-liveness.js';
import type { BandwidthBudget } from './budget.js';
import type { HeartbeatTracker } from './heartbeat-tracker.js';
import type { LagRole } from './metrics.js';
import type { OutstandingRequests } from './outstanding.js';
import {
  CATCHUP_CHUNK_BYTES,
  type CatchupPipeline,
  PIPELINE_STALL_HEARTBEATS,
} from './pipeline.js';
import type { ChannelQuorum, QuorumEffect } from './quorum/channel-quorum.js';
import type { ElectionSlots } from './quorum/election-slots.js';
import type { TransitionSignal } from './roles.js';
import type { RuntimeStats } from './runtime-stats.js';
import { SYNC_REQUEST_CHUNK_BYTES } from './tick.js';

/**
 * Longest a leader holds a caught-up replica's request open waiting for an append (long poll).
 * Well under the replica's request-token TTL (30 s), so the empty answer still finds its token.
 */
export const PARKED_REQUEST_HOLD_MS = 5_000;

/**
 * Requests a caught-up replica keeps held at its leader: the first is answered with the next
 * append, the second (its spare) with the append after it, while the replica's next request is
 * still on its way. The leader answers only requests, so this also bounds the frames (each at
 * most the request's `chunk_max`) in flight to one replica while it is caught up.
 */
export const LONG_POLL_DEPTH = 2;

/** A caught-up replica's request the leader holds open (long poll). */
export interface ParkedRequest {
  readonly request: SyncRequest;
  readonly atMs: number;
  /**
   * Where its answer starts: the request's since_seq, or further on when it continues a frame
   * already sent to that replica (a spare moved up, or a request past the replica's tail that
   * asked for events on their way to it).
   */
  sinceSeq: number;
  /** The replica's next held request, answered after this one (at most `LONG_POLL_DEPTH` in all). */
  spare: { readonly request: SyncRequest; readonly atMs: number } | null;
}

/** Leader: where the last frame with events sent to a replica ended, in which epoch. */
export interface ShippedTo {
  epoch: number;
  endSeq: number;
}

/** One channel's decision state. The runtime owns it; only step functions change it. */
export interface ChannelState {
  readonly selfId: NodeId;
  readonly channelId: ChannelId;
  /** Every member of the replica set, this node included. */
  readonly replicaSet: readonly NodeId[];
  readonly members: ReadonlySet<NodeId>;
  /** The members other than this node, in replica-set order. */
  readonly peers: readonly NodeId[];
  readonly heartbeatMs: number;
  readonly defaultClass: SyncClass;
  readonly backgroundFraction: number;
  readonly tracker: HeartbeatTracker;
  readonly outstanding: OutstandingRequests;
  /** Replica: the catch-up requests kept in flight to the leader (pipeline.ts). */
  readonly pipeline: CatchupPipeline;
  readonly backoff: CatchupBackoff;
  readonly budget: BandwidthBudget;
  readonly stats: RuntimeStats;
  /** Epoch, vote, epoch history, commit and the election in progress (quorum/). */
  readonly quorum: ChannelQuorum;
  /** Leader: the open requests of each caught-up replica (long poll). Keys ⊆ peers. */
  readonly parked: Map<NodeId, ParkedRequest>;
  /**
   * Leader: the end of the last frame with events sent to each replica in this epoch, so a
   * request past the replica's tail that asks for events already on their way is answered from
   * where that frame ends instead of twice. Forgotten when the replica names its tail. Keys ⊆ peers.
   */
  readonly shipped: Map<NodeId, ShippedTo>;
  /**
   * Leader: replicas sent events whose next request has not come yet. Their next request finds
   * the new appends anyway, so an announcement would only cost a write (unless it carries a commit
   * they were not sent: see `commitTold`). Cleared each tick, so a
   * replica whose request went missing hears of new appends within a heartbeat period.
   */
  readonly awaitingRequest: Set<NodeId>;
  /**
   * Leader: the epoch and commit each replica was last sent (in a response or a heartbeat), so an
   * announcement to a replica whose request waits at the tail or is on its way is left out when
   * it would tell it nothing new. Keys ⊆ peers.
   */
  readonly commitTold: Map<NodeId, CommitTold>;
  /** Node beats (beat-liveness.ts): null when the node neither sends nor reads them. */
  readonly beats: BeatState | null;
  /** The node's bound on elections standing at once (quorum/election-slots.ts), or null. */
  readonly elections: ElectionSlots | null;
}

export interface CommitTold {
  epoch: number;
  commitSeq: number;
}

/** The end of what the leader may ship (see `StepView.writtenTailSeq`). */
export function shippableTail(view: StepView): number {
  return view.writtenTailSeq ?? view.tailSeq;
}

/** What a step reads from outside its state, fresh at each call. */
export interface StepView {
  /** The coordinator's role now. */
  readonly role: Role;
  /** The local log's next seq now (durable as the fsync policy promises). */
  readonly tailSeq: number;
  /**
   * Leader: the end of what it may ship — `tailSeq` plus its appends written and still being
   * fsynced. Positions are matched and requests served against it; its own share of the commit
   * counts only `tailSeq`. Equal to `tailSeq` when absent, and on every other role.
   */
  readonly writtenTailSeq?: number;
  readonly nowMs: number;
  /** Tick only: a random delay (< one heartbeat period) that breaks ties between candidates. */
  readonly jitterMs?: number;
}

export type MetricEffect =
  | {
      readonly name: 'replica-confirmed-tail';
      readonly peer: NodeId;
      readonly tailSeq: number;
      readonly localTail: number;
    }
  | { readonly name: 'skip-ahead' }
  | { readonly name: 'sync-bytes'; readonly bytes: number }
  | { readonly name: 'tail'; readonly tailSeq: number }
  | { readonly name: 'lag'; readonly role: LagRole; readonly lagMs: number };

/** What `afterSkip` continues with once the log skipped ahead. */
export type AfterSkip =
  | { readonly kind: 'reapply'; readonly apply: ApplyEffect }
  | { readonly kind: 'bad-range'; readonly leader: NodeId; readonly tailBefore: number };

export interface ServeEffect {
  readonly kind: 'serve';
  readonly to: NodeId;
  readonly request: SyncRequest;
}

export interface RespondEffect {
  readonly kind: 'respond';
  readonly to: NodeId;
  readonly response: SyncResponse;
  readonly costBytes: number;
}

export interface ApplyEffect {
  readonly kind: 'apply';
  readonly from: NodeId;
  readonly response: SyncResponse;
  /** The local tail when the response arrived. */
  readonly tailBefore: number;
  /** True on the second try, after a skip-ahead. */
  readonly retry: boolean;
}

/** What a step asks the runtime to do, in order. Grows by adding members. */
export type StepEffect =
  /** Send a message; a failure is counted, nothing else. */
  | { readonly kind: 'send'; readonly to: NodeId; readonly message: SyncHeartbeat | SyncNack }
  /** Send a SyncRequest under a freshly minted token (recorded; freed if the send fails). */
  | {
      readonly kind: 'request';
      readonly to: NodeId;
      readonly sinceSeq: number;
      readonly chunkMax: number;
      readonly syncClass: SyncClass;
    }
  /** Leader: read the answer to `request` from the log, then `afterServeRead`. */
  | ServeEffect
  /** Leader: send a response whose bytes the budget paid for, then `afterRespond`. */
  | RespondEffect
  /** Replica: apply a response to the log, then `afterApply`. */
  | ApplyEffect
  /** Replica: move the log's next seq up to `seq`, then `afterSkip`. */
  | { readonly kind: 'skip-to'; readonly seq: number; readonly next: AfterSkip }
  /** Propose a role change to the coordinator. */
  | { readonly kind: 'transition'; readonly target: Role; readonly signal: TransitionSignal }
  /** Perform what the quorum state machine decided (persist, truncate, vote, commit, become). */
  | { readonly kind: 'quorum'; readonly effect: QuorumEffect }
  /** Run the disk-pressure policy (an append of replicated data failed). */
  | { readonly kind: 'disk-pressure' }
  /** A peer confirmed holding everything below `tailSeq` (wakes `waitForReplicas` callers). */
  | { readonly kind: 'confirm-tail'; readonly peer: NodeId; readonly tailSeq: number }
  /** The tail the coordinator advertises on the chain tag. */
  | { readonly kind: 'record-tail'; readonly tailSeq: number }
  | { readonly kind: 'metric'; readonly metric: MetricEffect };

export const NO_EFFECTS: readonly StepEffect[] = Object.freeze([]);

export function send(to: NodeId, message: SyncHeartbeat | SyncNack): StepEffect {
  return { kind: 'send', to, message };
}

export function heartbeatOf(
  state: ChannelState,
  role: Role,
  tailSeq: number,
  nowMs: number,
): SyncHeartbeat {
  const q = state.quorum;
  // The wall-clock field is the operator-facing drift reading: the clock's own time.
  return {
    kind: 'heartbeat',
    channelId: state.channelId,
    tailSeq,
    role,
    wallClockMs: nowMs,
    quorum: { epoch: q.epoch, lastEpoch: q.lastEpoch(tailSeq), commitSeq: q.commitSeq },
  };
}

export function nackOf(state: ChannelState, request: SyncRequest, code: NackCode): SyncNack {
  return {
    kind: 'nack',
    channelId: state.channelId,
    sinceSeq: request.sinceSeq,
    errorCode: code,
    leaderFirstRetainedSeq: 0,
    requestId: request.requestId,
    detail: '',
  };
}

export function notLeaderNack(state: ChannelState, to: NodeId, request: SyncRequest): StepEffect {
  return send(to, nackOf(state, request, NackCode.NotLeader));
}

/**
 * A SyncRequest from our tail to `leader`, unless the leader is in backoff or (with
 * `checkInFlight`) a request to it is younger than one heartbeat period (`PIPELINE_STALL_HEARTBEATS`
 * periods while a pipeline run awaits answers). `template` (from the
 * tick) fixes since, chunk size and class. The request starts a new pipeline run: whatever the
 * run before had in flight is no longer counted (a stall, a restart, or a new leader).
 */
export function requestChunk(
  state: ChannelState,
  leader: NodeId,
  view: StepView,
  checkInFlight: boolean,
  template?: SyncRequest,
): readonly StepEffect[] {
  if (leader === state.selfId) return NO_EFFECTS; // never a request to self
  const now = view.nowMs;
  if (state.backoff.isInBackoff(leader, now)) {
    state.stats.backoffSkips++;
    return NO_EFFECTS;
  }
  if (checkInFlight) {
    const newest = state.outstanding.newestSentMs(leader, now);
    // A pipeline run with answers due is given longer before it counts as stalled: a slow write
    // of one chunk must not restart it (its answers would then arrive twice).
    const running = state.pipeline.isFor(leader, state.quorum.epoch) && state.pipeline.pipelining;
    const patienceMs = running ? PIPELINE_STALL_HEARTBEATS * state.heartbeatMs : state.heartbeatMs;
    if (newest !== null && now - newest < patienceMs) {
      state.stats.inFlightSkips++;
      return NO_EFFECTS;
    }
  }
  const sinceSeq = template?.sinceSeq ?? view.tailSeq;
  state.pipeline.start(leader, state.quorum.epoch, sinceSeq);
  return [
    {
      kind: 'request',
      to: leader,
      sinceSeq,
      chunkMax: template?.chunkMax ?? SYNC_REQUEST_CHUNK_BYTES,
      syncClass: template?.syncClass ?? state.defaultClass,
    },
  ];
}

/**
 * The pipeline's further requests to `leader` (claiming tail `leaderTail`) to send now, if its
 * run is for this leader and epoch: the ranges after those in flight, up to the depth.
 */
export function fillPipeline(
  state: ChannelState,
  leader: NodeId,
  leaderTail: number,
): StepEffect[] {
  if (!state.pipeline.isFor(leader, state.quorum.epoch)) return [];
  return state.pipeline.fill(leaderTail).map((sinceSeq) => ({
    kind: 'request',
    to: leader,
    sinceSeq,
    chunkMax: CATCHUP_CHUNK_BYTES,
    syncClass: state.defaultClass,
  }));
}

export function isLeader(view: StepView): boolean {
  return view.role === Role.Leader;
}
