// Fixtures for the pure step tests: a channel state built from the real pure pieces, views and
// messages. No runtime, no clock, no async.
import { ChannelQuorum } from '../../src/replication/quorum/channel-quorum.js';
import { channelIdFromName } from '../../src/wire/ids.js';
import {
  BandwidthBudget,
  CatchupBackoff,
  CatchupPipeline,
  type ChannelState,
  emptyStats,
  HeartbeatTracker,
  inbound,
  type NodeId,
  OutstandingRequests,
  onInbound,
  peersOf,
  Role,
  type StepEffect,
  type StepView,
  SyncClass,
  type SyncHeartbeat,
  type SyncRequest,
  type SyncResponse,
  silenceMsOf,
} from './imports.js';

export const CID = channelIdFromName('test/step');
export const SELF = 0x10n;
export const PEER = 0x20n;
export const OTHER = 0x30n;
export const HB = 100;

export function state(options: { budgetBytes?: number; replicaSet?: NodeId[] } = {}): ChannelState {
  const replicaSet = options.replicaSet ?? [SELF, PEER, OTHER];
  return {
    selfId: SELF,
    channelId: CID,
    replicaSet,
    members: new Set(replicaSet),
    peers: peersOf(replicaSet, SELF),
    heartbeatMs: HB,
    defaultClass: SyncClass.Foreground,
    backgroundFraction: 0.3,
    tracker: new HeartbeatTracker(SELF, { heartbeatMs: HB }),
    outstanding: new OutstandingRequests(),
    pipeline: new CatchupPipeline(),
    backoff: new CatchupBackoff(),
    budget: new BandwidthBudget({
      nicPeakBps: options.budgetBytes ?? 10_000_000,
      fraction: 1,
      nowMs: 0,
    }),
    stats: emptyStats(),
    parked: new Map(),
    shipped: new Map(),
    awaitingRequest: new Set(),
    commitTold: new Map(),
    quorum: new ChannelQuorum({
      selfId: SELF,
      replicaSet,
      heartbeatMs: HB,
      silenceMs: silenceMsOf({ heartbeatMs: HB }),
      durable: { epoch: 1, votedFor: null, history: [{ epoch: 1, startSeq: 0 }] },
      mayVote: true,
      nowMs: 0,
    }),
    beats: null,
    elections: null,
  };
}

/**
 * Makes `s`'s quorum Leader of the next epoch at `nowMs` (≥ the silence window), the way the
 * protocol does: its tick asks for pre-votes, then votes, and PEER grants both. The coordinator's
 * role is the caller's to pass in views (Role.Leader from here on).
 */
export function elect(s: ChannelState, nowMs: number, tailSeq = 0): void {
  const base = { role: 'replica' as const, nextSeq: tailSeq, nowMs };
  s.quorum.tick({ ...base, livePeers: [], jitterMs: 0 });
  const epoch = s.quorum.epoch + 1;
  s.quorum.onVoteResponse({ ...base, from: PEER, epoch, granted: true, preVote: true });
  const won = s.quorum.onVoteResponse({
    ...base,
    role: 'candidate',
    from: PEER,
    epoch,
    granted: true,
    preVote: false,
  });
  if (!won.some((e) => e.kind === 'become' && e.role === 'leader')) {
    throw new Error('elect: the fixture quorum did not become leader');
  }
}

export function view(role: Role, tailSeq: number, nowMs = 1_000): StepView {
  return { role, tailSeq, nowMs };
}

export function syncRequest(sinceSeq: number, requestId = 7n): SyncRequest {
  return {
    kind: 'request',
    channelId: CID,
    sinceSeq,
    chunkMax: 1024,
    requestId,
    syncClass: SyncClass.Foreground,
    quorum: { epoch: 1, lastFetchedEpoch: 1 },
  };
}

export function syncResponse(firstSeq: number, count: number, requestId = 7n): SyncResponse {
  const events = Array.from({ length: count }, (_, i) => ({
    seq: firstSeq + i,
    payload: new Uint8Array([i]),
  }));
  return {
    kind: 'response',
    channelId: CID,
    firstSeq,
    leaderFirstRetainedSeq: 0,
    requestId,
    events,
    quorum: { epoch: 1, commitSeq: 0, runs: count > 0 ? [{ epoch: 1, startSeq: firstSeq }] : [] },
  };
}

/** A Leader heartbeat of the fixture's epoch (1), whose last event is of epoch 1. */
export function leaderHeartbeat(tailSeq: number, epoch = 1): SyncHeartbeat {
  return {
    kind: 'heartbeat',
    channelId: CID,
    tailSeq,
    role: Role.Leader,
    wallClockMs: 0,
    quorum: { epoch, lastEpoch: epoch, commitSeq: 0 },
  };
}

/**
 * Makes `s` (a Replica with tail `tailSeq`) follow `leader` the way the protocol does: a
 * current-epoch Leader heartbeat announcing `leaderTail`. Returns the step's effects.
 */
export function follow(
  s: ChannelState,
  leader: NodeId,
  leaderTail: number,
  nowMs: number,
  tailSeq = 0,
): readonly StepEffect[] {
  return onInbound(
    s,
    inbound(leader, leaderHeartbeat(leaderTail)),
    view(Role.Replica, tailSeq, nowMs),
  );
}

/** The effects of one kind, narrowed. */
export function ofKind<K extends StepEffect['kind']>(
  effects: readonly StepEffect[],
  kind: K,
): Extract<StepEffect, { kind: K }>[] {
  return effects.filter((e): e is Extract<StepEffect, { kind: K }> => e.kind === kind);
}

/** The messages the effects send, as [target, kind, role or error code]. */
export function sends(effects: readonly StepEffect[]): Array<[NodeId, string, number]> {
  return ofKind(effects, 'send').map((e) => [
    e.to,
    e.message.kind,
    e.message.kind === 'heartbeat' ? e.message.role : e.message.errorCode,
  ]);
}

export { Role };
