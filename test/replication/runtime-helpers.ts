// Fixtures for the runtime tests: the seed's RecorderDispatcher, tag sinks and `build_*` helpers,
// in virtual time.
import { Redex, type RedexFile } from '../../src/log/index.js';
import { SeededRandom } from '../../src/time/random.js';
import { VirtualClock } from '../../src/time/virtual-clock.js';
import { channelIdFromName } from '../../src/wire/ids.js';
import {
  BandwidthBudget,
  type ChainTagSink,
  type ChannelId,
  type ChannelMetrics,
  type InboundMessage,
  inbound,
  type NodeId,
  type QuorumMessage,
  type ReplicationConfigInput,
  ReplicationCoordinator,
  type ReplicationDispatcher,
  ReplicationMetrics,
  ReplicationRuntime,
  type ReplicationRuntimeHandle,
  Role,
  type RuntimeFile,
  type RuntimeOptions,
  resolveReplicationConfig,
  type SyncHeartbeat,
  type SyncNack,
  type SyncRequest,
  type SyncResponse,
  spawnReplicationRuntime,
  TransitionSignal,
  type WireEvent,
} from './imports.js';

export const CHANNEL = 'test/runtime';
export const CID: ChannelId = channelIdFromName(CHANNEL);
export const WRONG_CID: ChannelId = channelIdFromName('test/wrong_channel');
export const WALL_CLOCK_MS = 1_700_000_000_000;

/** Captures every outbound message; `failSends` rejects them, `wedge` never settles them. */
export class RecorderDispatcher implements ReplicationDispatcher {
  readonly heartbeats: Array<[NodeId, SyncHeartbeat]> = [];
  readonly syncRequests: Array<[NodeId, SyncRequest]> = [];
  readonly syncResponses: Array<[NodeId, SyncResponse]> = [];
  readonly syncNacks: Array<[NodeId, SyncNack]> = [];
  readonly quorumMessages: Array<[NodeId, QuorumMessage]> = [];
  failSends = false;
  wedge = false;

  #result(): Promise<void> {
    if (this.wedge) return new Promise<void>(() => {});
    return this.failSends ? Promise.reject(new Error('simulated send failure')) : Promise.resolve();
  }

  sendHeartbeat(target: NodeId, message: SyncHeartbeat): Promise<void> {
    this.heartbeats.push([target, message]);
    return this.#result();
  }
  sendSyncRequest(target: NodeId, message: SyncRequest): Promise<void> {
    this.syncRequests.push([target, message]);
    return this.#result();
  }
  sendSyncResponse(target: NodeId, message: SyncResponse): Promise<void> {
    this.syncResponses.push([target, message]);
    return this.#result();
  }
  sendSyncNack(target: NodeId, message: SyncNack): Promise<void> {
    this.syncNacks.push([target, message]);
    return this.#result();
  }
  sendQuorum(target: NodeId, message: QuorumMessage): Promise<void> {
    this.quorumMessages.push([target, message]);
    return this.#result();
  }
}

export const noopSink: ChainTagSink = { announce() {}, withdraw() {} };

/** Ok for the first `remaining` announces, then every announce fails (the seed's FailingAfterNAnnounceSink). */
export class FailingAfterNAnnounceSink implements ChainTagSink {
  remaining: number;
  constructor(remaining: number) {
    this.remaining = remaining;
  }
  announce(): void {
    if (this.remaining === 0) throw new Error('simulated sink failure');
    this.remaining--;
  }
  withdraw(): void {}
}

export interface Fixture {
  readonly clock: VirtualClock;
  readonly redex: Redex;
  readonly metrics: ReplicationMetrics;
  readonly channelMetrics: ChannelMetrics;
}

export function fixture(): Fixture {
  const clock = new VirtualClock();
  const metrics = new ReplicationMetrics();
  return {
    clock,
    redex: new Redex({ clock }),
    metrics,
    channelMetrics: metrics.forChannel(CHANNEL),
  };
}

export function buildFile(fx: Fixture, config = {}): Promise<RedexFile> {
  return fx.redex.openFile(CHANNEL, config);
}

