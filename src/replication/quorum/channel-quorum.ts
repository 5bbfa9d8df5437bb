// The quorum state of one replicated channel on this node — epoch, vote, epoch history, commit,
// the leader's view of its replicas, and the election in progress — and every decision that
// reads or changes it. Pure: each method takes the message, the local facts it needs (role, next
// seq) and `nowMs`, updates this object, and returns the effects the runtime must perform, in
// order. Effects that make state durable come before anything that depends on them (a vote is on
// disk before the answer leaves; an epoch's history entry before its first event is written).
//
// The rules, in short:
// - a node only follows a leader of its own epoch; a frame from a lower epoch is dropped and
//   counted, a higher epoch is adopted at once (a Leader or Candidate steps down);
// - only a current-epoch Leader heartbeat (or response) proves the leader alive; a claimed tail
//   never decides who leads;
// - a replica that heard no leader for the silence window asks for pre-votes, then for votes,
//   best-placed first (vote.ts); a majority makes it Leader of the next epoch;
// - a leader steps down when a majority has not been in touch for the silence window
//   (check quorum), or when anyone shows it a higher epoch;
// - commit counts only positions that match the leader's history (commit.ts, fetch-check.ts).

import type { NodeId } from '../../wire/types.js';
import { leaderCommitSeq, quorumSize, replicaCommitSeq } from './commit.js';
import { type EpochEntry, EpochHistory } from './epoch-history.js';
import { checkFetch, positionMatches, truncationPoint, UNKNOWN_EPOCH } from './fetch-check.js';
import { decideVote, hasQuorum, standDelayMs, type VoteAsk } from './vote.js';

/** The four roles as this module sees them (the coordinator holds the real one). */
export type QuorumRole = 'leader' | 'candidate' | 'replica' | 'idle';

/** Why the quorum logic asks for a role change. */
export type QuorumTransitionReason =
  | 'pre-vote-won'
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
  bootstraps: number;
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

interface Election {
  readonly preVote: boolean;
  readonly epoch: number;
  readonly grants: Set<NodeId>;
  readonly startedMs: number;
}

export class ChannelQuorum {
  readonly selfId: NodeId;
  readonly members: readonly NodeId[];
  readonly peers: readonly NodeId[];
  readonly heartbeatMs: number;
  readonly silenceMs: number;
  readonly history: EpochHistory;
  readonly counters: QuorumCounters = {
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
    bootstraps: 0,
  };

  readonly #isMember: boolean;
  #epoch: number;
  #votedFor: NodeId | null;
  #commitSeq = 0;
  #mayVote: boolean;
  /** The current epoch's leader as far as this node knows (self when leading). */
  #leader: NodeId | null = null;
  #leaderHeardMs: number | null = null;
  /** When this node started waiting for a leader (start, step-down, granted vote). */
  #waitingSinceMs: number;
  #standAtMs: number | null = null;
  #election: Election | null = null;
  /** Replica: its log matches the current leader's below this seq. */
  #matchingTail = 0;
  // Leader: per peer, the validated position and the last current-epoch contact.
  readonly #matched = new Map<NodeId, number>();
  readonly #contactMs = new Map<NodeId, number>();
  #epochStartSeq = 0;
  /** Latest epoch each peer reported (heartbeats); for the all-new bootstrap rule. */
  readonly #peerEpochs = new Map<NodeId, number>();

  constructor(options: ChannelQuorumOptions) {
    this.selfId = options.selfId;
    this.members = [...new Set(options.replicaSet)];
    this.peers = this.members.filter((id) => id !== options.selfId);
    this.#isMember = this.members.includes(options.selfId);
    this.heartbeatMs = options.heartbeatMs;
    this.silenceMs = options.silenceMs;
    this.#epoch = options.durable.epoch;
    this.#votedFor = options.durable.votedFor;
    this.history = new EpochHistory(options.durable.history);
    this.#mayVote = options.mayVote;
    this.#waitingSinceMs = options.nowMs;
  }

