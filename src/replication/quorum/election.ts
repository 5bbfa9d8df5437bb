// The election half of a channel's quorum logic: the periodic check (check quorum for a
// leader, giving up a slow election, standing once the leader is silent and this node's turn in
// the priority order came), asking for pre-votes and votes, counting the grants, and answering
// vote requests. Pure: each function changes the state it is given and returns or queues the
// effects the runtime must perform, durable writes first.
// Called by: the facade (`channel-quorum.ts`).

import type { NodeId } from '../../wire/types.js';
import { quorumSize } from './commit.js';
import {
  adopt,
  advanceLeaderCommit,
  isLeaderLive,
  maybeBootstrap,
  stepDown,
} from './quorum-state.js';
import type { Election, QuorumEffect, QuorumRole, QuorumState } from './quorum-types.js';
import { decideVote, hasQuorum, standDelayMs, type VoteAsk } from './vote.js';

/** The longest a member holds its candidacy for a preferred member still opening the channel. */
export const PREFERRED_WAIT_WINDOWS = 4;
/**
 * The most silence windows of random extra wait after elections that ran out of time. Thousands
 * of channels electing at once on a starved machine each need durable vote writes; when those
 * take longer than an election may last, standing again at once only adds writes (an overloaded
 * cluster then lost every leader and elected none). Liveness only: votes still decide.
 */
export const ELECTION_BACKOFF_WINDOWS_MAX = 4;
/**
 * The most silence windows a candidate's window grows by while its own vote took that long to
 * become durable (the voters' writes wait on disks as busy as its own).
 */
export const ELECTION_GRACE_WINDOWS_MAX = 2;

/**
 * The periodic check. Leader: check quorum. Candidate: give up an election that took a
 * silence window. Replica: stand (pre-vote) once the leader is silent and this node's turn
 * in the priority order came. `livePeers` are the members heard within the silence window
 * with their claimed (last epoch, next seq); `jitterMs` breaks ties between equal views.
 */