export function buildCoordinator(
  fx: Fixture,
  config: ReplicationConfigInput = {},
  sink: ChainTagSink = noopSink,
): ReplicationCoordinator {
  return new ReplicationCoordinator({
    channel: { name: CHANNEL, originHash: 0xcafe_baben },
    // The seed's tests tick as fast as 50 ms.
    config: resolveReplicationConfig(config, { testOnlyHeartbeatMsMin: 1 }),
    sink,
    metrics: fx.channelMetrics,
  });
}

/** Walks the role matrix from Idle to `role` (Replica, Candidate or Leader). */
export async function promote(coordinator: ReplicationCoordinator, role: Role): Promise<void> {
  await coordinator.transitionTo(Role.Replica, TransitionSignal.CapabilitySelected);
  if (role === Role.Replica) return;
  await coordinator.transitionTo(Role.Candidate, TransitionSignal.MissedHeartbeats);
  if (role === Role.Candidate) return;
  await coordinator.transitionTo(Role.Leader, TransitionSignal.ElectionWon);
}

/** The seed's `build_budget`: 10 MB/s NIC, half of it for catch-up. */
export function buildBudget(fx: Fixture, nicPeakBps = 10_000_000, fraction = 0.5): BandwidthBudget {
  return new BandwidthBudget({ nicPeakBps, fraction, nowMs: fx.clock.nowMs() });
}

export interface InputsOverrides extends Partial<RuntimeOptions> {
  /** The local tail the runtime sees (default 42); null: the file's real tail. */
  readonly tail?: number | null;
}

/**
 * An empty file whose next seq starts at `tail` (the seed's constant tail provider): everything
 * below it reads as trimmed, `skipTo` moves it up, appends are refused.
 */
export function fixedTailFile(tail: number): RuntimeFile {
  let nextSeq = tail;
  return {
    get nextSeq() {
      return nextSeq;
    },
    firstSeq: null,
    readRangeLimited: () => [],
    truncateFrom: () => Promise.resolve(0),
    appendBatchIfNextSeq: () => {
      throw new Error('fixedTailFile: read-only');
    },
    skipTo: async (seq) => {
      nextSeq = Math.max(nextSeq, seq);
    },
    sweepRetention: async () => 0,
  };
}

/**
 * The seed's `build_inputs(self, replicas, hb)`: tail 42. The heartbeat period is the
 * coordinator's (`buildCoordinator(fx, { heartbeatMs })`); `heartbeatMs` here checks it.
 */
export async function buildOptions(
  fx: Fixture,
  self: number,
  replicas: number[],
  heartbeatMs: number,
  coordinator: ReplicationCoordinator,
  overrides: InputsOverrides = {},
): Promise<RuntimeOptions & { dispatcher: RecorderDispatcher; file: RuntimeFile }> {
  if (coordinator.config.heartbeatMs !== heartbeatMs) {
    throw new Error(
      `buildOptions: the coordinator ticks every ${coordinator.config.heartbeatMs} ms, not ${heartbeatMs}`,
    );
  }
  const tail = overrides.tail === undefined ? 42 : overrides.tail;
  const file =
    overrides.file ?? (tail === null || tail === 0 ? await buildFile(fx) : fixedTailFile(tail));
  const { tail: _ignored, ...rest } = overrides;
  return {
    channelId: CID,
    channelName: CHANNEL,
    selfId: BigInt(self),
    replicaSet: replicas.map((r) => BigInt(r)),
    file,
    coordinator,
    dispatcher: new RecorderDispatcher(),
    clock: fx.clock,
    random: new SeededRandom(0x5eed),
    budget: buildBudget(fx),
    metrics: fx.channelMetrics,
    ...rest,
  } as RuntimeOptions & { dispatcher: RecorderDispatcher; file: RuntimeFile };
}

export function buildRuntime(options: RuntimeOptions): ReplicationRuntime {
  return new ReplicationRuntime(options);
}

export function spawn(options: RuntimeOptions): ReplicationRuntimeHandle {
  return spawnReplicationRuntime(options);
}

/**
 * The epoch every peer speaks in these tests: a runtime starts at epoch 0, follows a Leader of
 * epoch 1 at its first heartbeat, and `electLeader` makes it Leader of epoch 1. Peers' logs hold
 * no event of epoch 1 unless a test says so (`lastEpoch: 0`), which matches a leader elected at
 * its tail for every position up to that tail.
 */
export const PEER_EPOCH = 1;

