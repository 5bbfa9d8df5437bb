// The glue between the pure step and the quorum state machine (quorum/channel-quorum.ts): role
// names, the quorum's effects wrapped as step effects, the tracker's leader belief kept in step
// with the quorum's, and the epoch fields every outgoing message carries. Elections (pre-vote,
// vote, check quorum) come in here from the tick and from the vote messages.

import {
  type NodeId,
  type QuorumMessage,
  Role,
  type SyncHeartbeat,
  type VoteRequest,
  type VoteResponse,
} from '../wire/types.js';
import type { QuorumEffect, QuorumRole, TransferRefusal } from './quorum/channel-quorum.js';
import {
  type ChannelState,
  NO_EFFECTS,
  type StepEffect,
  type StepView,
  shippableTail,
} from './step-state.js';

export function quorumRoleOf(role: Role): QuorumRole {
  switch (role) {
    case Role.Leader:
      return 'leader';
    case Role.Candidate:
      return 'candidate';
    case Role.Replica:
      return 'replica';
    default:
      return 'idle';
  }
}

/** The quorum's effects as step effects, and the tracker's belief brought in line. */
export function fromQuorum(state: ChannelState, effects: readonly QuorumEffect[]): StepEffect[] {
  syncBelief(state);
  return effects.map((effect) => ({ kind: 'quorum', effect }));
}

/** The tracker follows whom the quorum follows (never a claim of a heartbeat). */
export function syncBelief(state: ChannelState): void {
  const leader = state.quorum.leader;
  if (state.tracker.believedLeader !== (leader === state.selfId ? null : leader)) {
    const previous = state.tracker.believedLeader;
    state.tracker.believe(leader);
    if (previous !== null) state.outstanding.clearLeader(previous);
    state.pipeline.clear();
  }
}

/** The epoch group of a heartbeat from this node with local tail `tailSeq`. */
export function withEpochs(state: ChannelState, heartbeat: SyncHeartbeat): SyncHeartbeat {
  const q = state.quorum;
  return {
    ...heartbeat,
    quorum: { epoch: q.epoch, lastEpoch: q.lastEpoch(heartbeat.tailSeq), commitSeq: q.commitSeq },
  };
}

/** A vote request or answer from a member. */
export function onQuorumMessage(
  state: ChannelState,
  from: NodeId,
  message: QuorumMessage,
  view: StepView,
): readonly StepEffect[] {
  const base = { from, role: quorumRoleOf(view.role), nextSeq: view.tailSeq, nowMs: view.nowMs };
  switch (message.kind) {
    case 'vote-request':
      return fromQuorum(state, state.quorum.onVoteRequest({ ...base, ask: voteAsk(message) }));
    case 'vote-response':
      return fromQuorum(state, state.quorum.onVoteResponse({ ...base, ...voteAnswer(message) }));
    case 'stand-now':
      return fromQuorum(state, state.quorum.onStandNow({ ...base, epoch: message.epoch }));
  }
}

/**
 * Local command: hand the leadership to `target`. The refusal, if any, is returned beside the
 * effects so the caller can reject its promise with the reason.
 */
export function startTransfer(
  state: ChannelState,
  target: NodeId,
  view: StepView,
): { readonly effects: readonly StepEffect[]; readonly refusal: TransferRefusal | null } {
  const { effects, refusal } = state.quorum.startTransfer({
    target,
    role: quorumRoleOf(view.role),
    nextSeq: shippableTail(view),
    nowMs: view.nowMs,
  });
  return { effects: fromQuorum(state, effects), refusal };
}

function voteAsk(message: VoteRequest) {
  return {
    epoch: message.epoch,
    lastEpoch: message.lastEpoch,
    nextSeq: message.nextSeq,
    preVote: message.preVote,
    transfer: message.transfer,
  };
}

function voteAnswer(message: VoteResponse) {
  return { epoch: message.epoch, granted: message.granted, preVote: message.preVote };
}

/**
 * Leader: a peer's validated position moved — wake `waitForReplicas` callers and update the
 * replica gauge. Claims that do not match this leader's history never get here.
 */
export function confirmMatched(
  state: ChannelState,
  peer: NodeId,
  view: StepView,
): readonly StepEffect[] {
  if (view.role !== Role.Leader) return NO_EFFECTS;
  const matched = state.quorum.matched.get(peer);
  if (matched === undefined) return NO_EFFECTS;
  return [
    { kind: 'confirm-tail', peer, tailSeq: matched },
    {
      kind: 'metric',
      metric: { name: 'replica-confirmed-tail', peer, tailSeq: matched, localTail: view.tailSeq },
    },
  ];
}

/**
 * A replica asks its leader when the leader holds more, or when its own log is not known to match
 * the leader's up to its end: a leader behind us, or a log of equal length written in another
 * epoch, means a diverged suffix that the request's epoch check finds and cuts.
 */
export function needsFetch(state: ChannelState, leaderTail: number, tailSeq: number): boolean {
  return leaderTail !== tailSeq || state.quorum.matchingTail < tailSeq;
}
