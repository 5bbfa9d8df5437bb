// The vocabulary of a channel's quorum logic: its roles, the effects it asks the runtime to
// perform, the counters it keeps, its options, and the mutable state that the facade
// (`channel-quorum.ts`), the shared transitions (`quorum-state.ts`) and the election
// (`election.ts`) operate on. Types only, plus `roleAfter`.

import type { NodeId } from '../../wire/types.js';
import type { EpochEntry, EpochHistory } from './epoch-history.js';
import type { VoteRefusal } from './vote.js';

/** The four roles as this module sees them (the coordinator holds the real one). */
export type QuorumRole = 'leader' | 'candidate' | 'replica' | 'idle';

/** Why the quorum logic asks for a role change. */
export type QuorumTransitionReason =
  | 'pre-vote-won'
  | 'stand-now'
  | 'election-won'
  | 'election-lost'
  | 'higher-epoch'
  | 'quorum-lost';

export type QuorumEffect =
  /** Make epoch + vote durable (temp → fsync → rename) before performing what follows. */
  | { readonly kind: 'persist-vote'; readonly epoch: number; readonly votedFor: NodeId | null }
  /** Make the history entry durable before the first event of `epoch` is written. */
  | { readonly kind: 'persist-epoch-start'; readonly epoch: number; readonly startSeq: number }
  /** Drop durable history entries at or after `fromSeq` (after the log was cut there). */
  | { readonly kind: 'persist-history-truncate'; readonly fromSeq: number }
  /** Cut the log to `fromSeq` durably, then call `afterTruncate(fromSeq)`. */
  | { readonly kind: 'truncate-log'; readonly fromSeq: number }
  | {
      readonly kind: 'send-vote-request';
      readonly to: NodeId;
      readonly epoch: number;
      readonly lastEpoch: number;
      readonly nextSeq: number;
      readonly preVote: boolean;
      readonly transfer: boolean;
    }
  | {
      readonly kind: 'send-vote-response';
      readonly to: NodeId;
      readonly epoch: number;
      readonly granted: boolean;
      readonly preVote: boolean;
    }
  | {
      readonly kind: 'become';
      readonly role: Exclude<QuorumRole, 'idle'>;
      readonly reason: QuorumTransitionReason;
    }
  /** This node no longer leads `epoch`: every acknowledgement still waiting on it fails. */
  | { readonly kind: 'leadership-lost'; readonly epoch: number }
  /** Leadership transfer: tell `to`, caught up with this leader, to stand for election now. */
  | {
      readonly kind: 'send-stand-now';
      readonly to: NodeId;
      readonly epoch: number;
      /** The log's end the decision saw; the runtime sends only if no write is still landing. */
      readonly nextSeq: number;
    }
  | { readonly kind: 'commit'; readonly commitSeq: number };

/** Epoch fields of a heartbeat; absent on a peer that speaks the original protocol. */
export interface HeartbeatEpochs {
  readonly epoch: number;
  readonly lastEpoch: number;
  readonly commitSeq: number;
}

export interface QuorumCounters {
  staleEpochDrops: number;
  /** Frames without epoch fields where they are required (a peer of the original protocol). */
  noEpochDrops: number;
  /** Two Leaders of one epoch: the protocol forbids it; counted and asserted by the checks. */
  sameEpochLeaders: number;
  divergedWithoutProgress: number;
  /** A Diverged answer to a request from another position than the log's end now. */
  staleDiverged: number;
  /** A Diverged answer that would cut below commit: refused (a bug or a lying peer). */
  truncationBelowCommitRefused: number;
  truncatedEvents: number;
  preVotesStarted: number;
  electionsStarted: number;
  electionsWon: number;
  electionsLost: number;
  quorumLostStepDowns: number;
  higherEpochStepDowns: number;
  votesGranted: number;
  votesRefused: number;
  /** Of those, by reason (vote.ts `VoteRefusal`): pre-votes and votes together. */
  readonly votesRefusedBy: Record<VoteRefusal, number>;
  /** Pre-votes this node asked for that ended without a majority (timed out or gave way). */
  preVotesLost: number;
  bootstraps: number;
  transfersStarted: number;
  /** A transfer whose target did not win within the silence window: the leader resumed. */
  transfersAbandoned: number;
  /** Stand-now messages this node acted on (it started an election at once). */
  transfersStood: number;
  /** Stand-now messages ignored: not from this epoch's leader, or this node may not stand. */
  standNowIgnored: number;
  /** Transfers this node started on its own to give the channel back to its preferred member. */
  leadershipReturns: number;
}

