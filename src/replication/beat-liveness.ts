// A channel's side of node beats (docs/DESIGN.md#node-beats). Pure decisions over the channel's
// state and its node's beat table (node-beats.ts), given the time:
// - sending: a heartbeat identical to the last one sent to that peer on its current connection
//   is left out while the peer beats (so it understands node beats) and is known to run the
//   channel (a heartbeat of it arrived on that connection), unless its refresh is due:
//   BEAT_REFRESH_PERIODS − 1 periods after a repeat, and after a changed heartbeat a number of
//   periods up to that which depends on the channel, so that channels that changed together
//   (opened, elected, reconnected at once) do not all refresh in the same period;
// - hearing: the peer's latest heartbeat counts as heard at the peer's latest node beat while
//   it arrived on the peer's current connection and is at most BEAT_COVER_PERIODS old;
// - the quiet tick: a tick with nothing due (nothing changed since the last full tick, no
//   request, election or transfer pending, the leader live or a majority in touch) only
//   refreshes liveness (and the lag gauge, when it is above a period or not yet shown since the
//   last full tick) instead of running the full step; a refresh that falls due then is sent
//   from the quiet tick too, as the same heartbeat the full tick would have sent;
// - the quiet heartbeat: under the same conditions, a heartbeat that repeats the last one from
//   its sender is taken as liveness at once, without a step;
// - the sleep: after a quiet tick, the time before which no tick can find anything due (the
//   next refresh, the end of a peer's cover); the tick grid skips the channel until then unless
//   a step runs, a connection changes or a peer's node beats lapse (docs/DESIGN.md#sleeping-channels).
// Heartbeats still decide nothing about who leads: only what a heartbeat already proved is
// extended in time.

import { channelIdEquals } from '../wire/ids.js';
import { type NodeId, Role, type SyncHeartbeat } from '../wire/types.js';
import type { InboundMessage } from './inbox.js';
import {
  BEAT_COVER_PERIODS,
  BEAT_REFRESH_PERIODS,
  beatLapsed,
  type NodeBeatsView,
} from './node-beats.js';
import { needsFetch, quorumRoleOf } from './step-quorum.js';
import {
  type ChannelState,
  heartbeatOf,
  NO_EFFECTS,
  type StepEffect,
  type StepView,
  send,
  shippableTail,
} from './step-state.js';

/** Periods from a repeated heartbeat to its refresh (the longest a refresh waits). */
export const REFRESH_INTERVAL_PERIODS = BEAT_REFRESH_PERIODS - 1;

/** What a heartbeat to or from a peer said (the wall clock aside: it is not compared). */
interface BeatFacts {
  readonly role: number;
  readonly tailSeq: number;
  readonly epoch: number;
  readonly lastEpoch: number;
  readonly commitSeq: number;
  readonly generation: number;
  readonly atMs: number;
  /** Sent only: when the refresh of this heartbeat is due. */
  readonly refreshAtMs: number;
}

/** The facts a full tick left behind; a later tick is quiet only while they still hold. */
interface Settled {
  readonly role: Role;
  readonly tailSeq: number;
  readonly epoch: number;
  readonly commitSeq: number;
}

/** Per channel; present only when its node sends and reads node beats. */
export interface BeatState {
  readonly view: NodeBeatsView;
  /** Per peer (keys ⊆ the channel's peers), the last heartbeat sent to it. */
  readonly sent: Map<NodeId, BeatFacts>;
  /** Per peer (keys ⊆ the channel's peers), the last heartbeat heard from it. */
  readonly heard: Map<NodeId, BeatFacts>;
  /** A step other than a quiet tick ran since the last full tick. */
  busy: boolean;
  settled: Settled | null;
  /** The lag a quiet tick last put on the gauge since the last full tick, or null. */
  lagShownMs: number | null;
}

export function createBeatState(view: NodeBeatsView): BeatState {
  return {
    view,
    sent: new Map(),
    heard: new Map(),
    busy: true,
    settled: null,
    lagShownMs: null,
  };
}

function sameBeat(sent: BeatFacts, message: SyncHeartbeat, generation: number): boolean {
  const q = message.quorum;
  return (
    sent.generation === generation &&
    sent.role === message.role &&
    sent.tailSeq === message.tailSeq &&
    sent.epoch === (q?.epoch ?? 0) &&
    sent.lastEpoch === (q?.lastEpoch ?? 0) &&
    sent.commitSeq === (q?.commitSeq ?? 0)
  );
}

