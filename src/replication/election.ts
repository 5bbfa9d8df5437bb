// Leader election (REDEX.md §6, a deliberate change from upstream). Upstream ranked candidates by
// RTT with self at 0, so every survivor elected itself and extra leaders were sorted out later.
// Here the rank depends only on data every node shares: among this node and the healthy
// replica-set members, the highest last-known tail wins, ties to the lowest NodeId. Two nodes
// with the same view therefore pick the same leader. Pure; the runtime supplies the view.

import { type NodeId, Role } from '../wire/types.js';
import type { HeartbeatView } from './heartbeat-tracker.js';
import { TransitionSignal } from './roles.js';

export interface ElectionCandidate {
  readonly nodeId: NodeId;
  /** Last-known tail: own next seq for this node, the last heartbeat's claim for a peer. */
  readonly tailSeq: number;
}

export interface ElectionView {
  readonly selfId: NodeId;
  readonly selfTail: number;
  readonly replicaSet: readonly NodeId[];
  /** Healthy peers (heard from within the silence window) and their last claimed tails. */
  readonly healthyPeers: readonly ElectionCandidate[];
}

export type ElectionOutcome =
  | { readonly kind: 'self-wins'; readonly leader: NodeId }
  | { readonly kind: 'peer-wins'; readonly leader: NodeId }
  | { readonly kind: 'no-eligible' };

/** What the coordinator should do after an election; null = stay Candidate, retry next tick. */
export interface ElectionTransition {
  readonly target: Role;
  readonly signal: TransitionSignal;
  readonly leader: NodeId;
}

/** True when `a` outranks `b`: higher tail, then lower NodeId. */
export function outranks(a: ElectionCandidate, b: ElectionCandidate): boolean {
  return a.tailSeq > b.tailSeq || (a.tailSeq === b.tailSeq && a.nodeId < b.nodeId);
}

/**
 * The eligible candidates: this node (when it is a replica-set member) and every healthy peer
 * that is a member. NodeId 0 is never eligible; duplicates collapse.
 */
export function eligibleCandidates(view: ElectionView): ElectionCandidate[] {
  const members = new Set(view.replicaSet);
  const byId = new Map<NodeId, ElectionCandidate>();
  for (const peer of view.healthyPeers) {
    if (peer.nodeId > 0n && peer.nodeId !== view.selfId && members.has(peer.nodeId)) {
      byId.set(peer.nodeId, peer);
    }
  }
  if (view.selfId > 0n && members.has(view.selfId)) {
    byId.set(view.selfId, { nodeId: view.selfId, tailSeq: view.selfTail });
  }
  return [...byId.values()];
}

export function elect(view: ElectionView): ElectionOutcome {
  let best: ElectionCandidate | null = null;
  for (const candidate of eligibleCandidates(view)) {
    if (best === null || outranks(candidate, best)) best = candidate;
  }
  if (best === null) return { kind: 'no-eligible' };
  return best.nodeId === view.selfId
    ? { kind: 'self-wins', leader: best.nodeId }
    : { kind: 'peer-wins', leader: best.nodeId };
}

/** Maps an outcome to the Candidate's next transition. */
export function electionTransition(view: ElectionView): ElectionTransition | null {
  const outcome = elect(view);
  switch (outcome.kind) {
    case 'self-wins':
      return { target: Role.Leader, signal: TransitionSignal.ElectionWon, leader: outcome.leader };
    case 'peer-wins':
      return {
        target: Role.Replica,
        signal: TransitionSignal.ElectionLost,
        leader: outcome.leader,
      };
    default:
      return null;
  }
}

/** Builds the view from a tracker: healthy peers with the tails they last claimed. */
export function electionViewFrom(
  tracker: HeartbeatView,
  selfId: NodeId,
  selfTail: number,
  replicaSet: readonly NodeId[],
  nowMs: number,
): ElectionView {
  const healthyPeers: ElectionCandidate[] = [];
  for (const id of tracker.healthyPeers(nowMs)) {
    const state = tracker.peer(id);
    if (state !== undefined) healthyPeers.push({ nodeId: id, tailSeq: state.tailSeq });
  }
  return { selfId, selfTail, replicaSet, healthyPeers };
}
