// MeshNode: a node's replication host over any `Transport` (docs/MESH.md#meshnode). DEV DOCS:
//
// `enableReplication(redex, meshNode)` is all a node needs: MeshNode is the `ReplicationHost` the
// `Replicator` asks for. It owns
// - the dispatcher: the runtimes' outbound messages, encoded and queued on the transport; a frame
//   the transport does not queue rejects, so a leader refunds its bandwidth budget;
// - the inbound path: every RedEX frame from the transport is decoded once, gated (a sender outside
//   the channel's replica set never reaches the runtime's inbox, so it cannot fill its lanes) and
//   routed; whatever cannot be delivered is dropped and counted by reason, never thrown;
// - membership (`members()`, also the transport's `acceptPeer`) and client addresses (`addressOf`,
//   for NOT_LEADER errors), both from configuration (an unconfigured address falls back to the
//   mesh address the transport dialed);
// - chain tags (chain-tag.ts): the coordinator's `ChainTagSink`. Announces and withdraws go to
//   every connected peer, and all of this node's holdings are re-sent to a peer when it comes up.
//   Inbound tags fill a holder table; replication heartbeats refresh the role and tip of holders
//   that announced. `findChainHolders(channel)` reads it, freshest first;
// - metrics: the transport's and its own counters exported into the node's `ReplicationMetrics`.
//
// It does not own the Redex: close the Redex first (its runtimes withdraw their tags through the
// still-open transport), then the MeshNode, which closes the transport.

import { validateChannelName } from '../log/channel-name.js';
import type { ChainTagSink } from '../replication/coordinator.js';
import { frameDispatcher, type ReplicationDispatcher } from '../replication/dispatcher.js';
import type { ReplicationRuntimeHandle } from '../replication/handle.js';
import {
  type CoalescingDispatcher,
  coalescingDispatcher,
  type HeartbeatCoalescerStats,
} from '../replication/heartbeat-coalescer.js';
import type { ReplicationHost } from '../replication/host.js';
import { ReplicationMetrics } from '../replication/metrics.js';
import { type NodeBeatStats, NodeBeats } from '../replication/node-beats.js';
import { originHashOf } from '../replication/replicator.js';
import { ReplicationRouter, ROUTER_CHANNELS_MAX, type RouteDrop } from '../replication/router.js';
import { TickScheduler } from '../replication/tick-scheduler.js';
import type { Clock } from '../time/clock.js';
import { systemClock } from '../time/system-clock.js';
import { decodeAnyMessage, decodeHeartbeatBatch, isHeartbeatBatch } from '../wire/codec.js';
import { channelIdFromName, isNodeId } from '../wire/ids.js';
import { isNodeBeat } from '../wire/node-beat.js';
import {
  type AnyReplicationMessage,
  type ChannelId,
  type NodeId,
  Role,
  type SyncHeartbeat,
} from '../wire/types.js';
import {
  CHAIN_TAG_DISPATCH,
  type ChainHolder,
  ChainHolderTable,
  type ChainTag,
  compareHolders,
  decodeChainTag,
  encodeChainTag,
} from './chain-tag.js';
import { MeshError, MeshErrorReason } from './errors.js';
import { registerMeshMetrics } from './mesh-metrics.js';
import type { PeerEvent, Transport } from './types.js';

/** Channels this node can hold at once (the router's bound). */
export const LOCAL_HOLDINGS_MAX = ROUTER_CHANNELS_MAX;
/** Members a static membership may list. */
export const MEMBERS_MAX = 1024;

/** Why the mesh node dropped an inbound frame. Every reason is counted; none is thrown. */
export const MeshDrop = {
  /** A RedEX frame that does not decode (including reserved codes other than 0x24). */
  Malformed: 'malformed',
  /** A valid message for a channel this node does not run. */
  UnknownChannel: 'unknown-channel',
  /** The channel's runtime lane was full. */
  InboxFull: 'inbox-full',
  /** A valid message from a node outside the channel's replica set. */
  NotReplica: 'not-replica',
  /** A chain tag from a node that is not a cluster member. */
  NonMember: 'non-member',
  /** A 0x24 frame that does not decode. */
  BadChainTag: 'bad-chain-tag',
  /** An announce the holder table had no room for. */
  ChainTagTableFull: 'chain-tag-table-full',
} as const;
export type MeshDrop = (typeof MeshDrop)[keyof typeof MeshDrop];