function refreshDue(sent: BeatFacts, nowMs: number): boolean {
  return nowMs >= sent.refreshAtMs;
}

/**
 * Periods until the refresh of a heartbeat just sent: REFRESH_INTERVAL_PERIODS after a repeat;
 * after a changed one (or the first) 2..REFRESH_INTERVAL_PERIODS, by the channel's id, so that
 * channels whose heartbeats changed in the same period refresh in different ones from then on.
 */
export function refreshPeriods(channelId: Uint8Array, repeat: boolean): number {
  if (repeat) return REFRESH_INTERVAL_PERIODS;
  // A channel id is a hash of the name: its first bytes are spread evenly.
  const spread = ((channelId[0] ?? 0) << 8) | (channelId[1] ?? 0);
  return REFRESH_INTERVAL_PERIODS - (spread % (REFRESH_INTERVAL_PERIODS - 1));
}

/**
 * Whether `peer` is known to run this channel: a heartbeat of it arrived on the current
 * connection. Until then a heartbeat sent to it may have been dropped (a peer still opening its
 * channels drops what comes for one it has not opened), so each one goes: leaving it out as a
 * repeat would keep the peer from hearing of this channel until the refresh.
 */
function runsChannel(beats: BeatState, peer: NodeId): boolean {
  const heard = beats.heard.get(peer);
  return heard !== undefined && heard.generation === beats.view.generation(peer);
}

/** Whether the tick's heartbeat to `target` must go (else a node beat stands for it). */
export function mustSendHeartbeat(
  state: ChannelState,
  target: NodeId,
  message: SyncHeartbeat,
  nowMs: number,
): boolean {
  const beats = state.beats;
  // Nothing reaches a peer whose connection is down; its new connection gets a full tick.
  if (beats?.view.isDown(target)) return false;
  if (beats === null || beats.view.beatAtMs(target) === null) return true;
  if (!runsChannel(beats, target)) return true;
  const sent = beats.sent.get(target);
  if (sent === undefined || refreshDue(sent, nowMs)) return true;
  if (sameBeat(sent, message, beats.view.generation(target))) {
    state.stats.heartbeatsSuppressed++;
    return false;
  }
  return true;
}

function beatOf(
  message: SyncHeartbeat,
  generation: number,
  atMs: number,
  refreshAtMs = atMs,
): BeatFacts {
  const q = message.quorum;
  return {
    role: message.role,
    tailSeq: message.tailSeq,
    epoch: q?.epoch ?? 0,
    lastEpoch: q?.lastEpoch ?? 0,
    commitSeq: q?.commitSeq ?? 0,
    generation,
    atMs,
    refreshAtMs,
  };
}

/** Records a heartbeat handed to the dispatcher (by the tick or an append announcement). */
export function heartbeatSent(
  state: ChannelState,
  target: NodeId,
  message: SyncHeartbeat,
  nowMs: number,
): void {
  const beats = state.beats;
  if (beats === null || !state.members.has(target)) return;
  const generation = beats.view.generation(target);
  const last = beats.sent.get(target);
  const repeat = last !== undefined && sameBeat(last, message, generation);
  const refreshAtMs = nowMs + refreshPeriods(state.channelId, repeat) * state.heartbeatMs;
  beats.sent.set(target, beatOf(message, generation, nowMs, refreshAtMs));
}

/**
 * Records a heartbeat from a member, before the step handles it; true when it says what the
 * last one from that peer said, on the same connection (it changes nothing but liveness).
 */
export function heartbeatHeard(
  state: ChannelState,
  from: NodeId,
  message: SyncHeartbeat,
  nowMs: number,
): boolean {
  const beats = state.beats;
  if (beats === null) return false;
  const generation = beats.view.generation(from);
  const last = beats.heard.get(from);
  const same = last !== undefined && sameBeat(last, message, generation);
  if (!same) beats.heard.set(from, beatOf(message, generation, nowMs));
  return same;
}

/**
 * Brings each peer's liveness up to its latest node beat, where that beat stands for the peer's
 * latest heartbeat: the tracker's last-seen time, and what the quorum logic keeps of it.
 */
export function refreshLiveness(state: ChannelState, view: StepView): void {
  const beats = state.beats;
  if (beats === null) return;
  const coverMs = BEAT_COVER_PERIODS * state.heartbeatMs;
  const role = quorumRoleOf(view.role);
  for (const peer of state.peers) {
    const heard = state.tracker.peer(peer);
    if (heard === undefined) continue;
    const beatAtMs = beats.view.beatAtMs(peer);
    if (beatAtMs === null || beatAtMs <= heard.lastSeenMs) continue;
    if (heard.generation !== beats.view.generation(peer)) continue;
    if (beatAtMs - heard.heardAtMs > coverMs) continue;
    state.tracker.heardAgain(peer, beatAtMs);
    state.quorum.heardAgain(peer, beatAtMs, heard.role === Role.Leader, heard.epoch, role);
  }
}

