// The periodic sends of one channel (the seed's `replication_step::tick`): given the role, the
// replica set, the heartbeat view, the local tail and the time, return the heartbeats to every
// peer and, for a replica behind its leader, a catch-up request. Who leads is not decided here:
// elections are the quorum logic's (quorum/channel-quorum.ts). Pure: no I/O, no clock.
//
// Also here: the leader's advertised-tail clamp and the lag reading, kept pure so they can be
// tested alone.

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
import type { TransitionSignal } from './roles.js';

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
  /** Carries the heartbeat period and silence window too. */
  readonly tracker: HeartbeatView;
  /** Local next seq: sent in heartbeats and used as since_seq. */
  readonly tailSeq: number;
  readonly nowMs: number;
  /** Operator-facing drift field of the heartbeat. */
  readonly wallClockMs: number;
  readonly defaultClass: SyncClass;
  /** Mints the id of an emitted SyncRequest; without it the id is `REQUEST_ID_PLACEHOLDER`. */
  readonly nextRequestId?: () => bigint;
}

export interface TickOutput {
  readonly messages: readonly Outbound[];
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

export function tick(input: TickInput): TickOutput {
  const { role, selfId, tracker } = input;
  if (role !== Role.Leader && role !== Role.Replica) return { messages: [] };

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
  if (role === Role.Leader) return { messages };

  const leader = tracker.believedLeader;
  // Never a request to self (docs/DESIGN.md#no-request-to-self), whatever the belief says.
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
  return { messages };
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
