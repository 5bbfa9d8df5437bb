// The state of a channel's quorum logic and the transitions that more than one decision shares:
// adopting a higher epoch, the epoch gate of every frame, following a leader, the all-new
// bootstrap, stepping down, and moving the commit (leader and replica side). Pure: each function
// changes the state it is given and queues the effects the runtime must perform.
// Called by: the facade (`channel-quorum.ts`) and the election (`election.ts`).

import type { NodeId } from '../../wire/types.js';
import { leaderCommitSeq, quorumSize, replicaCommitSeq } from './commit.js';
import { EpochHistory } from './epoch-history.js';
import type {
  ChannelQuorumOptions,
  QuorumCounters,
  QuorumEffect,
  QuorumRole,
  QuorumState,
} from './quorum-types.js';

function emptyCounters(): QuorumCounters {
  return {
    staleEpochDrops: 0,
    noEpochDrops: 0,
    sameEpochLeaders: 0,
    divergedWithoutProgress: 0,
    staleDiverged: 0,
    truncationBelowCommitRefused: 0,
    truncatedEvents: 0,
    preVotesStarted: 0,
    electionsStarted: 0,
    electionsWon: 0,
    electionsLost: 0,
    quorumLostStepDowns: 0,
    higherEpochStepDowns: 0,
    votesGranted: 0,
    votesRefused: 0,
    votesRefusedBy: {
      'stale-epoch': 0,
      'leader-live': 0,
      'already-voted': 0,
      'log-behind': 0,
      'may-not-vote': 0,
      'election-live': 0,
    },
    preVotesLost: 0,
    bootstraps: 0,
    transfersStarted: 0,
    transfersAbandoned: 0,
    transfersStood: 0,
    standNowIgnored: 0,
    leadershipReturns: 0,
  };
}

/** The state at open, from what the durable state file held. */
export function createQuorumState(options: ChannelQuorumOptions): QuorumState {
  const members = [...new Set(options.replicaSet)];
  return {
    selfId: options.selfId,
    members,
    peers: members.filter((id) => id !== options.selfId),
    isMember: members.includes(options.selfId),
    heartbeatMs: options.heartbeatMs,
    silenceMs: options.silenceMs,
    history: new EpochHistory(options.durable.history),
    counters: emptyCounters(),
    epoch: options.durable.epoch,
    votedFor: options.durable.votedFor,
    votedAtMs: null,
    commitSeq: 0,
    mayVote: options.mayVote,
    leader: null,
    leaderHeardMs: null,
    waitingSinceMs: options.nowMs,
    standAtMs: null,
    preferredWaitSinceMs: null,
    leaderSeen: false,
    preferredHeardSinceMs: null,
    election: null,
    electionsLostInRow: 0,
    matchingTail: 0,
    matched: new Map(),
    contactMs: new Map(),
    epochStartSeq: 0,
    peerEpochs: new Map(),
    transfer: null,
    preferredReadyMs: null,
    returnNotBeforeMs: 0,
  };
}

/**
 * True while a current-epoch leader was heard within the silence window, or this node leads — or
 * has just won and is writing its epoch's history entry (still a Candidate to the runtime): a vote
 * granted meanwhile would depose it before it ever led.
 */
export function isLeaderLive(s: QuorumState, role: QuorumRole, nowMs: number): boolean {
  if (role === 'leader' || s.leader === s.selfId) return true;
  return s.leaderHeardMs !== null && nowMs - s.leaderHeardMs < s.silenceMs;
}

/** Adopts a higher epoch: forget the vote and the leader; a Leader or Candidate steps down. */
export function adopt(
  s: QuorumState,
  epoch: number,
  role: QuorumRole,
  nowMs: number,
  effects: QuorumEffect[],
): void {
  const previous = s.epoch;
  s.epoch = epoch;
  s.votedFor = null;
  s.votedAtMs = null;
  s.matchingTail = 0;
  s.election = null;
  s.standAtMs = null;
  stepDown(s, nowMs);
  effects.push({ kind: 'persist-vote', epoch, votedFor: null });
  if (role === 'leader') {
    s.counters.higherEpochStepDowns++;
    effects.push({ kind: 'leadership-lost', epoch: previous });
    effects.push({ kind: 'become', role: 'replica', reason: 'higher-epoch' });
  } else if (role === 'candidate') {
    effects.push({ kind: 'become', role: 'replica', reason: 'higher-epoch' });
  }
}

/**
 * The common gate of every epoch-carrying frame: false (drop, counted) for a lower epoch;
 * adopts a higher one.
 */
export function admit(
  s: QuorumState,
  epoch: number,
  role: QuorumRole,
  nowMs: number,
  effects: QuorumEffect[],
): boolean {
  if (epoch < s.epoch) {
    s.counters.staleEpochDrops++;
    return false;
  }
  if (epoch > s.epoch) adopt(s, epoch, role, nowMs, effects);
  return true;
}

export function followLeader(
  s: QuorumState,
  from: NodeId,
  role: QuorumRole,
  nowMs: number,
  effects: QuorumEffect[],
): void {
  if (s.leader !== from) s.matchingTail = 0;
  s.leader = from;
  s.leaderHeardMs = nowMs;
  s.leaderSeen = true;
  s.standAtMs = null;
  s.electionsLostInRow = 0;
  if (s.election !== null) {
    s.election = null;
    if (role === 'candidate') {
      s.counters.electionsLost++;
      effects.push({ kind: 'become', role: 'replica', reason: 'election-lost' });
    }
  }
}

/** All members reported epoch 0 and this node has no state either: a new replica set. */
/**
 * A node that may not vote (it may have lost state) starts voting when a majority of the replica
 * set, itself included, is new — epoch 0, never led — so a channel created while a member is down
 * still gets a leader. Safe within the promise: a member that held an acknowledged event also
 * holds its epoch (> 0), so a new majority means a majority lost what it held.
 */
export function maybeBootstrap(s: QuorumState): void {
  if (s.mayVote || s.epoch !== 0 || s.history.length > 0) return;
  let fresh = 1;
  for (const peer of s.peers) if (s.peerEpochs.get(peer) === 0) fresh++;
  if (fresh < quorumSize(s.members.length)) return;
  s.mayVote = true;
  s.counters.bootstraps++;
}

export function advanceLeaderCommit(
  s: QuorumState,
  nextSeq: number,
  effects: QuorumEffect[],
): void {
  const next = leaderCommitSeq({
    selfId: s.selfId,
    replicaSet: s.members,
    selfNextSeq: nextSeq,
    matched: s.matched,
    epochStartSeq: s.epochStartSeq,
    commitSeq: s.commitSeq,
  });
  if (next > s.commitSeq) {
    s.commitSeq = next;
    effects.push({ kind: 'commit', commitSeq: next });
  }
}

export function advanceReplicaCommit(
  s: QuorumState,
  leaderCommit: number,
  effects: QuorumEffect[],
): void {
  const next = replicaCommitSeq(s.commitSeq, leaderCommit, s.matchingTail);
  if (!s.mayVote && s.matchingTail >= leaderCommit) s.mayVote = true;
  if (next > s.commitSeq) {
    s.commitSeq = next;
    effects.push({ kind: 'commit', commitSeq: next });
  }
}

export function stepDown(s: QuorumState, nowMs: number): void {
  s.leader = null;
  s.leaderHeardMs = null;
  s.waitingSinceMs = nowMs;
  s.matched.clear();
  s.contactMs.clear();
  s.transfer = null;
}