/** A step other than a quiet tick ran: the next tick runs in full. */
export function markBusy(state: ChannelState): void {
  if (state.beats !== null) state.beats.busy = true;
}

/** After a full tick: what it saw, so the next ticks can tell whether anything changed. */
export function settleTick(state: ChannelState, view: StepView): void {
  const beats = state.beats;
  if (beats === null) return;
  beats.busy = false;
  beats.lagShownMs = null;
  beats.settled = {
    role: view.role,
    tailSeq: view.tailSeq,
    epoch: state.quorum.epoch,
    commitSeq: state.quorum.commitSeq,
  };
}

/**
 * Nothing is due for the channel now: nothing changed since its last full tick, no request is
 * in flight, held or awaited, and the quorum check would decide nothing (liveness refreshed
 * first). A replica also follows the leader its quorum knows and holds what it announced.
 */
function stable(state: ChannelState, beats: BeatState, view: StepView): boolean {
  const settled = beats.settled;
  if (beats.busy || settled === null) return false;
  const { role, tailSeq, nowMs } = view;
  if (role !== Role.Leader && role !== Role.Replica) return false;
  const quorum = state.quorum;
  if (
    role !== settled.role ||
    tailSeq !== settled.tailSeq ||
    quorum.epoch !== settled.epoch ||
    quorum.commitSeq !== settled.commitSeq
  ) {
    return false;
  }
  if (state.parked.size > 0 || state.awaitingRequest.size > 0 || state.outstanding.size > 0) {
    return false;
  }
  refreshLiveness(state, view);
  // After a failover the channel is led by another member until the preferred one comes back.
  const preferred = quorum.preferredLeader;
  const preferredDown = preferred !== null && beats.view.isDown(preferred);
  if (!quorum.settled(quorumRoleOf(role), nowMs, preferredDown)) return false;
  if (role === Role.Replica) {
    const leader = state.tracker.believedLeader;
    const leaderTail = leader === null ? undefined : state.tracker.peer(leader)?.tailSeq;
    if (leader === null || leader !== quorum.leader || leaderTail === undefined) return false;
    if (needsFetch(state, leaderTail, tailSeq)) return false;
  }
  return true;
}

/**
 * The quiet tick: null when the full tick must run; else liveness was refreshed and the effects
 * are all there is to do this period: the heartbeats due (a refresh, or to a peer not yet heard
 * from; each the one the full tick would send, identical to the last one sent) and the lag gauge.
 */
export function quietTick(state: ChannelState, view: StepView): readonly StepEffect[] | null {
  const beats = state.beats;
  if (beats === null) return null;
  const { role, nowMs } = view;
  // Every peer must be one whose heartbeat this tick would leave out, or send unchanged: a
  // refresh, or to a peer not yet heard from (a waiting channel's peer still opening it).
  let due: NodeId[] | null = null;
  for (const peer of state.peers) {
    // A peer whose connection is down gets nothing this tick would send (the send would fail),
    // and its silence is the quorum check's business below: without this, one dead node made
    // every channel of its peers run a full tick every period, and a node with thousands of
    // channels had no CPU left for the failover. Its return is a new connection (generation).
    if (beats.view.isDown(peer)) continue;
    const sent = beats.sent.get(peer);
    if (beats.view.beatAtMs(peer) === null || sent === undefined) return null;
    if (sent.generation !== beats.view.generation(peer)) return null;
    if (refreshDue(sent, nowMs) || !runsChannel(beats, peer)) {
      due ??= [];
      due.push(peer);
    }
  }
  if (!stable(state, beats, view)) return null;
  let effects: StepEffect[] | null = null;
  if (due !== null) {
    const heartbeat = heartbeatOf(state, role, shippableTail(view), nowMs);
    effects = [];
    for (const peer of due) {
      const sent = beats.sent.get(peer) as BeatFacts;
      if (!sameBeat(sent, heartbeat, sent.generation)) return null;
      effects.push(send(peer, heartbeat));
    }
    state.stats.quietRefreshes++;
  }
  state.stats.quietTicks++;
  const lagMs = quietLag(state, role, nowMs);
  // Under a period the gauge keeps the healthy value it shows: setting a labelled gauge for
  // every channel every period would cost more than the rest of the quiet tick.
  const shown = beats.lagShownMs;
  if (lagMs !== null && lagMs < state.heartbeatMs && shown !== null && shown < state.heartbeatMs) {
    return effects ?? NO_EFFECTS;
  }
  beats.lagShownMs = lagMs;
  if (lagMs === null) return effects ?? NO_EFFECTS;
  const gauge: StepEffect = {
    kind: 'metric',
    metric: { name: 'lag', role: role === Role.Leader ? 'leader' : 'replica', lagMs },
  };
  if (effects === null) return [gauge];
  effects.push(gauge);
  return effects;
}

