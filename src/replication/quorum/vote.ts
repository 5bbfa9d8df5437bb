// Votes: whether this node grants a pre-vote or a vote, and what it must persist first. Pure.
//
// - A pre-vote asks "would you vote for me in epoch e?" and changes nothing, so a node cut off
//   from the others never inflates its epoch and never disturbs a healthy leader when it returns.
// - A node that heard a live leader of its epoch within the silence window refuses both, without
//   even adopting a higher epoch (leader stickiness), unless the request is a leadership transfer
//   the leader itself started. A node whose election is still running (it stands, or it gave its
//   vote to another candidate within the silence window) refuses pre-votes likewise.
// - A vote goes to a candidate whose log is at least as up to date — (last epoch, next seq)
//   compared in that order — and at most one candidate per epoch; the vote is durable before the
//   answer leaves, so a voter that crashes and returns cannot vote twice in one epoch.

import type { NodeId } from '../../wire/types.js';

export interface VoterState {
  readonly epoch: number;
  readonly votedFor: NodeId | null;
  /** Epoch of this node's last event, and its next seq. */
  readonly lastEpoch: number;
  readonly nextSeq: number;
  /** A current-epoch leader was heard within the silence window (or this node leads). */
  readonly leaderIsLive: boolean;
  /** False after a restart that lost state, until caught up to a leader's commit seq. */
  readonly mayVote: boolean;
  /**
   * An election this node takes part in is still running: it stands as Candidate within its
   * window, or it granted its vote to another candidate within the silence window. Default false.
   */
  readonly electionLive?: boolean;
}

export interface VoteAsk {
  readonly candidate: NodeId;
  readonly epoch: number;
  readonly lastEpoch: number;
  readonly nextSeq: number;
  readonly preVote: boolean;
  readonly transfer: boolean;
}

export type VoteRefusal =
  | 'stale-epoch'
  | 'leader-live'
  | 'already-voted'
  | 'log-behind'
  | 'may-not-vote'
  | 'election-live';

export interface VoteDecision {
  readonly granted: boolean;
  readonly refusal: VoteRefusal | null;
  /** Epoch and vote to make durable before answering; null when nothing changes. */
  readonly persist: { readonly epoch: number; readonly votedFor: NodeId | null } | null;
  /** The ask carried a higher epoch that this node adopts: a Leader or Candidate steps down. */
  readonly adoptsEpoch: boolean;
}

/** True when a log ending at (aEpoch, aNext) is at least as up to date as (bEpoch, bNext). */
export function logAtLeast(aEpoch: number, aNext: number, bEpoch: number, bNext: number): boolean {
  return aEpoch > bEpoch || (aEpoch === bEpoch && aNext >= bNext);
}

function refuse(refusal: VoteRefusal, persist: VoteDecision['persist'] = null): VoteDecision {
  return { granted: false, refusal, persist, adoptsEpoch: persist !== null };
}

export function decideVote(state: VoterState, ask: VoteAsk): VoteDecision {
  if (state.leaderIsLive && !ask.transfer) return refuse('leader-live');
  const logOk = logAtLeast(ask.lastEpoch, ask.nextSeq, state.lastEpoch, state.nextSeq);
  if (ask.preVote) {
    // Like a live leader, a running election keeps its voters: a pre-vote granted now would let
    // the asker start the next epoch and depose a candidate whose votes are being written.
    if (state.electionLive === true) return refuse('election-live');
    if (ask.epoch <= state.epoch) return refuse('stale-epoch');
    if (!state.mayVote) return refuse('may-not-vote');
    if (!logOk) return refuse('log-behind');
    return { granted: true, refusal: null, persist: null, adoptsEpoch: false };
  }
  if (ask.epoch < state.epoch) return refuse('stale-epoch');
  const adopts = ask.epoch > state.epoch;
  const votedFor = adopts ? null : state.votedFor;
  const adopted = adopts ? { epoch: ask.epoch, votedFor: null } : null;
  if (votedFor !== null && votedFor !== ask.candidate) return refuse('already-voted', adopted);
  if (!state.mayVote) return refuse('may-not-vote', adopted);
  if (!logOk) return refuse('log-behind', adopted);
  const persist =
    votedFor === ask.candidate && !adopts ? null : { epoch: ask.epoch, votedFor: ask.candidate };
  return { granted: true, refusal: null, persist, adoptsEpoch: adopts };
}

/**
 * How long a replica that found its leader silent waits before it stands: the best-placed live
 * member (highest last epoch, then longest log, then the earliest in `preference`, the replica
 * set's order, whose first member is the channel's preferred leader; then the lower NodeId) at
 * once, the n-th best after n half periods, so the usual failover is one vote round and not a
 * split vote, and channels with equal logs spread their leaders the way placement ranks members.
 */
export function standDelayMs(
  self: { readonly nodeId: NodeId; readonly lastEpoch: number; readonly nextSeq: number },
  livePeers: Iterable<{
    readonly nodeId: NodeId;
    readonly lastEpoch: number;
    readonly nextSeq: number;
  }>,
  heartbeatMs: number,
  preference: readonly NodeId[] = [],
): number {
  const rankOf = (id: NodeId) => {
    const at = preference.indexOf(id);
    return at < 0 ? preference.length : at;
  };
  const selfRank = rankOf(self.nodeId);
  let rank = 0;
  for (const peer of livePeers) {
    if (peer.nodeId === self.nodeId) continue;
    const peerRank = rankOf(peer.nodeId);
    const better =
      peer.lastEpoch > self.lastEpoch ||
      (peer.lastEpoch === self.lastEpoch &&
        (peer.nextSeq > self.nextSeq ||
          (peer.nextSeq === self.nextSeq &&
            (peerRank < selfRank || (peerRank === selfRank && peer.nodeId < self.nodeId)))));
    if (better) rank++;
  }
  return (rank * heartbeatMs) / 2;
}

/** True once the granted votes (this node's own included by the caller) are a majority. */
export function hasQuorum(granted: ReadonlySet<NodeId>, replicaSet: readonly NodeId[]): boolean {
  const members = new Set(replicaSet);
  let count = 0;
  for (const id of granted) if (members.has(id)) count++;
  return count >= Math.floor(members.size / 2) + 1;
}