  get epoch(): number {
    return this.#epoch;
  }

  get votedFor(): NodeId | null {
    return this.#votedFor;
  }

  get commitSeq(): number {
    return this.#commitSeq;
  }

  get mayVote(): boolean {
    return this.#mayVote;
  }

  /** The current epoch's leader as known here, or null. */
  get leader(): NodeId | null {
    return this.#leader;
  }

  get matchingTail(): number {
    return this.#matchingTail;
  }

  /** Leader: each peer's validated position (matches this log below it). */
  get matched(): ReadonlyMap<NodeId, number> {
    return this.#matched;
  }

  get epochStartSeq(): number {
    return this.#epochStartSeq;
  }

  get electionInProgress(): 'pre-vote' | 'vote' | null {
    if (this.#election === null) return null;
    return this.#election.preVote ? 'pre-vote' : 'vote';
  }

  /** Epoch of the local log's last event. */
  lastEpoch(nextSeq: number): number {
    return this.history.lastEpoch(nextSeq);
  }

  /** True while a current-epoch leader was heard within the silence window (or this node leads). */
  leaderIsLive(role: QuorumRole, nowMs: number): boolean {
    if (role === 'leader') return true;
    return this.#leaderHeardMs !== null && nowMs - this.#leaderHeardMs < this.silenceMs;
  }

  // ─── epochs ────────────────────────────────────────────────────────────────────────────────

  /** Adopts a higher epoch: forget the vote and the leader; a Leader or Candidate steps down. */
  #adopt(epoch: number, role: QuorumRole, nowMs: number, effects: QuorumEffect[]): void {
    const previous = this.#epoch;
    this.#epoch = epoch;
    this.#votedFor = null;
    this.#leader = null;
    this.#leaderHeardMs = null;
    this.#matchingTail = 0;
    this.#election = null;
    this.#standAtMs = null;
    this.#waitingSinceMs = nowMs;
    this.#matched.clear();
    this.#contactMs.clear();
    effects.push({ kind: 'persist-vote', epoch, votedFor: null });
    if (role === 'leader') {
      this.counters.higherEpochStepDowns++;
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
  #admit(epoch: number, role: QuorumRole, nowMs: number, effects: QuorumEffect[]): boolean {
    if (epoch < this.#epoch) {
      this.counters.staleEpochDrops++;
      return false;
    }
    if (epoch > this.#epoch) this.#adopt(epoch, role, nowMs, effects);
    return true;
  }

  // ─── heartbeats ────────────────────────────────────────────────────────────────────────────

  /**
   * A heartbeat from a member. `fromLiveLeader` is true when it proved the current leader alive
   * (then the caller may catch up to the claimed tail).
   */
  onHeartbeat(input: {
    readonly from: NodeId;
    readonly claimsLeader: boolean;
    readonly tailSeq: number;
    readonly epochs: HeartbeatEpochs | undefined;
    readonly role: QuorumRole;
    readonly nextSeq: number;
    readonly nowMs: number;
  }): { readonly effects: QuorumEffect[]; readonly fromLiveLeader: boolean } {
    const effects: QuorumEffect[] = [];
    const { from, epochs, nowMs } = input;
    if (epochs === undefined) {
      this.counters.noEpochDrops++;
      return { effects, fromLiveLeader: false };
    }
    this.#peerEpochs.set(from, epochs.epoch);
    if (!this.#admit(epochs.epoch, input.role, nowMs, effects)) {
      return { effects, fromLiveLeader: false };
    }
    const role = roleAfter(input.role, effects);
    if (input.claimsLeader) {
      if (role === 'leader') {
        this.counters.sameEpochLeaders++;
        return { effects, fromLiveLeader: false };
      }
      this.#followLeader(from, role, nowMs, effects);
      if (
        input.tailSeq <= input.nextSeq &&
        this.history.lastEpoch(input.tailSeq) === epochs.lastEpoch
      ) {
        this.#matchingTail = Math.max(this.#matchingTail, input.tailSeq);
      }
      this.#advanceReplicaCommit(epochs.commitSeq, effects);
      return { effects, fromLiveLeader: true };
    }
    this.#maybeBootstrap();
    if (role === 'leader' && epochs.epoch === this.#epoch) {
      this.#contactMs.set(from, nowMs);
      if (positionMatches(this.history, input.nextSeq, input.tailSeq, epochs.lastEpoch)) {
        this.#matched.set(from, input.tailSeq);
        this.#advanceLeaderCommit(input.nextSeq, effects);
      }
    }
    return { effects, fromLiveLeader: false };
  }

  #followLeader(from: NodeId, role: QuorumRole, nowMs: number, effects: QuorumEffect[]): void {
    if (this.#leader !== from) this.#matchingTail = 0;
    this.#leader = from;
    this.#leaderHeardMs = nowMs;
    this.#standAtMs = null;
    if (this.#election !== null) {
      this.#election = null;
      if (role === 'candidate') {
        this.counters.electionsLost++;
        effects.push({ kind: 'become', role: 'replica', reason: 'election-lost' });
      }
    }
  }

  /** All members reported epoch 0 and this node has no state either: a new replica set. */
  #maybeBootstrap(): void {
    if (this.#mayVote || this.#epoch !== 0 || this.history.length > 0) return;
    for (const peer of this.peers) {
      if (this.#peerEpochs.get(peer) !== 0) return;
    }
    this.#mayVote = true;
    this.counters.bootstraps++;
  }

  // ─── fetch (leader side) ─────────────────────────────────────────────────────────────────

  /**
   * A SyncRequest. `serve` false means answer NotLeader (this node does not lead, or just
   * stepped down); a `diverged` answer is sent instead of events.
   */
  onFetch(input: {
    readonly from: NodeId;
    readonly sinceSeq: number;
    readonly epochs: { readonly epoch: number; readonly lastFetchedEpoch: number } | undefined;
    readonly role: QuorumRole;
    readonly nextSeq: number;
    readonly nowMs: number;
  }): {
    readonly effects: QuorumEffect[];
    readonly serve: boolean;
    readonly diverged: { readonly divergingEpoch: number; readonly endSeq: number } | null;
  } {
    const effects: QuorumEffect[] = [];
    const { epochs } = input;
    if (epochs === undefined) {
      // A peer of the original protocol may copy the log, but its position never counts.
      return { effects, serve: input.role === 'leader', diverged: null };
    }
    if (!this.#admit(epochs.epoch, input.role, input.nowMs, effects)) {
      // A requester from an older epoch still gets served: the answer teaches it the epoch.
      return this.#fetchAsLeader(input, epochs.lastFetchedEpoch, false, effects);
    }
    if (roleAfter(input.role, effects) !== 'leader')
      return { effects, serve: false, diverged: null };
    return this.#fetchAsLeader(
      input,
      epochs.lastFetchedEpoch,
      epochs.epoch === this.#epoch,
      effects,
    );
  }

  #fetchAsLeader(
    input: {
      readonly from: NodeId;
      readonly sinceSeq: number;
      readonly role: QuorumRole;
      readonly nextSeq: number;
      readonly nowMs: number;
    },
    lastFetchedEpoch: number,
    currentEpoch: boolean,
    effects: QuorumEffect[],
  ) {
    if (input.role !== 'leader') return { effects, serve: false, diverged: null };
    if (currentEpoch) this.#contactMs.set(input.from, input.nowMs);
    const verdict = checkFetch(this.history, input.nextSeq, input.sinceSeq, lastFetchedEpoch);
    if (verdict.kind === 'diverged') {
      return {
        effects,
        serve: false,
        diverged: { divergingEpoch: verdict.divergingEpoch, endSeq: verdict.endSeq },
      };
    }
    if (currentEpoch && lastFetchedEpoch !== UNKNOWN_EPOCH) {
      this.#matched.set(input.from, input.sinceSeq);
      this.#advanceLeaderCommit(input.nextSeq, effects);
    }
    return { effects, serve: true, diverged: null };
  }

  /** Leader: the runs of epochs covering the events of a response `[fromSeq, toSeq)`. */
  runsFor(fromSeq: number, toSeq: number): EpochEntry[] {
    return this.history.runsBetween(fromSeq, toSeq);
  }

  // ─── responses and truncation (replica side) ─────────────────────────────────────────────

  /**
   * Before applying a response from `from`: admit its epoch, and make durable the history
   * entries its events need. `accept` false means drop it.
   */
  beforeApply(input: {
    readonly from: NodeId;
    readonly epochs:
      | { readonly epoch: number; readonly commitSeq: number; readonly runs: readonly EpochEntry[] }
      | undefined;
    readonly role: QuorumRole;
    readonly nextSeq: number;
    readonly nowMs: number;
  }): { readonly effects: QuorumEffect[]; readonly accept: boolean } {
    const effects: QuorumEffect[] = [];
    const { epochs } = input;
    if (epochs === undefined) {
      this.counters.noEpochDrops++;
      return { effects, accept: false };
    }
    if (!this.#admit(epochs.epoch, input.role, input.nowMs, effects))
      return { effects, accept: false };
    const role = roleAfter(input.role, effects);
    if (role === 'leader') {
      this.counters.sameEpochLeaders++;
      return { effects, accept: false };
    }
    this.#followLeader(input.from, role, input.nowMs, effects);
    // Entries at or past our next seq describe epochs that wrote nothing here (a leadership of
    // ours that ended empty): the leader's runs replace them.
    const firstRun = epochs.runs[0];
    if (firstRun !== undefined && this.history.latestEpoch > 0) {
      const stale = this.history.entries.at(-1) as EpochEntry;
      if (stale.startSeq >= input.nextSeq && stale.epoch >= firstRun.epoch) {
        this.history.truncateFrom(input.nextSeq);
        effects.push({ kind: 'persist-history-truncate', fromSeq: input.nextSeq });
      }
    }
    for (const run of epochs.runs) {
      if (run.epoch <= this.history.latestEpoch) continue;
      const startSeq = Math.max(run.startSeq, input.nextSeq);
      this.history.append(run.epoch, startSeq);
      effects.push({ kind: 'persist-epoch-start', epoch: run.epoch, startSeq });
    }
    return { effects, accept: true };
  }

  /** After a response from the current leader was applied: the log matches it up to `newTail`. */
  afterApply(newTail: number, leaderCommitSeq: number): QuorumEffect[] {
    const effects: QuorumEffect[] = [];
    this.#matchingTail = newTail;
    this.#advanceReplicaCommit(leaderCommitSeq, effects);
    return effects;
  }

  /**
   * A `Diverged` answer from the leader to a request from `sinceSeq`: where to cut, or nothing
   * (counted). The answer must be about the log as it is now: one to a request sent before the
   * log last changed under it is stale and cutting by it could remove events the leader already
   * counted. So the caller forgets every request token it sent before a truncation, and an
   * answer for another position than the log's end is ignored here.
   */
  onDiverged(input: {
    readonly sinceSeq: number;
    readonly divergingEpoch: number;
    readonly endSeq: number;
    readonly nextSeq: number;
  }): QuorumEffect[] {
    if (input.sinceSeq !== input.nextSeq) {
      this.counters.staleDiverged++;
      return [];
    }
    const point = truncationPoint(this.history, input.nextSeq, input.divergingEpoch, input.endSeq);
    if (point === null) {
      this.counters.divergedWithoutProgress++;
      return [];
    }
    if (point < this.#commitSeq) {
      this.counters.truncationBelowCommitRefused++;
      return [];
    }
    this.counters.truncatedEvents += input.nextSeq - point;
    this.#matchingTail = Math.min(this.#matchingTail, point);
    return [{ kind: 'truncate-log', fromSeq: point }];
  }

  /** The log was cut to `fromSeq` durably: the history follows. */
  afterTruncate(fromSeq: number): QuorumEffect[] {
    if (this.history.truncateFrom(fromSeq) === 0) return [];
    return [{ kind: 'persist-history-truncate', fromSeq }];
  }

  /**
   * A skip-ahead to `seq` over a range the leader no longer holds: this log has no event before
   * `seq` and no longer knows the epochs there. Until it holds an event again its requests say
   * so (`UNKNOWN_EPOCH`).
   */
  afterSkip(): QuorumEffect[] {
    if (this.history.truncateFrom(0) === 0) return [];
    return [{ kind: 'persist-history-truncate', fromSeq: 0 }];
  }

  /**
   * The `lastFetchedEpoch` of a request from `sinceSeq` by a log whose first retained event is
   * `firstSeq` (null when it retains none): UNKNOWN_EPOCH when the event before `sinceSeq` is not
   * in the log (skipped over, or evicted by retention) and the history does not cover it.
   */
  fetchEpoch(sinceSeq: number, firstSeq: number | null): number {
    if (sinceSeq <= 0) return 0;
    const held = firstSeq !== null && firstSeq <= sinceSeq - 1;
    const covered = (this.history.entries[0]?.startSeq ?? Number.POSITIVE_INFINITY) <= sinceSeq - 1;
    return held || covered ? this.history.lastEpoch(sinceSeq) : UNKNOWN_EPOCH;
  }

  // ─── commit ────────────────────────────────────────────────────────────────────────────────

  /** Leader: its own log grew (a single-member set commits on its own). */
  onLocalAppend(nextSeq: number): QuorumEffect[] {
    const effects: QuorumEffect[] = [];
    this.#advanceLeaderCommit(nextSeq, effects);
    return effects;
  }

  #advanceLeaderCommit(nextSeq: number, effects: QuorumEffect[]): void {
    const next = leaderCommitSeq({
      selfId: this.selfId,
      replicaSet: this.members,
      selfNextSeq: nextSeq,
      matched: this.#matched,
      epochStartSeq: this.#epochStartSeq,
      commitSeq: this.#commitSeq,
    });
    if (next > this.#commitSeq) {
      this.#commitSeq = next;
      effects.push({ kind: 'commit', commitSeq: next });
    }
  }

  #advanceReplicaCommit(leaderCommit: number, effects: QuorumEffect[]): void {
    const next = replicaCommitSeq(this.#commitSeq, leaderCommit, this.#matchingTail);
    if (!this.#mayVote && this.#matchingTail >= leaderCommit) this.#mayVote = true;
    if (next > this.#commitSeq) {
      this.#commitSeq = next;
      effects.push({ kind: 'commit', commitSeq: next });
    }
  }

  // ─── elections ─────────────────────────────────────────────────────────────────────────────

  /**
   * The periodic check. Leader: check quorum. Candidate: give up an election that took a
   * silence window. Replica: stand (pre-vote) once the leader is silent and this node's turn
   * in the priority order came. `livePeers` are the members heard within the silence window
   * with their claimed (last epoch, next seq); `jitterMs` breaks ties between equal views.
   */
  tick(input: {
    readonly role: QuorumRole;
    readonly nextSeq: number;
    readonly nowMs: number;
    readonly livePeers: Iterable<{
      readonly nodeId: NodeId;
      readonly lastEpoch: number;
      readonly nextSeq: number;
    }>;
    readonly jitterMs: number;
  }): QuorumEffect[] {
    const effects: QuorumEffect[] = [];
    const { role, nowMs } = input;
    this.#maybeBootstrap();
    if (role === 'leader') {
      let inTouch = 1;
      for (const peer of this.peers) {
        const contact = this.#contactMs.get(peer);
        if (contact !== undefined && nowMs - contact < this.silenceMs) inTouch++;
      }
      if (inTouch < quorumSize(this.members.length)) {
        this.counters.quorumLostStepDowns++;
        this.#stepDown(nowMs);
        effects.push({ kind: 'leadership-lost', epoch: this.#epoch });
        effects.push({ kind: 'become', role: 'replica', reason: 'quorum-lost' });
      }
      return effects;
    }
    const election = this.#election;
    if (election !== null && nowMs - election.startedMs >= this.silenceMs) {
      this.#election = null;
      this.#waitingSinceMs = nowMs;
      if (role === 'candidate') {
        this.counters.electionsLost++;
        effects.push({ kind: 'become', role: 'replica', reason: 'election-lost' });
      }
      return effects;
    }
    // A node outside the replica set holds no vote to ask for and never leads it.
    if (role !== 'replica' || election !== null || !this.#mayVote || !this.#isMember) {
      return effects;
    }
    const heard = this.#leaderHeardMs ?? this.#waitingSinceMs;
    if (nowMs - heard < this.silenceMs) return effects;
    if (this.#standAtMs === null) {
      const self = {
        nodeId: this.selfId,
        lastEpoch: this.lastEpoch(input.nextSeq),
        nextSeq: input.nextSeq,
      };
      // The best-placed member stands at once; the others wait their turn plus a random part,
      // which separates two nodes whose views of the others differ.
      const delayMs = standDelayMs(self, input.livePeers, this.heartbeatMs);
      this.#standAtMs = nowMs + (delayMs === 0 ? 0 : delayMs + input.jitterMs);
    }
    if (nowMs < this.#standAtMs) return effects;
    this.#standAtMs = null;
    this.#leader = null;
    this.counters.preVotesStarted++;
    this.#election = {
      preVote: true,
      epoch: this.#epoch + 1,
      grants: new Set([this.selfId]),
      startedMs: nowMs,
    };
    this.#askVotes(input.nextSeq, false, nowMs, effects);
    return effects;
  }

  #stepDown(nowMs: number): void {
    this.#leader = null;
    this.#leaderHeardMs = null;
    this.#waitingSinceMs = nowMs;
    this.#matched.clear();
    this.#contactMs.clear();
  }

  #askVotes(nextSeq: number, transfer: boolean, nowMs: number, effects: QuorumEffect[]): void {
    const election = this.#election as Election;
    const lastEpoch = this.lastEpoch(nextSeq);
    for (const to of this.peers) {
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
    this.#tally(nextSeq, nowMs, effects);
  }

  /** A majority of grants moves the election on: pre-vote → vote, vote → Leader. */
  #tally(nextSeq: number, nowMs: number, effects: QuorumEffect[]): void {
    const election = this.#election;
    if (election === null || !hasQuorum(election.grants, this.members)) return;
    if (election.preVote) {
      this.counters.electionsStarted++;
      this.#epoch = election.epoch;
      this.#votedFor = this.selfId;
      this.#leader = null;
      this.#leaderHeardMs = null;
      this.#matchingTail = 0;
      this.#election = {
        preVote: false,
        epoch: election.epoch,
        grants: new Set([this.selfId]),
        startedMs: nowMs,
      };
      effects.push({ kind: 'persist-vote', epoch: election.epoch, votedFor: this.selfId });
      effects.push({ kind: 'become', role: 'candidate', reason: 'pre-vote-won' });
      this.#askVotes(nextSeq, false, nowMs, effects);
      return;
    }
    this.counters.electionsWon++;
    this.#election = null;
    this.#leader = this.selfId;
    this.#leaderHeardMs = null;
    this.#epochStartSeq = nextSeq;
    this.#matched.clear();
    this.#contactMs.clear();
    // A new leader gets one silence window to hear from its majority before check quorum bites.
    for (const peer of this.peers) this.#contactMs.set(peer, nowMs);
    this.history.append(this.#epoch, nextSeq);
    effects.push({ kind: 'persist-epoch-start', epoch: this.#epoch, startSeq: nextSeq });
    effects.push({ kind: 'become', role: 'leader', reason: 'election-won' });
    this.#advanceLeaderCommit(nextSeq, effects);
  }

  onVoteRequest(input: {
    readonly from: NodeId;
    readonly ask: Omit<VoteAsk, 'candidate'>;
    readonly role: QuorumRole;
    readonly nextSeq: number;
    readonly nowMs: number;
  }): QuorumEffect[] {
    const effects: QuorumEffect[] = [];
    const { ask, nowMs } = input;
    const decision = decideVote(
      {
        epoch: this.#epoch,
        votedFor: this.#votedFor,
        lastEpoch: this.lastEpoch(input.nextSeq),
        nextSeq: input.nextSeq,
        leaderIsLive: this.leaderIsLive(input.role, nowMs),
        mayVote: this.#mayVote,
      },
      { ...ask, candidate: input.from },
    );
    if (decision.adoptsEpoch) this.#adopt(ask.epoch, input.role, nowMs, effects);
    if (decision.persist !== null) {
      this.#votedFor = decision.persist.votedFor;
      // #adopt already queued the epoch with no vote; the vote replaces that write.
      const last = effects.findIndex((effect) => effect.kind === 'persist-vote');
      const write: QuorumEffect = { kind: 'persist-vote', ...decision.persist };
      if (last >= 0) effects[last] = write;
      else effects.unshift(write);
    }
    if (decision.granted) {
      this.counters.votesGranted++;
      if (!ask.preVote) {
        // Give the candidate its chance before standing ourselves.
        this.#waitingSinceMs = nowMs;
        this.#standAtMs = null;
      }
    } else {
      this.counters.votesRefused++;
    }
    effects.push({
      kind: 'send-vote-response',
      to: input.from,
      epoch: decision.granted ? ask.epoch : this.#epoch,
      granted: decision.granted,
      preVote: ask.preVote,
    });
    return effects;
  }

  onVoteResponse(input: {
    readonly from: NodeId;
    readonly epoch: number;
    readonly granted: boolean;
    readonly preVote: boolean;
    readonly role: QuorumRole;
    readonly nextSeq: number;
    readonly nowMs: number;
  }): QuorumEffect[] {
    const effects: QuorumEffect[] = [];
    if (!input.granted && input.epoch > this.#epoch) {
      this.#adopt(input.epoch, input.role, input.nowMs, effects);
      return effects;
    }
    const election = this.#election;
    if (
      election === null ||
      !input.granted ||
      input.preVote !== election.preVote ||
      input.epoch !== election.epoch ||
      !this.members.includes(input.from)
    ) {
      return effects;
    }
    election.grants.add(input.from);
    this.#tally(input.nextSeq, input.nowMs, effects);
    return effects;
  }

  // ─── status ────────────────────────────────────────────────────────────────────────────────

  snapshot(): {
    readonly epoch: number;
    readonly votedFor: NodeId | null;
    readonly commitSeq: number;
    readonly leader: NodeId | null;
    readonly matched: ReadonlyMap<NodeId, number>;
    readonly mayVote: boolean;
  } {
    return Object.freeze({
      epoch: this.#epoch,
      votedFor: this.#votedFor,
      commitSeq: this.#commitSeq,
      leader: this.#leader,
      matched: new Map(this.#matched),
      mayVote: this.#mayVote,
    });
  }

  assertInvariants(role: QuorumRole, nextSeq: number): void {
    this.history.assertInvariants();
    if (this.history.latestEpoch > this.#epoch) {
      throw new Error(
        `quorum: history holds epoch ${this.history.latestEpoch} above ${this.#epoch}`,
      );
    }
    if (role === 'leader' && this.#leader !== this.selfId)
      throw new Error('quorum: leader without self as leader');
    if (role === 'leader' && this.history.latestEpoch !== this.#epoch) {
      throw new Error('quorum: a leader whose history does not end in its epoch');
    }
    if (this.#commitSeq > nextSeq && role === 'leader')
      throw new Error('quorum: commit past the log');
  }
}

/** The role once the queued `become` effects are performed. */
function roleAfter(role: QuorumRole, effects: readonly QuorumEffect[]): QuorumRole {
  let current = role;
  for (const effect of effects) if (effect.kind === 'become') current = effect.role;
  return current;
}
