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

//
// The class is a facade over one `QuorumState`: the types are in quorum-types.ts, the shared
// transitions (epoch adoption, following a leader, commit) in quorum-state.ts, and the election
// (tick, pre-votes and votes) in election.ts.

import type { NodeId } from '../../wire/types.js';
import { quorumSize } from './commit.js';
import { electionTick, handleVoteRequest, handleVoteResponse, ownVoteDurable } from './election.js';
import type { EpochEntry, EpochHistory } from './epoch-history.js';
import { checkFetch, positionMatches, truncationPoint, UNKNOWN_EPOCH } from './fetch-check.js';
import {
  admit,
  advanceLeaderCommit,
  advanceReplicaCommit,
  createQuorumState,
  followLeader,
  isLeaderLive,
  maybeBootstrap,
} from './quorum-state.js';
import {
  type ChannelQuorumOptions,
  type HeartbeatEpochs,
  type QuorumCounters,
  type QuorumEffect,
  type QuorumRole,
  type QuorumState,
  roleAfter,
} from './quorum-types.js';
import {
  beginTransfer,
  handleStandNow,
  maybeReturnLeadership,
  maybeSendStandNow,
  standNowDeferred,
  type TransferRefusal,
  transferTick,
} from './transfer.js';
import type { VoteAsk } from './vote.js';

export type {
  ChannelQuorumOptions,
  HeartbeatEpochs,
  QuorumCounters,
  QuorumEffect,
  QuorumRole,
  QuorumTransitionReason,
} from './quorum-types.js';
export type { TransferRefusal } from './transfer.js';

export class ChannelQuorum {
  readonly selfId: NodeId;
  readonly members: readonly NodeId[];
  readonly peers: readonly NodeId[];
  readonly heartbeatMs: number;
  readonly silenceMs: number;
  readonly history: EpochHistory;
  readonly counters: QuorumCounters;
  readonly #s: QuorumState;

  constructor(options: ChannelQuorumOptions) {
    const s = createQuorumState(options);
    this.#s = s;
    this.selfId = s.selfId;
    this.members = s.members;
    this.peers = s.peers;
    this.heartbeatMs = s.heartbeatMs;
    this.silenceMs = s.silenceMs;
    this.history = s.history;
    this.counters = s.counters;
  }

  get epoch(): number {
    return this.#s.epoch;
  }

  get votedFor(): NodeId | null {
    return this.#s.votedFor;
  }

  get commitSeq(): number {
    return this.#s.commitSeq;
  }

  get mayVote(): boolean {
    return this.#s.mayVote;
  }

  /** The current epoch's leader as known here, or null. */
  get leader(): NodeId | null {
    return this.#s.leader;
  }

  get matchingTail(): number {
    return this.#s.matchingTail;
  }

  /** Leader: each peer's validated position (matches this log below it). */
  get matched(): ReadonlyMap<NodeId, number> {
    return this.#s.matched;
  }

  get epochStartSeq(): number {
    return this.#s.epochStartSeq;
  }

  /** Leader: the member it is handing the leadership to, or null. */
  get transferTarget(): NodeId | null {
    return this.#s.transfer?.target ?? null;
  }

  /** The member this channel's leadership returns to when it is in touch (the set's first). */
  get preferredLeader(): NodeId | null {
    return this.members[0] ?? null;
  }

  /** Replica: when it stands for election once the leader stays silent (its turn), or null. */
  get standAtMs(): number | null {
    return this.#s.standAtMs;
  }