export function electionTick(
  s: QuorumState,
  input: {
    readonly role: QuorumRole;
    readonly nextSeq: number;
    readonly nowMs: number;
    readonly livePeers: Iterable<{
      readonly nodeId: NodeId;
      readonly lastEpoch: number;
      readonly nextSeq: number;
    }>;
    readonly jitterMs: number;
    /**
     * The preferred member (the set's first) was never heard on this channel, but its node is
     * live (node beats): it has likely not opened the channel yet. Default false.
     */
    readonly preferredOpening?: boolean;
    /**
     * False while every election slot of this node is taken (election-slots.ts): a replica whose
     * turn came stands at a later check instead. Default true.
     */
    readonly mayStand?: boolean;
  },
): QuorumEffect[] {
  const effects: QuorumEffect[] = [];
  const { role, nowMs } = input;
  maybeBootstrap(s);
  if (role === 'leader') {
    let inTouch = 1;
    for (const peer of s.peers) {
      const contact = s.contactMs.get(peer);
      if (contact !== undefined && nowMs - contact < s.silenceMs) inTouch++;
    }
    if (inTouch < quorumSize(s.members.length)) {
      s.counters.quorumLostStepDowns++;
      stepDown(s, nowMs);
      effects.push({ kind: 'leadership-lost', epoch: s.epoch });
      effects.push({ kind: 'become', role: 'replica', reason: 'quorum-lost' });
    }
    return effects;
  }
  const election = s.election;
  if (election !== null && nowMs - election.startedMs >= s.silenceMs + election.graceMs) {
    s.election = null;
    s.waitingSinceMs = nowMs;
    s.electionsLostInRow = Math.min(s.electionsLostInRow + 1, ELECTION_BACKOFF_WINDOWS_MAX);
    if (election.preVote) s.counters.preVotesLost++;
    if (role === 'candidate') {
      s.counters.electionsLost++;
      effects.push({ kind: 'become', role: 'replica', reason: 'election-lost' });
    }
    return effects;
  }
  // A node outside the replica set holds no vote to ask for and never leads it.
  if (role !== 'replica' || election !== null || !s.mayVote || !s.isMember) {
    return effects;
  }
  const livePeers = [...input.livePeers];
  const preferred = s.members[0];
  if (!livePeers.some((peer) => peer.nodeId === preferred)) s.preferredHeardSinceMs = null;
  else s.preferredHeardSinceMs ??= nowMs;
  const heard = s.leaderHeardMs ?? s.waitingSinceMs;
  if (nowMs - heard < s.silenceMs) {
    s.preferredWaitSinceMs = null;
    return effects;
  }
  const preferredOpening = input.preferredOpening === true;
  if (awaitsPreferred(s, preferredOpening, nowMs)) return effects;
  const preferredSince = s.preferredHeardSinceMs;
  if (
    !s.leaderSeen &&
    preferred !== s.selfId &&
    preferredSince !== null &&
    nowMs < preferredSince + s.silenceMs
  ) {
    // The preferred member was heard only just (it opened the channel) and stands a silence
    // window after its open: leave it that window (held at the ticks, with no stand timer that
    // could fire after a leader came and went), then stand in turn behind it.
    s.standAtMs = null;
    return effects;
  }
  if (s.standAtMs === null) {
    const self = {
      nodeId: s.selfId,
      lastEpoch: s.history.lastEpoch(input.nextSeq),
      nextSeq: input.nextSeq,
    };
    // The best-placed member stands at once; the others wait their turn plus a random part,
    // which separates two nodes whose views of the others differ.
    const delayMs = standDelayMs(self, livePeers, s.heartbeatMs, s.members);
    // After elections that ran out of time, up to that many silence windows more, at random.
    const backoffMs = Math.floor(
      (s.electionsLostInRow * s.silenceMs * input.jitterMs) / s.heartbeatMs,
    );
    s.standAtMs = nowMs + (delayMs === 0 ? 0 : delayMs + input.jitterMs) + backoffMs;
  }
  if (nowMs < s.standAtMs) return effects;
  // Its turn came but the node runs as many elections as it may: keep the turn, check again.
  if (input.mayStand === false) return effects;
  s.standAtMs = null;
  s.leader = null;
  s.counters.preVotesStarted++;
  s.election = {
    preVote: true,
    epoch: s.epoch + 1,
    grants: new Set([s.selfId]),
    startedMs: nowMs,
    graceMs: 0,
  };
  askVotes(s, input.nextSeq, false, nowMs, effects);
  return effects;
}

/**
 * While three nodes open the same channels at different speeds, the first to open would win
 * and later hand the leadership back to the preferred member: two elections where one does. So
 * a member that is not the preferred one holds its candidacy while the preferred member was
 * never heard on this channel but its node is live (it is most likely still opening it), for at
 * most PREFERRED_WAIT_WINDOWS silence windows, and only until the channel first had a leader
 * here: a dead node beats no more, and a failover never waits at all. Liveness only: leadership is still decided by votes and epochs.
 */
function awaitsPreferred(s: QuorumState, preferredOpening: boolean, nowMs: number): boolean {
  // Only while the channel opens: once it had a leader, a failover never waits.
  if (!preferredOpening || s.leaderSeen || s.members[0] === s.selfId) return false;
  s.preferredWaitSinceMs ??= nowMs;
  if (nowMs - s.preferredWaitSinceMs >= PREFERRED_WAIT_WINDOWS * s.silenceMs) return false;
  s.standAtMs = null;
  return true;
}

function askVotes(
  s: QuorumState,
  nextSeq: number,
  transfer: boolean,
  nowMs: number,
  effects: QuorumEffect[],
): void {
  const election = s.election as Election;
  const lastEpoch = s.history.lastEpoch(nextSeq);
  for (const to of s.peers) {
    effects.push({
      kind: 'send-vote-request',
      to,
      epoch: election.epoch,
      lastEpoch,
      nextSeq,
      preVote: election.preVote,
      transfer,
    });
  }
  tally(s, nextSeq, nowMs, effects);
}