export interface ChannelQuorumOptions {
  readonly selfId: NodeId;
  /** Every member, this node included. */
  readonly replicaSet: readonly NodeId[];
  readonly heartbeatMs: number;
  /** How long without a live leader (or without a majority, for a leader) counts as lost. */
  readonly silenceMs: number;
  /** What the durable state file held at open (epoch 0, no vote, no history for a new log). */
  readonly durable: {
    readonly epoch: number;
    readonly votedFor: NodeId | null;
    readonly history: readonly EpochEntry[];
  };
  /**
   * False after a start that may have lost acknowledged state (an in-memory channel, or an
   * unclean stop without `fsync: 'always'`): the node neither votes nor stands until it caught
   * up with a leader's commit, or every member is found to be new (bootstrap).
   */
  readonly mayVote: boolean;
  readonly nowMs: number;
}

/** A leader handing its leadership to `target` (appends are refused meanwhile). */
export interface LeadershipTransfer {
  readonly target: NodeId;
  readonly startedMs: number;
  /** The stand-now message left (the target was caught up); it is sent once. */
  standSent: boolean;
}

export interface Election {
  readonly preVote: boolean;
  readonly epoch: number;
  readonly grants: Set<NodeId>;
  /** When it began; for a vote, moved to when the candidate's own vote became durable. */
  startedMs: number;
  /**
   * A vote: how long the candidate's own vote took to become durable (at most
   * ELECTION_GRACE_WINDOWS_MAX silence windows), added to its window: each voter writes its vote
   * before answering, on a disk likely as busy as the candidate's. 0 for a pre-vote.
   */
  graceMs: number;
}

/** Everything the quorum logic of one channel holds; only the quorum modules change it. */
export interface QuorumState {
  readonly selfId: NodeId;
  readonly members: readonly NodeId[];
  readonly peers: readonly NodeId[];
  readonly isMember: boolean;
  readonly heartbeatMs: number;
  readonly silenceMs: number;
  readonly history: EpochHistory;
  readonly counters: QuorumCounters;
  epoch: number;
  votedFor: NodeId | null;
  /** When this node granted its vote of `epoch` to another candidate, or null. */
  votedAtMs: number | null;
  commitSeq: number;
  mayVote: boolean;
  /** The current epoch's leader as far as this node knows (self when leading). */
  leader: NodeId | null;
  leaderHeardMs: number | null;
  /** When this node started waiting for a leader (start, step-down, granted vote). */
  waitingSinceMs: number;
  standAtMs: number | null;
  /**
   * Replica, not the preferred member: since when it holds its candidacy back for the preferred
   * member, never heard on this channel though its node is live (see election.ts); null once a
   * leader is heard.
   */
  preferredWaitSinceMs: number | null;
  /** A leader of this channel was known here since the open: no more holding for the preferred. */
  leaderSeen: boolean;
  /**
   * Since when the preferred member is heard on this channel without a gap, as the periodic
   * checks saw it (so at most a period late, or later than it was if it was heard at the open).
   */
  preferredHeardSinceMs: number | null;
  election: Election | null;
  /**
   * (Pre-)vote elections of this node that ran out of time since it last followed a leader or
   * won (capped at ELECTION_BACKOFF_WINDOWS_MAX): each adds a random wait before the next stand.
   */
  electionsLostInRow: number;
  /** Replica: its log matches the current leader's below this seq. */
  matchingTail: number;
  // Leader: per peer, the validated position and the last current-epoch contact.
  readonly matched: Map<NodeId, number>;
  readonly contactMs: Map<NodeId, number>;
  epochStartSeq: number;
  /** Latest epoch each peer reported (heartbeats); for the all-new bootstrap rule. */
  readonly peerEpochs: Map<NodeId, number>;
  /** Leader: the transfer in progress, if any; cleared when this node stops leading. */
  transfer: LeadershipTransfer | null;
  /** Leader: since when the preferred member has been in touch and nearly caught up. */
  preferredReadyMs: number | null;
  /** Leader: no automatic return of the leadership before this time (after one failed). */
  returnNotBeforeMs: number;
}

/** The role once the queued `become` effects are performed. */
export function roleAfter(role: QuorumRole, effects: readonly QuorumEffect[]): QuorumRole {
  let current = role;
  for (const effect of effects) if (effect.kind === 'become') current = effect.role;
  return current;
}