  get electionInProgress(): 'pre-vote' | 'vote' | null {
    if (this.#s.election === null) return null;
    return this.#s.election.preVote ? 'pre-vote' : 'vote';
  }

  /** Epoch of the local log's last event. */
  lastEpoch(nextSeq: number): number {
    return this.history.lastEpoch(nextSeq);
  }

  /** True while a current-epoch leader was heard within the silence window (or this node leads). */
  leaderIsLive(role: QuorumRole, nowMs: number): boolean {
    return isLeaderLive(this.#s, role, nowMs);
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
    /** This node's log end as positions are matched against (a leader's shippable end). */
    readonly nextSeq: number;
    /** A leader's durable end, its own share of the commit; `nextSeq` when absent. */
    readonly durableNextSeq?: number;
    readonly nowMs: number;
  }): { readonly effects: QuorumEffect[]; readonly fromLiveLeader: boolean } {
    const effects: QuorumEffect[] = [];
    const { from, epochs, nowMs } = input;
    if (epochs === undefined) {
      this.counters.noEpochDrops++;
      return { effects, fromLiveLeader: false };
    }
    this.#s.peerEpochs.set(from, epochs.epoch);
    if (!admit(this.#s, epochs.epoch, input.role, nowMs, effects)) {
      return { effects, fromLiveLeader: false };
    }
    const role = roleAfter(input.role, effects);
    if (input.claimsLeader) {
      if (role === 'leader') {
        this.counters.sameEpochLeaders++;
        return { effects, fromLiveLeader: false };
      }
      followLeader(this.#s, from, role, nowMs, effects);
      if (
        input.tailSeq <= input.nextSeq &&
        this.history.lastEpoch(input.tailSeq) === epochs.lastEpoch
      ) {
        this.#s.matchingTail = Math.max(this.#s.matchingTail, input.tailSeq);
      }
      advanceReplicaCommit(this.#s, epochs.commitSeq, effects);
      return { effects, fromLiveLeader: true };
    }
    maybeBootstrap(this.#s);
    if (role === 'leader' && epochs.epoch === this.#s.epoch) {
      this.#s.contactMs.set(from, nowMs);
      if (positionMatches(this.history, input.nextSeq, input.tailSeq, epochs.lastEpoch)) {
        this.#s.matched.set(from, input.tailSeq);
        advanceLeaderCommit(this.#s, input.durableNextSeq ?? input.nextSeq, effects);
        maybeSendStandNow(this.#s, input.nextSeq, nowMs, effects);
      }
    }
    return { effects, fromLiveLeader: false };
  }

  /**
   * A node beat stood for `from`'s latest heartbeat, which carried `epoch` and claimed to lead
   * or not: it counts as heard again at `atMs`. Only what that heartbeat proved is extended: a
   * current-epoch Leader heartbeat keeps the leader live for a replica, a current-epoch one
   * from a peer keeps a leader in touch with it. Decides nothing else. False (and nothing
   * changed) when the heartbeat had proved something else: the full handling must judge it.
   */
  heardAgain(
    from: NodeId,
    atMs: number,
    claimsLeader: boolean,
    epoch: number,
    role: QuorumRole,
  ): boolean {
    const s = this.#s;
    if (epoch !== s.epoch) return false;
    if (claimsLeader) {
      if (role === 'leader' || s.leader !== from || s.leaderHeardMs === null) return false;
      s.leaderHeardMs = Math.max(s.leaderHeardMs, atMs);
      return true;
    }
    if (role !== 'leader') return true; // a replica keeps nothing of another replica's heartbeat
    const contact = s.contactMs.get(from);
    if (s.leader !== s.selfId || contact === undefined) return false;
    if (atMs > contact) s.contactMs.set(from, atMs);
    return true;
  }

  /**
   * True when the periodic check (`tick`) would decide nothing at `nowMs` and nothing waits on
   * time: a leader in touch with a majority, not transferring and the channel's preferred
   * member (or that member's connection is down, `preferredDown`, and no return of the
   * leadership is under way: the return needs it in touch, and its new connection makes the next
   * tick a full one); a replica following a live leader, with no election and no turn to stand
   * pending.
   */
  settled(role: QuorumRole, nowMs: number, preferredDown = false): boolean {
    const s = this.#s;
    if (s.election !== null || s.standAtMs !== null || s.transfer !== null) return false;
    if (role === 'replica') return s.leader !== null && isLeaderLive(s, role, nowMs);
    if (role !== 'leader') return false;
    if (s.members[0] !== s.selfId && !(preferredDown && s.preferredReadyMs === null)) return false;
    let inTouch = 1;
    for (const peer of s.peers) {
      const contact = s.contactMs.get(peer);
      if (contact !== undefined && nowMs - contact < s.silenceMs) inTouch++;
    }
    return inTouch >= quorumSize(s.members.length);
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
    /** This node's log end as positions are matched against (a leader's shippable end). */
    readonly nextSeq: number;
    /** A leader's durable end, its own share of the commit; `nextSeq` when absent. */
    readonly durableNextSeq?: number;
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
    if (!admit(this.#s, epochs.epoch, input.role, input.nowMs, effects)) {
      // A requester from an older epoch still gets served: the answer teaches it the epoch.
      return this.#fetchAsLeader(input, epochs.lastFetchedEpoch, false, effects);
    }
    if (roleAfter(input.role, effects) !== 'leader')
      return { effects, serve: false, diverged: null };
    return this.#fetchAsLeader(
      input,
      epochs.lastFetchedEpoch,
      epochs.epoch === this.#s.epoch,
      effects,
    );
  }

  #fetchAsLeader(
    input: {
      readonly from: NodeId;
      readonly sinceSeq: number;
      readonly role: QuorumRole;
      readonly nextSeq: number;
      readonly durableNextSeq?: number;
      readonly nowMs: number;
    },
    lastFetchedEpoch: number,
    currentEpoch: boolean,
    effects: QuorumEffect[],
  ) {
    if (input.role !== 'leader') return { effects, serve: false, diverged: null };
    if (currentEpoch) this.#s.contactMs.set(input.from, input.nowMs);
    const verdict = checkFetch(this.history, input.nextSeq, input.sinceSeq, lastFetchedEpoch);
    if (verdict.kind === 'diverged') {
      return {
        effects,
        serve: false,
        diverged: { divergingEpoch: verdict.divergingEpoch, endSeq: verdict.endSeq },
      };
    }
    if (currentEpoch && lastFetchedEpoch !== UNKNOWN_EPOCH) {
      this.#s.matched.set(input.from, input.sinceSeq);
      advanceLeaderCommit(this.#s, input.durableNextSeq ?? input.nextSeq, effects);
      maybeSendStandNow(this.#s, input.nextSeq, input.nowMs, effects);
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
    if (!admit(this.#s, epochs.epoch, input.role, input.nowMs, effects))
      return { effects, accept: false };
    const role = roleAfter(input.role, effects);
    if (role === 'leader') {
      this.counters.sameEpochLeaders++;
      return { effects, accept: false };
    }
    followLeader(this.#s, input.from, role, input.nowMs, effects);
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
    this.#s.matchingTail = newTail;
    advanceReplicaCommit(this.#s, leaderCommitSeq, effects);
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
    if (point < this.#s.commitSeq) {
      this.counters.truncationBelowCommitRefused++;
      return [];
    }
    this.counters.truncatedEvents += input.nextSeq - point;
    this.#s.matchingTail = Math.min(this.#s.matchingTail, point);
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
    advanceLeaderCommit(this.#s, nextSeq, effects);
    return effects;
  }

  // ─── elections (election.ts) ────────────────────────────────────────────────────────────

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
    /** The preferred member is live but was never heard on this channel (see election.ts). */
    readonly preferredOpening?: boolean;
    /** False while every election slot of this node is taken (election-slots.ts). */
    readonly mayStand?: boolean;
  }): QuorumEffect[] {
    const effects = electionTick(this.#s, input);
    if (roleAfter(input.role, effects) === 'leader') {
      transferTick(this.#s, input.nextSeq, input.nowMs, effects);
      maybeReturnLeadership(this.#s, input.nextSeq, input.nowMs, effects);
    }
    return effects;
  }

  /**
   * The runtime leads now: the won epoch's history entry is durable and the role moved. Check
   * quorum's window to hear from a majority starts here, not at the count of the votes: the
   * entry's write can take longer than a silence window on a busy disk (the first one of a channel
   * creates its history file), and a leader deposed by its own check before it sent one heartbeat
   * makes the whole election count for nothing.
   */
  leadershipStarted(nowMs: number): void {
    const s = this.#s;
    if (s.leader !== s.selfId) return;
    for (const peer of s.peers)
      s.contactMs.set(peer, Math.max(s.contactMs.get(peer) ?? nowMs, nowMs));
  }

  /** The candidate's vote for itself in `epoch` is durable: its election window starts now. */
  ownVoteDurable(epoch: number, nowMs: number): void {
    ownVoteDurable(this.#s, epoch, nowMs);
  }

  // ─── leadership transfer (transfer.ts) ──────────────────────────────────────────────────

  /** Leader: hand the leadership to `target`; appends are refused until it ends. */
  startTransfer(input: {
    readonly target: NodeId;
    readonly role: QuorumRole;
    readonly nextSeq: number;
    readonly nowMs: number;
  }): { readonly effects: QuorumEffect[]; readonly refusal: TransferRefusal | null } {
    return beginTransfer(this.#s, input);
  }

  /** The stand-now was not sent (the log's end had not settled): decide again later. */
  standNowDeferred(): void {
    standNowDeferred(this.#s);
  }

  /** A stand-now from the leader of this epoch: stand for election at once. */
  onStandNow(input: {
    readonly from: NodeId;
    readonly epoch: number;
    readonly role: QuorumRole;
    readonly nextSeq: number;
    readonly nowMs: number;
  }): QuorumEffect[] {
    return handleStandNow(this.#s, input);
  }

  onVoteRequest(input: {
    readonly from: NodeId;
    readonly ask: Omit<VoteAsk, 'candidate'>;
    readonly role: QuorumRole;
    readonly nextSeq: number;
    readonly nowMs: number;
  }): QuorumEffect[] {
    return handleVoteRequest(this.#s, input);
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
    return handleVoteResponse(this.#s, input);
  }

  // ─── checks ──────────────────────────────────────────────────────────────────────────────────

  assertInvariants(role: QuorumRole, nextSeq: number): void {
    this.history.assertInvariants();
    if (this.history.latestEpoch > this.#s.epoch) {
      throw new Error(
        `quorum: history holds epoch ${this.history.latestEpoch} above ${this.#s.epoch}`,
      );
    }
    if (role === 'leader' && this.#s.leader !== this.selfId)
      throw new Error('quorum: leader without self as leader');
    if (role !== 'leader' && this.#s.transfer !== null)
      throw new Error('quorum: a transfer in progress on a node that does not lead');
    if (role === 'leader' && this.history.latestEpoch !== this.#s.epoch) {
      throw new Error('quorum: a leader whose history does not end in its epoch');
    }
    if (this.#s.commitSeq > nextSeq && role === 'leader')
      throw new Error('quorum: commit past the log');
  }
}
