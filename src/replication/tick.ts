// The pure replication step (REDEX.md §6), the seed's `replication_step::tick`: given the role,
// the replica set, the heartbeat view, the local tail and the time, return what to send and
// which transition to propose. The runtime performs it; nothing here does I/O or reads a clock.
//
// Also here: the other small role/tail decisions of the seed's runtime, kept pure so they can be
// tested alone — the dual-leader rule, the leader's advertised-tail clamp and the lag reading.

import {
  type ChannelId,
  type NodeId,
  Role,
  type SyncClass,
  type SyncHeartbeat,
  type SyncRequest,
} from '../wire/types.js';
import type { HeartbeatView } from './heartbeat-tracker.js';
import type { LagRole } from './metrics.js';
import { TransitionSignal } from './roles.js';

/** `chunk_max` of every SyncRequest a replica sends. */
export const SYNC_REQUEST_CHUNK_BYTES = 256 * 1024;
/** Placeholder request id when the caller mints ids itself after the tick (as the seed does). */
export const REQUEST_ID_PLACEHOLDER = 0n;

export type Outbound =
  | { readonly kind: 'heartbeat'; readonly target: NodeId; readonly message: SyncHeartbeat }
  | { readonly kind: 'request'; readonly target: NodeId; readonly message: SyncRequest };

export interface PendingTransition {
  readonly target: Role;
  readonly signal: TransitionSignal;
}

export interface TickInput {
  readonly role: Role;
  readonly selfId: NodeId;
  readonly channelId: ChannelId;
  readonly replicaSet: readonly NodeId[];
  /** Carries the heartbeat period and miss threshold too. */
  readonly tracker: HeartbeatView;
  /** Local next seq: sent in heartbeats and used as since_seq. */
  readonly tailSeq: number;
  readonly nowMs: number;
  /** Operator-facing drift field of the heartbeat. */
  readonly wallClockMs: number;
  readonly defaultClass: SyncClass;
  /**
   * When this node last started waiting for a leader: when it entered Replica, or later when it
   * dropped its leader belief. A Replica with no believed leader for three heartbeat periods
   * since then counts its leader as silent (R-16: upstream stayed leaderless forever). Null
   * disables the rule.
   */
  readonly replicaSinceMs: number | null;
  /** Mints the id of an emitted SyncRequest; without it the id is `REQUEST_ID_PLACEHOLDER`. */
  readonly nextRequestId?: () => bigint;
}

export interface TickOutput {
  readonly messages: readonly Outbound[];
  readonly transition: PendingTransition | null;
}

/** Distinct members other than `selfId`, in replica-set order. */
export function peersOf(replicaSet: readonly NodeId[], selfId: NodeId): NodeId[] {
  const seen = new Set<NodeId>();
  const peers: NodeId[] = [];
  for (const id of replicaSet) {
    if (id === selfId || id <= 0n || seen.has(id)) continue;
    seen.add(id);
    peers.push(id);
  }
  return peers;
}

/** Leader silent by the tracker, or no leader believed for a whole silence window. */
export function isLeaderSilent(
  tracker: HeartbeatView,
  nowMs: number,
  replicaSinceMs: number | null,
): boolean {
  if (tracker.believedLeader !== null) return tracker.isLeaderSilent(nowMs);
  if (replicaSinceMs === null) return false;
  return nowMs - replicaSinceMs >= tracker.heartbeatMs * tracker.missThreshold;
}