export interface MeshNodeStats {
  /** Inbound replication messages handed to a runtime. */
  readonly routed: number;
  readonly drops: Readonly<Record<MeshDrop, number>>;
  /** Chain tags received and applied (announces and withdraws). */
  readonly chainTagsIn: number;
  /** Chain tags queued to peers. */
  readonly chainTagsOut: number;
  /** Chain tags the transport did not queue (peer went down, backpressure). */
  readonly chainTagSendFailures: number;
  /** Runtime messages the transport did not queue (the dispatcher rejected them). */
  readonly sendFailures: number;
  /** Channels with at least one remote holder in the table. */
  readonly trackedChannels: number;
  /** Channels this node holds (announced, not withdrawn). */
  readonly localHoldings: number;
}

/** Cluster membership: a fixed list, or a function read whenever membership matters. */
export type MeshMembers = Iterable<NodeId> | (() => Iterable<NodeId>);
/** Client-facing addresses by node (for NOT_LEADER errors). */
export type MeshAddresses =
  | ReadonlyMap<NodeId, string>
  | ((node: NodeId) => string | null | undefined);

export interface MeshNodeOptions {
  readonly transport: Transport;
  /** The cluster; standard placement chooses from it, and chain tags are accepted only from it. */
  readonly members: MeshMembers;
  /** Where clients reach each node; NOT_LEADER errors carry the leader's. */
  readonly addresses?: MeshAddresses;
  /** The node's metrics registry (default: a new one). The mesh series are added to it. */
  readonly metrics?: ReplicationMetrics;
  /** For chain-tag timestamps (default: the system clock). */
  readonly clock?: Clock;
  readonly nicPeakBps?: number;
  /**
   * Batch heartbeats per peer and tick every channel on one shared grid
   * (docs/DESIGN.md#coalesced-heartbeats). Default true; false: one frame per heartbeat, one
   * timer per channel. Batches from peers are accepted either way.
   */
  readonly coalesceHeartbeats?: boolean;
  /**
   * Node beats (docs/DESIGN.md#node-beats): one NodeBeat frame per peer per period stands for
   * every heartbeat that did not change, and a channel with nothing due skips its tick. Default
   * true; needs `coalesceHeartbeats`. Node beats from peers are read either way.
   */
  readonly nodeBeats?: boolean;
}

function configError(message: string): MeshError {
  return new MeshError(MeshErrorReason.Config, `MeshNode: ${message}`);
}

function checkMembers(ids: Iterable<NodeId>): Set<NodeId> {
  const set = new Set<NodeId>();
  for (const id of ids) {
    if (!isNodeId(id)) throw configError(`members holds ${String(id)}, not a NodeId`);
    set.add(id);
    if (set.size > MEMBERS_MAX) throw configError(`at most ${MEMBERS_MAX} members`);
  }
  return set;
}

/**
 * A membership test for `members` (self always counts): what `MeshTransport`'s `acceptPeer`
 * takes, so a node outside the cluster is refused at connect time.
 */
export function memberPredicate(members: MeshMembers, selfId?: NodeId): (node: NodeId) => boolean {
  if (typeof members === 'function') {
    return (node) => node === selfId || checkMembers(members()).has(node);
  }
  if (members === null || typeof members !== 'object' || !(Symbol.iterator in members)) {
    throw configError('members must be an iterable of NodeIds or a function returning one');
  }
  const fixed = checkMembers(members);
  return (node) => node === selfId || fixed.has(node);
}

/** The router, plus the origin hash → channel index the chain-tag sink needs to find a role. */
class MeshRouter extends ReplicationRouter {
  readonly #channelOfOrigin = new Map<bigint, ChannelId>();

  override register(handle: ReplicationRuntimeHandle): void {
    super.register(handle);
    if (this.#channelOfOrigin.size >= ROUTER_CHANNELS_MAX) {
      // Handles collected without an unregister leave stale entries: drop those first.
      for (const [origin, id] of this.#channelOfOrigin) {
        if (this.handleFor(id) === undefined) this.#channelOfOrigin.delete(origin);
      }
    }
    this.#channelOfOrigin.set(originHashOf(handle.channelId), handle.channelId);
  }

  override unregister(handle: ReplicationRuntimeHandle): boolean {
    const removed = super.unregister(handle);
    if (removed) this.#channelOfOrigin.delete(originHashOf(handle.channelId));
    return removed;
  }

  override clear(): void {
    super.clear();
    this.#channelOfOrigin.clear();
  }

  handleForOrigin(origin: bigint): ReplicationRuntimeHandle | undefined {
    const id = this.#channelOfOrigin.get(origin);
    return id === undefined ? undefined : this.handleFor(id);
  }
}