/** A majority of grants moves the election on: pre-vote → vote, vote → Leader. */
function tally(s: QuorumState, nextSeq: number, nowMs: number, effects: QuorumEffect[]): void {
  const election = s.election;
  if (election === null || !hasQuorum(election.grants, s.members)) return;
  if (election.preVote) {
    startVote(s, nextSeq, nowMs, false, effects);
    return;
  }
  s.counters.electionsWon++;
  s.electionsLostInRow = 0;
  s.election = null;
  s.leader = s.selfId;
  s.leaderSeen = true;
  s.leaderHeardMs = null;
  s.epochStartSeq = nextSeq;
  s.matched.clear();
  s.contactMs.clear();
  // A new leader gets one silence window to hear from its majority before check quorum bites.
  for (const peer of s.peers) s.contactMs.set(peer, nowMs);
  s.history.append(s.epoch, nextSeq);
  effects.push({ kind: 'persist-epoch-start', epoch: s.epoch, startSeq: nextSeq });
  effects.push({ kind: 'become', role: 'leader', reason: 'election-won' });
  advanceLeaderCommit(s, nextSeq, effects);
}

/**
 * The real election of epoch + 1: vote for self (durable first), become Candidate, ask every
 * peer. After a won pre-vote, or at once on a leadership transfer (`transfer` lets voters grant
 * although they still hear the old leader).
 */
export function startVote(
  s: QuorumState,
  nextSeq: number,
  nowMs: number,
  transfer: boolean,
  effects: QuorumEffect[],
): void {
  const epoch = s.epoch + 1;
  s.counters.electionsStarted++;
  s.epoch = epoch;
  s.votedFor = s.selfId;
  s.votedAtMs = null;
  s.leader = null;
  s.leaderHeardMs = null;
  s.matchingTail = 0;
  s.standAtMs = null;
  s.election = {
    preVote: false,
    epoch,
    grants: new Set([s.selfId]),
    startedMs: nowMs,
    graceMs: 0,
  };
  effects.push({ kind: 'persist-vote', epoch, votedFor: s.selfId });
  effects.push({
    kind: 'become',
    role: 'candidate',
    reason: transfer ? 'stand-now' : 'pre-vote-won',
  });
  askVotes(s, nextSeq, transfer, nowMs, effects);
}

/**
 * The candidate's own vote is durable and its vote requests leave now: the election's window
 * counts from here, so a slow vote write (a busy disk while thousands of channels open or fail
 * over) does not eat the time the voters have to answer; and the window grows by the time that
 * write took, since each voter must write its vote too before it answers. Liveness only: who
 * wins is still decided by votes.
 */
export function ownVoteDurable(s: QuorumState, epoch: number, nowMs: number): void {
  const election = s.election;
  if (election === null || election.preVote || election.epoch !== epoch) return;
  if (s.votedFor !== s.selfId) return;
  const wroteMs = Math.max(0, nowMs - election.startedMs);
  election.graceMs = Math.min(wroteMs, ELECTION_GRACE_WINDOWS_MAX * s.silenceMs);
  election.startedMs = Math.max(election.startedMs, nowMs);
}

/**
 * True while an election this node takes part in runs: its own vote election within its window,
 * or a vote it granted another candidate (not `asker`) within the silence window. Such a node
 * refuses pre-votes (vote.ts), so a second member cannot start the next epoch over it.
 */
function electionLive(s: QuorumState, asker: NodeId, nowMs: number): boolean {
  const election = s.election;
  if (election !== null && !election.preVote) {
    return nowMs - election.startedMs < s.silenceMs + election.graceMs;
  }
  return (
    s.votedAtMs !== null &&
    s.votedFor !== null &&
    s.votedFor !== asker &&
    nowMs - s.votedAtMs < s.silenceMs
  );
}

