// What a replicated channel shows its observers: a plain frozen snapshot of its replication state
// (role, believed leader, local tail, what each replica claimed and confirmed, and when it was last
// heard from), and the change listeners told when the role, the leader, the local tail or a
// confirmed tail moved. Built by the runtime; read by status pages instead of its internals.

import type { NodeId, Role } from '../wire/types.js';
import type { HeartbeatTracker } from './heartbeat-tracker.js';

/** Change listeners per channel; one more is refused. */
export const CHANGE_LISTENERS_MAX = 64;

export interface ReplicaSnapshot {
  readonly nodeId: NodeId;
  /** The role its last heartbeat claimed; null if never heard from. */
  readonly role: Role | null;
  /** The tail its last heartbeat claimed; null if never heard from. */
  readonly tailSeq: number | null;
  /** The latest tail it confirmed holding (heartbeat or request); null if it never reported. */
  readonly confirmedTail: number | null;
  /** When it was last heard from (this node's clock); null if never. */
  readonly lastHeardMs: number | null;
  /** Heard from within the silence window: its claimed role is current. */
  readonly fresh: boolean;
  /** Leader only: it holds the leader's log below this seq (validated); null if unknown. */
  readonly matchedSeq: number | null;
}

export interface ChannelSnapshot {
  readonly selfId: NodeId;
  readonly role: Role;
  /** This node when it leads, else the leader it believes in; null when none. */
  readonly leader: NodeId | null;
  /** This node's next seq. */
  readonly tailSeq: number;
  /** When the snapshot was taken. */
  readonly atMs: number;
  /** Every other member of the replica set, in replica-set order. */
  readonly replicas: readonly ReplicaSnapshot[];
  /** The highest leader epoch this node has seen. */
  readonly epoch: number;
  /** Every event below this seq is committed, as far as this node knows. */
  readonly commitSeq: number;
}

export type ChangeListener = () => void;

export interface SnapshotInput {
  readonly selfId: NodeId;
  readonly role: Role;
  readonly leader: NodeId | null;
  readonly tailSeq: number;
  readonly nowMs: number;
  readonly peers: readonly NodeId[];
  readonly tracker: HeartbeatTracker;
  readonly confirmedTail: (peer: NodeId) => number | null;
  readonly matchedSeq: (peer: NodeId) => number | null;
  readonly epoch: number;
  readonly commitSeq: number;
}

export function buildSnapshot(input: SnapshotInput): ChannelSnapshot {
  const { tracker, nowMs } = input;
  const replicas = input.peers.map((nodeId): ReplicaSnapshot => {
    const heard = tracker.peer(nodeId);
    return Object.freeze({
      nodeId,
      role: heard?.role ?? null,
      tailSeq: heard?.tailSeq ?? null,
      confirmedTail: input.confirmedTail(nodeId),
      lastHeardMs: heard?.lastSeenMs ?? null,
      fresh: heard !== undefined && Math.max(0, nowMs - heard.lastSeenMs) < tracker.silenceMs,
      matchedSeq: input.matchedSeq(nodeId),
    });
  });
  return Object.freeze({
    selfId: input.selfId,
    role: input.role,
    leader: input.leader,
    tailSeq: input.tailSeq,
    atMs: nowMs,
    replicas: Object.freeze(replicas),
    epoch: input.epoch,
    commitSeq: input.commitSeq,
  });
}