interface LocalHolding {
  role: Role;
  tipSeq: number;
  updatedAtMs: number;
}

const RESOLVED: Promise<void> = Promise.resolve();

export class MeshNode implements ReplicationHost {
  readonly selfId: NodeId;
  readonly transport: Transport;
  readonly dispatcher: ReplicationDispatcher;
  readonly router: ReplicationRouter;
  readonly metrics: ReplicationMetrics;
  readonly chainTags: ChainTagSink;
  readonly nicPeakBps: number | undefined;

  readonly #router: MeshRouter;
  readonly #coalescer: CoalescingDispatcher | null;
  /** The shared tick grid the Replicator uses, when heartbeats are coalesced. */
  readonly ticks: TickScheduler | undefined;
  /** The peers' node beats, when this node sends them (and its channels use them). */
  readonly beats: NodeBeats | undefined;
  // Read whether or not this node sends them, so a beat from a peer is never a malformed drop.
  readonly #beatTable: NodeBeats;
  readonly #clock: Clock;
  readonly #members: MeshMembers;
  readonly #isMember: (node: NodeId) => boolean;
  readonly #addresses: MeshAddresses | undefined;
  readonly #holders = new ChainHolderTable();
  // Invariant: size ≤ LOCAL_HOLDINGS_MAX; an entry exists from announce until withdraw.
  readonly #holdings = new Map<bigint, LocalHolding>();
  readonly #drops: Record<MeshDrop, number> = {
    malformed: 0,
    'unknown-channel': 0,
    'inbox-full': 0,
    'not-replica': 0,
    'non-member': 0,
    'bad-chain-tag': 0,
    'chain-tag-table-full': 0,
  };
  #chainTagsIn = 0;
  #chainTagsOut = 0;
  #chainTagSendFailures = 0;
  #sendFailures = 0;
  // One preallocated rejection: a dead peer costs every heartbeat a send failure, and the
  // runtime only counts them, so building an Error (and a stack) each time would be waste.
  readonly #sendDropped = new MeshError(
    MeshErrorReason.SendDropped,
    'the transport did not queue the frame (no connection, backpressure or closed)',
  );
  readonly #unsubscribe: Array<() => void> = [];
  readonly #unregisterMetrics: () => void;
  #closing: Promise<void> | null = null;

  constructor(options: MeshNodeOptions) {
    if (typeof options !== 'object' || options === null) {
      throw configError('options must be an object');
    }
    const transport = options.transport;
    for (const method of ['send', 'onFrame', 'onPeer', 'connectedPeers', 'close'] as const) {
      if (typeof transport?.[method] !== 'function') {
        throw configError(`transport.${method} is missing`);
      }
    }
    if (!isNodeId(transport.localId)) throw configError('transport.localId is not a NodeId');
    if (transport.closed) throw configError('the transport is already closed');
    const addresses = options.addresses;
    if (addresses !== undefined && typeof addresses !== 'function' && !(addresses instanceof Map)) {
      throw configError('addresses must be a Map of NodeId → address or a function');
    }
    const coalesce = options.coalesceHeartbeats;
    if (coalesce !== undefined && typeof coalesce !== 'boolean') {
      throw configError('coalesceHeartbeats must be a boolean');
    }
    const nodeBeats = options.nodeBeats;
    if (nodeBeats !== undefined && typeof nodeBeats !== 'boolean') {
      throw configError('nodeBeats must be a boolean');
    }
    this.selfId = transport.localId;
    this.transport = transport;
    this.#members = options.members;
    this.#isMember = memberPredicate(options.members, this.selfId);
    this.#addresses = addresses;
    this.#clock = options.clock ?? systemClock;
    this.metrics = options.metrics ?? new ReplicationMetrics();
    this.nicPeakBps = options.nicPeakBps;
    this.#router = new MeshRouter();
    this.router = this.#router;

    // Coalesced: heartbeats leave batched per peer (one frame per peer per tick burst), the rest
    // in order, and every channel ticks on one grid so their heartbeats share the burst.
    const sendFrame = (target: NodeId, frame: Uint8Array) => this.#send(target, frame);
    const beating = coalesce !== false && nodeBeats !== false;
    const coalescer =
      coalesce !== false
        ? coalescingDispatcher(sendFrame, {
            clock: this.#clock,
            ...(beating ? { nodeBeatPeers: () => transport.connectedPeers() } : {}),
          })
        : null;
    this.#coalescer = coalescer;
    this.ticks = coalescer === null ? undefined : new TickScheduler(this.#clock);
    // Each beat of the grid sends every connected peer a NodeBeat after the beat's heartbeats.
    if (beating) this.ticks?.onBeat(() => coalescer?.beat());
    this.#beatTable = new NodeBeats(this.#clock);
    this.beats = beating ? this.#beatTable : undefined;
    // Sleeping channels wake when a connection changes or a peer's node beats lapse.
    if (beating)
      this.ticks?.wakeWhen((nowMs, periodMs) => this.#beatTable.wakeDue(nowMs, periodMs));
    const base: ReplicationDispatcher = coalescer ?? frameDispatcher(sendFrame);
    this.dispatcher = {
      sendHeartbeat: (target, message) => {
        this.#observeOwnHeartbeat(message);
        return base.sendHeartbeat(target, message);
      },
      sendSyncRequest: base.sendSyncRequest,
      sendSyncResponse: base.sendSyncResponse,
      sendSyncNack: base.sendSyncNack,
      sendQuorum: base.sendQuorum,
    };
    this.chainTags = {
      announce: (originHash, tailSeq) => this.announce(originHash, tailSeq),
      withdraw: (originHash) => this.withdraw(originHash),
    };

    this.#unregisterMetrics = registerMeshMetrics(this.metrics.registry, {
      transportStats: () => transport.stats(),
      peers: () => transport.peers(),
      inboundDrops: () => this.stats().drops,
      routed: () => this.#router.stats.routed,
      chainTagsIn: () => this.#chainTagsIn,
      chainTagsOut: () => this.#chainTagsOut,
      peerLabel: (nodeId) => this.metrics.nodeLabel(nodeId),
    });
    this.metrics.setPeerSource(() => this.#refreshPeerMetrics());
    this.#unsubscribe.push(transport.onFrame((from, frame) => this.#onFrame(from, frame)));
    this.#unsubscribe.push(transport.onPeer((event) => this.#onPeer(event)));
    this.#unsubscribe.push(() => this.ticks?.onBeat(null));
    this.#unsubscribe.push(() => this.ticks?.wakeWhen(null));
  }

  get closed(): boolean {
    return this.#closing !== null;
  }

  /** The cluster members (read from the configured function each time, if one was given). */
  members(): NodeId[] {
    const ids = typeof this.#members === 'function' ? this.#members() : this.#members;
    return [...checkMembers(ids)];
  }

  /** Whether `node` is a cluster member (this node always is). */
  isMember(node: NodeId): boolean {
    return this.#isMember(node);
  }

  /**
   * Where clients reach `node` (NOT_LEADER errors carry it): its configured address, else the
   * mesh address this node dialed it at, else null.
   */
  addressOf(node: NodeId): string | null {
    const addresses = this.#addresses;
    const configured =
      addresses === undefined
        ? undefined
        : typeof addresses === 'function'
          ? addresses(node)
          : addresses.get(node);
    if (typeof configured === 'string' && configured.length > 0) return configured;
    return this.transport.peer(node)?.address ?? null;
  }

  // ─── chain tags ────────────────────────────────────────────────────────────────────────────

  /**
   * ChainTagSink.announce: this node holds the channel `originHash` up to `tailSeq`. Called by
   * the coordinator on Idle → Replica and Candidate → Leader, after it set the role, so the role
   * is read from the channel's runtime (before the runtime registers, it can only be Replica).
   */
  announce(originHash: bigint, tailSeq: number): void {
    if (this.#closing !== null) return;
    const role = this.#router.handleForOrigin(originHash)?.coordinator.role;
    const holding: LocalHolding = {
      role: role === Role.Leader ? Role.Leader : Role.Replica,
      tipSeq: tailSeq,
      updatedAtMs: this.#clock.nowMs(),
    };
    if (!this.#holdings.has(originHash) && this.#holdings.size >= LOCAL_HOLDINGS_MAX) {
      throw configError(`this node already holds ${LOCAL_HOLDINGS_MAX} channels`);
    }
    // Encode before recording, so a bad value (a bug) leaves no half-made holding.
    const frame = encodeChainTag(this.#tagOf(originHash, holding, 'announce'));
    this.#holdings.set(originHash, holding);
    this.#broadcast(frame);
  }

  /** ChainTagSink.withdraw: this node stopped holding `originHash`. Idempotent. */
  withdraw(originHash: bigint): void {
    const holding = this.#holdings.get(originHash);
    if (holding === undefined) return;
    this.#holdings.delete(originHash);
    if (this.#closing !== null) return;
    this.#broadcast(encodeChainTag(this.#tagOf(originHash, holding, 'withdraw')));
  }

  /**
   * Who holds `channel` (a name, a ChannelId or an origin hash), this node included, freshest
   * first: highest tip, then most recently heard, then lowest NodeId.
   */
  findChainHolders(channel: string | ChannelId | bigint): ChainHolder[] {
    const origin = this.#originOf(channel);
    const holders = this.#holders.holders(origin);
    const local = this.#holdings.get(origin);
    if (local !== undefined) {
      holders.push({
        nodeId: this.selfId,
        role: local.role,
        tipSeq: local.tipSeq,
        seenAtMs: local.updatedAtMs,
        local: true,
      });
    }
    return holders.sort(compareHolders);
  }

  #originOf(channel: string | ChannelId | bigint): bigint {
    if (typeof channel === 'bigint') return BigInt.asUintN(64, channel);
    if (typeof channel === 'string') {
      validateChannelName(channel);
      return originHashOf(channelIdFromName(channel));
    }
    if (channel instanceof Uint8Array && channel.length === 32) return originHashOf(channel);
    throw new MeshError(
      MeshErrorReason.Config,
      'findChainHolders: channel must be a channel name, a 32-byte ChannelId or an origin hash',
    );
  }

  #tagOf(originHash: bigint, holding: LocalHolding, kind: ChainTag['kind']): ChainTag {
    return {
      kind,
      originHash,
      tipSeq: holding.tipSeq,
      role: kind === 'withdraw' ? Role.Idle : holding.role,
    };
  }

  #broadcast(frame: Uint8Array): void {
    for (const peer of this.transport.connectedPeers()) this.#sendTag(peer, frame);
  }

  #sendTag(peer: NodeId, frame: Uint8Array): void {
    if (this.transport.send(peer, frame)) this.#chainTagsOut++;
    else this.#chainTagSendFailures++;
  }

  /**
   * Our own heartbeats keep our holdings' tip current, and reveal role changes the sink never
   * hears of (Leader → Replica on a dual-leader concession): those are re-announced.
   */
  #observeOwnHeartbeat(message: SyncHeartbeat): void {
    if (this.#closing !== null) return;
    const origin = originHashOf(message.channelId);
    const holding = this.#holdings.get(origin);
    if (holding === undefined) return;
    holding.tipSeq = message.tailSeq;
    holding.updatedAtMs = this.#clock.nowMs();
    const role = message.role;
    if (role !== holding.role && (role === Role.Leader || role === Role.Replica)) {
      holding.role = role;
      this.#broadcast(encodeChainTag(this.#tagOf(origin, holding, 'announce')));
    }
  }

  #onChainTag(from: NodeId, frame: Uint8Array): void {
    let tag: ChainTag;
    try {
      tag = decodeChainTag(frame);
    } catch {
      this.#drops['bad-chain-tag']++;
      return;
    }
    if (!this.#isMember(from)) {
      this.#drops['non-member']++;
      return;
    }
    if (this.#holders.apply(from, tag, this.#clock.nowMs()) === 'table-full') {
      this.#drops['chain-tag-table-full']++;
      return;
    }
    this.#chainTagsIn++;
  }

  // ─── the transport ─────────────────────────────────────────────────────────────────────────

  #send(target: NodeId, frame: Uint8Array): Promise<void> {
    try {
      if (this.transport.send(target, frame)) return RESOLVED;
    } catch (error) {
      this.#sendFailures++;
      return Promise.reject(error); // BAD_FRAME: an oversize frame, a bug above us
    }
    this.#sendFailures++;
    return Promise.reject(this.#sendDropped);
  }

  #onFrame(from: NodeId, frame: Uint8Array): void {
    if (this.#closing !== null) return;
    // The node's own message too: liveness of the peer, for every channel at once.
    if (isNodeBeat(frame)) {
      if (this.#isMember(from)) this.#beatTable.onFrame(from, frame);
      else this.#drops['non-member']++;
      return;
    }
    // Intercepted before decoding: the chain tag is the mesh's own message, not a channel's.
    if (frame[2] === CHAIN_TAG_DISPATCH) {
      this.#onChainTag(from, frame);
      return;
    }
    if (isHeartbeatBatch(frame)) {
      let heartbeats: SyncHeartbeat[];
      try {
        heartbeats = decodeHeartbeatBatch(frame);
      } catch {
        this.#drops.malformed++;
        return;
      }
      // Split: each channel gets its heartbeat exactly as if it had come alone.
      for (const heartbeat of heartbeats) this.#onMessage(from, heartbeat);
      return;
    }
    let message: AnyReplicationMessage;
    try {
      message = decodeAnyMessage(frame);
    } catch {
      this.#drops.malformed++;
      return;
    }
    this.#onMessage(from, message);
  }

  #onMessage(from: NodeId, message: AnyReplicationMessage): void {
    const handle = this.#router.handleFor(message.channelId);
    // The runtime would drop it too, but only after it took a slot in the channel's inbox.
    if (handle !== undefined && !handle.runtime.replicaSet.includes(from)) {
      this.#drops['not-replica']++;
      return;
    }
    const rejection = this.#router.tryRoute(from, message);
    if (rejection !== null) return; // counted by the router (unknown-channel, inbox-full)
    if (message.kind === 'heartbeat') {
      this.#holders.refresh(
        from,
        originHashOf(message.channelId),
        message.role,
        message.tailSeq,
        this.#clock.nowMs(),
      );
    }
  }

  #onPeer(event: PeerEvent): void {
    if (this.#closing !== null) return;
    // A new connection (or none): heartbeats heard on the old one are no longer covered.
    this.#beatTable.connectionChanged(event.nodeId, event.kind === 'up');
    if (event.kind === 'up') {
      // The peer may have missed announces while it was away, or restarted with an empty table.
      for (const [origin, holding] of this.#holdings) {
        this.#sendTag(event.nodeId, encodeChainTag(this.#tagOf(origin, holding, 'announce')));
      }
    } else {
      // A holder we cannot reach is no use for discovery; it re-announces when it comes back.
      this.#holders.forgetPeer(event.nodeId);
      this.metrics.removePeer(event.nodeId);
    }
    this.metrics.setConnectedPeers(this.transport.connectedPeers().length);
  }

  #refreshPeerMetrics(): void {
    let connected = 0;
    for (const peer of this.transport.peers()) {
      if (!peer.connected) continue;
      connected++;
      if (peer.rttMs !== null) this.metrics.setPeerRtt(peer.nodeId, peer.rttMs);
    }
    this.metrics.setConnectedPeers(connected);
  }

  // ─── status ────────────────────────────────────────────────────────────────────────────────

  /** Heartbeats queued and batched by the dispatcher (docs/DESIGN.md#coalesced-heartbeats). */
  heartbeatStats(): Readonly<HeartbeatCoalescerStats> {
    const none = {
      heartbeatsQueued: 0,
      heartbeatFrames: 0,
      batchFrames: 0,
      sendFailures: 0,
      nodeBeats: 0,
    };
    return { ...(this.#coalescer?.stats ?? none) };
  }

  /** Node beats received from peers (docs/DESIGN.md#node-beats). */
  nodeBeatStats(): Readonly<NodeBeatStats> {
    return { ...this.#beatTable.stats };
  }

  stats(): MeshNodeStats {
    const routerDrops: Record<RouteDrop, number> = this.#router.stats.drops;
    return {
      routed: this.#router.stats.routed,
      drops: {
        ...this.#drops,
        'unknown-channel': routerDrops['unknown-channel'],
        'inbox-full': routerDrops['inbox-full'],
        malformed: this.#drops.malformed + routerDrops.malformed,
      },
      chainTagsIn: this.#chainTagsIn,
      chainTagsOut: this.#chainTagsOut,
      chainTagSendFailures: this.#chainTagSendFailures,
      sendFailures: this.#sendFailures,
      trackedChannels: this.#holders.size,
      localHoldings: this.#holdings.size,
    };
  }

  /**
   * Detaches from the transport, forgets the chain tags and the mesh metrics, and closes the
   * transport. Idempotent (one promise). Close the Redex first so its channels withdraw.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    for (const off of this.#unsubscribe.splice(0)) off();
    this.#coalescer?.flush();
    this.#coalescer?.close();
    this.#unregisterMetrics();
    this.metrics.setPeerSource(null);
    this.#router.clear();
    this.#holders.clear();
    this.#holdings.clear();
    await this.transport.close();
  }

  assertInvariants(): void {
    this.#holders.assertInvariants();
    this.#router.assertInvariants();
    this.#beatTable.assertInvariants();
    if (this.#holdings.size > LOCAL_HOLDINGS_MAX) throw new Error('mesh node: too many holdings');
  }
}