export function heartbeat(
  from: number,
  role: Role,
  tailSeq: number,
  channelId: ChannelId = CID,
  quorum: SyncHeartbeat['quorum'] = { epoch: PEER_EPOCH, lastEpoch: 0, commitSeq: 0 },
): InboundMessage {
  return inbound(BigInt(from), {
    kind: 'heartbeat',
    channelId,
    tailSeq,
    role,
    wallClockMs: WALL_CLOCK_MS,
    quorum,
  });
}

/**
 * Makes the runtime (a Replica of a 2- or 3-member set, or a single member with `voter` null)
 * Leader of the next epoch the way the protocol does: the silence window passes, it asks for
 * pre-votes, `voter` grants the pre-vote and then the vote (inbound `vote-response` messages).
 */
/**
 * Makes `runtime` (a Replica) follow `leader` the way the protocol does, with a current-epoch
 * Leader heartbeat announcing `tail`, then forgets the catch-up request that heartbeat triggered:
 * the tests send their own.
 */
export async function followLeader(
  runtime: ReplicationRuntime,
  dispatcher: RecorderDispatcher | null,
  tail: number,
  leader = 0x20,
): Promise<void> {
  await runtime.onInbound(heartbeat(leader, Role.Leader, tail));
  if (runtime.tracker.believedLeader !== BigInt(leader)) {
    throw new Error('followLeader: the runtime does not follow the leader');
  }
  runtime.outstanding.clearLeader(BigInt(leader));
  if (dispatcher !== null) dispatcher.syncRequests.length = 0;
}

export async function electLeader(
  runtime: ReplicationRuntime,
  clock: VirtualClock,
  voter: number | null = 0x20,
): Promise<void> {
  await clock.advance(runtime.tracker.silenceMs);
  if (voter === null) {
    await runtime.onTick(); // a single member elects itself in its tick
  } else {
    // The quorum's own check starts the pre-vote round, without the replica's tick (its tail
    // report would stay on the coordinator, whose advertised tail only grows).
    runtime.quorum.tick({
      role: 'replica',
      nextSeq: runtime.snapshot().tailSeq,
      nowMs: clock.nowMs(),
      livePeers: [],
      jitterMs: 0,
    });
    for (const preVote of [true, false]) {
      const epoch = preVote ? runtime.epoch + 1 : runtime.epoch;
      await runtime.onInbound(
        inbound(BigInt(voter), {
          kind: 'vote-response',
          channelId: CID,
          epoch,
          granted: true,
          preVote,
        }),
      );
    }
  }
  if (!runtime.leads()) throw new Error('electLeader: the runtime did not become leader');
}

export function request(
  from: number,
  options: Partial<Omit<SyncRequest, 'kind'>> = {},
): InboundMessage {
  return inbound(BigInt(from), {
    kind: 'request',
    channelId: CID,
    sinceSeq: 0,
    chunkMax: 1024,
    requestId: 0n,
    syncClass: 0,
    quorum: { epoch: PEER_EPOCH, lastFetchedEpoch: 0 },
    ...options,
  });
}

export function response(
  from: number,
  options: Partial<Omit<SyncResponse, 'kind'>> = {},
): InboundMessage {
  return inbound(BigInt(from), {
    kind: 'response',
    channelId: CID,
    firstSeq: 0,
    leaderFirstRetainedSeq: 0,
    requestId: 0n,
    events: [],
    // The leader's runs: every event it sends was written in its epoch.
    quorum: {
      epoch: PEER_EPOCH,
      commitSeq: 0,
      runs:
        options.events !== undefined && options.events.length > 0
          ? [{ epoch: PEER_EPOCH, startSeq: options.events[0]?.seq ?? 0 }]
          : [],
    },
    ...options,
  });
}

export function nack(from: number, options: Partial<Omit<SyncNack, 'kind'>> = {}): InboundMessage {
  return inbound(BigInt(from), {
    kind: 'nack',
    channelId: CID,
    sinceSeq: 0,
    errorCode: 1,
    leaderFirstRetainedSeq: 0,
    requestId: 0n,
    detail: '',
    ...options,
  });
}

export function events(first: number, payloads: string[]): WireEvent[] {
  const enc = new TextEncoder();
  return payloads.map((p, i) => ({ seq: first + i, payload: enc.encode(p) }));
}