export function tick(input: TickInput): TickOutput {
  const { role, selfId, tracker, nowMs } = input;
  if (role !== Role.Leader && role !== Role.Replica) return { messages: [], transition: null };

  const messages: Outbound[] = [];
  for (const target of peersOf(input.replicaSet, selfId)) {
    messages.push({
      kind: 'heartbeat',
      target,
      message: {
        kind: 'heartbeat',
        channelId: input.channelId,
        tailSeq: input.tailSeq,
        role,
        wallClockMs: input.wallClockMs,
      },
    });
  }
  if (role === Role.Leader) return { messages, transition: null };

  // A replica whose leader is silent proposes an election and asks nobody for data: the
  // request would race the role change, and the next tick re-evaluates against the winner.
  if (isLeaderSilent(tracker, nowMs, input.replicaSinceMs)) {
    return {
      messages,
      transition: { target: Role.Candidate, signal: TransitionSignal.MissedHeartbeats },
    };
  }

  const leader = tracker.believedLeader;
  // Never a request to self, even if a misrouted heartbeat made self the believed leader.
  if (leader !== null && leader !== selfId) {
    const state = tracker.peer(leader);
    if (state !== undefined && state.tailSeq > input.tailSeq) {
      messages.push({
        kind: 'request',
        target: leader,
        message: {
          kind: 'request',
          channelId: input.channelId,
          sinceSeq: input.tailSeq,
          chunkMax: SYNC_REQUEST_CHUNK_BYTES,
          requestId: input.nextRequestId?.() ?? REQUEST_ID_PLACEHOLDER,
          syncClass: input.defaultClass,
        },
      });
    }
  }
  return { messages, transition: null };
}

/**
 * The dual-leader rule: this node is Leader and hears a Leader heartbeat from `peerId`. The
 * higher tail keeps leadership; on a tie the lower NodeId. Returns the concession (Leader →
 * Replica, PeerLeaderObserved) when this node loses, null when it keeps leading.
 */
export function resolveDualLeader(
  selfId: NodeId,
  selfTail: number,
  peerId: NodeId,
  peerTail: number,
): PendingTransition | null {
  if (peerId === selfId) return null;
  const selfWins = selfTail > peerTail || (selfTail === peerTail && selfId < peerId);
  return selfWins ? null : { target: Role.Replica, signal: TransitionSignal.PeerLeaderObserved };
}

/**
 * The election rule applied while leading (beyond upstream; found by the simulation): a Leader
 * that hears a member of its replica set claim a strictly higher tail is outranked by it — the
 * member has events this leader never had (a leader that crashed and came back as a replica, or
 * the far side of a healed partition). Upstream kept leading, so that member never converged.
 * The leader yields: it goes quiet (Idle) for `quietMs`, long enough for every replica to see it
 * silent and elect by tail, then rejoins as a Replica. Equal tails never yield (no churn).
 */
export function shouldYieldLeadership(selfTail: number, peerRole: Role, peerTail: number): boolean {
  return peerRole !== Role.Leader && peerTail > selfTail;
}

/** How long a yielding leader stays silent: past the others' silence threshold, plus a tick. */
export function yieldQuietMs(heartbeatMs: number, missThreshold: number): number {
  return (missThreshold + 1) * heartbeatMs;
}

/**
 * The tail a leader advertises on its chain tag: clamped to the highest tail a peer confirmed,
 * so failover discovery never prefers writes that were never replicated. With no peer report
 * (a fresh or solitary leader) the local tail. Other roles advertise the local tail.
 */
export function advertisedTail(
  role: Role,
  localTail: number,
  peerTails: Iterable<readonly [NodeId, number]>,
  selfId: NodeId,
): number {
  if (role !== Role.Leader) return localTail;
  let best: number | null = null;
  for (const [id, tail] of peerTails) {
    if (id !== selfId && (best === null || tail > best)) best = tail;
  }
  return best === null ? localTail : Math.min(localTail, best);
}

export interface LagObservation {
  readonly role: LagRole;
  readonly lagMs: number;
}

/**
 * Which lag gauge to set: a Leader reports its worst replica's heartbeat age, a Replica its
 * believed leader's. Peers never heard from are not observations; Candidate and Idle report none.
 */
export function observeLag(
  role: Role,
  replicaSet: readonly NodeId[],
  selfId: NodeId,
  tracker: HeartbeatView,
  nowMs: number,
): LagObservation | null {
  if (role === Role.Leader) {
    let worst: number | null = null;
    for (const id of peersOf(replicaSet, selfId)) {
      const lag = tracker.peerLag(id, nowMs);
      if (lag !== null && (worst === null || lag > worst)) worst = lag;
    }
    return worst === null ? null : { role: 'leader', lagMs: worst };
  }
  if (role === Role.Replica && tracker.believedLeader !== null) {
    const lag = tracker.peerLag(tracker.believedLeader, nowMs);
    return lag === null ? null : { role: 'replica', lagMs: lag };
  }
  return null;
}