export function handleVoteRequest(
  s: QuorumState,
  input: {
    readonly from: NodeId;
    readonly ask: Omit<VoteAsk, 'candidate'>;
    readonly role: QuorumRole;
    readonly nextSeq: number;
    readonly nowMs: number;
  },
): QuorumEffect[] {
  const effects: QuorumEffect[] = [];
  const { ask, nowMs } = input;
  const decision = decideVote(
    {
      epoch: s.epoch,
      votedFor: s.votedFor,
      lastEpoch: s.history.lastEpoch(input.nextSeq),
      nextSeq: input.nextSeq,
      leaderIsLive: isLeaderLive(s, input.role, nowMs),
      mayVote: s.mayVote,
      electionLive: electionLive(s, input.from, nowMs),
    },
    { ...ask, candidate: input.from },
  );
  if (decision.adoptsEpoch) adopt(s, ask.epoch, input.role, nowMs, effects);
  if (decision.persist !== null) {
    s.votedFor = decision.persist.votedFor;
    // #adopt already queued the epoch with no vote; the vote replaces that write.
    const last = effects.findIndex((effect) => effect.kind === 'persist-vote');
    const write: QuorumEffect = { kind: 'persist-vote', ...decision.persist };
    if (last >= 0) effects[last] = write;
    else effects.unshift(write);
  }
  if (decision.granted) {
    s.counters.votesGranted++;
    if (!ask.preVote) {
      // Give the candidate its chance before standing ourselves.
      s.waitingSinceMs = nowMs;
      s.votedAtMs = nowMs;
      s.standAtMs = null;
    } else {
      yieldToPreVote(s, input.from, ask, input.nextSeq, nowMs);
    }
  } else {
    s.counters.votesRefused++;
    if (decision.refusal !== null) s.counters.votesRefusedBy[decision.refusal]++;
  }
  effects.push({
    kind: 'send-vote-response',
    to: input.from,
    epoch: decision.granted ? ask.epoch : s.epoch,
    granted: decision.granted,
    preVote: ask.preVote,
  });
  return effects;
}

/**
 * After granting `from` a pre-vote: its vote request follows once its own vote is durable, and
 * standing meanwhile would split that vote (two candidates of one epoch, each voting for itself)
 * or depose it. So a waiting replica stands no sooner than a silence window from now (a vote write
 * behind thousands of others takes longer than a period), and a pre-vote of its own gives way
 * when the asker is better placed (the order `standDelayMs` uses; never both ways).
 */
function yieldToPreVote(
  s: QuorumState,
  from: NodeId,
  ask: Omit<VoteAsk, 'candidate'>,
  nextSeq: number,
  nowMs: number,
): void {
  s.standAtMs = Math.max(s.standAtMs ?? nowMs, nowMs + s.silenceMs);
  if (s.election === null || !s.election.preVote) return;
  const self = { nodeId: s.selfId, lastEpoch: s.history.lastEpoch(nextSeq), nextSeq };
  const asker = { nodeId: from, lastEpoch: ask.lastEpoch, nextSeq: ask.nextSeq };
  if (standDelayMs(self, [asker], s.heartbeatMs, s.members) > 0) {
    s.counters.preVotesLost++;
    s.election = null;
  }
}

export function handleVoteResponse(
  s: QuorumState,
  input: {
    readonly from: NodeId;
    readonly epoch: number;
    readonly granted: boolean;
    readonly preVote: boolean;
    readonly role: QuorumRole;
    readonly nextSeq: number;
    readonly nowMs: number;
  },
): QuorumEffect[] {
  const effects: QuorumEffect[] = [];
  if (!input.granted && input.epoch > s.epoch) {
    adopt(s, input.epoch, input.role, input.nowMs, effects);
    return effects;
  }
  const election = s.election;
  if (
    election === null ||
    !input.granted ||
    input.preVote !== election.preVote ||
    input.epoch !== election.epoch ||
    !s.members.includes(input.from)
  ) {
    return effects;
  }
  election.grants.add(input.from);
  tally(s, input.nextSeq, input.nowMs, effects);
  return effects;
}