/**
 * After a quiet tick at `nowMs`: the time before which no later tick can find anything due,
 * absent a step, a connection change or a lapse of a peer's node beats (each of which wakes the
 * channel): the earliest refresh to send, and the earliest end of a peer's cover (its node beats
 * stop standing for its heartbeat, and its silence starts to count). Liveness meanwhile is
 * brought up to the node beats whenever it is read (refreshLiveness). `nowMs` or earlier: tick
 * again next period, as while a peer is down, a peer's beats are late, a heartbeat is sent every
 * period or the lag gauge shows a lag.
 */
export function quietUntilMs(state: ChannelState, nowMs: number): number {
  const beats = state.beats;
  if (beats === null) return nowMs;
  const periodMs = state.heartbeatMs;
  if (beats.lagShownMs !== null && beats.lagShownMs >= periodMs) return nowMs;
  const coverMs = BEAT_COVER_PERIODS * periodMs;
  let untilMs = Number.POSITIVE_INFINITY;
  for (const peer of state.peers) {
    // A peer whose connection is down: its silence is counted from the quorum's last contact,
    // which no beat extends now; judged every period, as before sleeping existed.
    if (beats.view.isDown(peer)) return nowMs;
    const beatAtMs = beats.view.beatAtMs(peer);
    if (beatAtMs === null || beatLapsed(beatAtMs, nowMs, periodMs)) return nowMs;
    const sent = beats.sent.get(peer);
    if (sent === undefined || !runsChannel(beats, peer)) return nowMs;
    untilMs = Math.min(untilMs, sent.refreshAtMs);
    const heard = state.tracker.peer(peer);
    if (heard === undefined) return nowMs;
    untilMs = Math.min(untilMs, heard.heardAtMs + coverMs);
  }
  return untilMs === Number.POSITIVE_INFINITY ? nowMs : untilMs;
}

/**
 * A heartbeat that repeats the last one from its sender (a refresh), while nothing is due: it
 * proves only that the sender is alive, so it is taken as liveness without a step (true). False:
 * it goes through the inbox and the full handling, as any other message.
 */
export function quietHeartbeat(
  state: ChannelState,
  event: InboundMessage,
  view: StepView,
): boolean {
  const beats = state.beats;
  const { from, message } = event;
  if (beats === null || message.kind !== 'heartbeat' || from === state.selfId) return false;
  if (!state.members.has(from) || !channelIdEquals(message.channelId, state.channelId))
    return false;
  const epochs = message.quorum;
  const heard = state.tracker.peer(from);
  const last = beats.heard.get(from);
  const generation = beats.view.generation(from);
  if (epochs === undefined || heard === undefined || last === undefined) return false;
  if (!sameBeat(last, message, generation) || !stable(state, beats, view)) return false;
  const claimsLeader = message.role === Role.Leader;
  const role = quorumRoleOf(view.role);
  if (!state.quorum.heardAgain(from, view.nowMs, claimsLeader, epochs.epoch, role)) return false;
  state.stats.heartbeatsIn++;
  state.stats.quietHeartbeats++;
  state.tracker.recordHeartbeat(from, message.role, message.tailSeq, view.nowMs, epochs.lastEpoch, {
    generation,
    epoch: epochs.epoch,
  });
  return true;
}

/** What `observeLag` reads, over the channel's peers as they are (no copy). */
function quietLag(state: ChannelState, role: Role, nowMs: number): number | null {
  if (role === Role.Replica) {
    const leader = state.tracker.believedLeader;
    return leader === null ? null : state.tracker.peerLag(leader, nowMs);
  }
  let worst: number | null = null;
  for (const peer of state.peers) {
    const lag = state.tracker.peerLag(peer, nowMs);
    if (lag !== null && (worst === null || lag > worst)) worst = lag;
  }
  return worst;
}
