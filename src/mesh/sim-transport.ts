// A simulated mesh (DEV DOCS): `SimNetwork` owns a set of nodes, each reached through a
// `SimTransport` with the same `Transport` interface as `MeshTransport`, and moves frames between
// them in virtual time. It exists so the replication runtime can run under a seeded swarm
// (test/dst/, the deterministic simulation) with faults a real network produces rarely.
//
// Model (per directed link a→b):
// - Connectivity: a and b are connected when both are alive and no partition separates them.
//   Connectivity changes take effect at once; the `up`/`down` events reach the handlers on a
//   0 ms timer (never inside the caller's call). `send` to a peer that is not connected returns
//   false (no-connection), like the real transport.
// - Delay: uniform integer in [minDelayMs, maxDelayMs]. Frames on a link keep FIFO order, as on
//   one TCP connection, unless reordered.
// - Faults, each drawn from the seeded Random in a fixed order per send: loss (the frame vanishes,
//   `send` still returns true), duplication (a second copy with its own delay), reordering (the
//   frame gets an extra delay and ignores FIFO order, so later frames can overtake it).
// - A link going down (partition, crash, close) loses every frame in flight on it, as a broken TCP
//   connection would: frames carry the link's epoch and are dropped at delivery if it changed.
// - Crash: the node's transport dies at once (closed, no handler runs again); `restart` gives a
//   fresh transport for the same NodeId (new incarnation, no handlers, counters reset).
// Every decision comes from one SeededRandom and the clock's timer order, so a seed and the same
// calls replay the same delivery trace.

import type { Clock } from '../time/clock.js';
import { SeededRandom } from '../time/random.js';
import { isNodeId, nodeIdToHex } from '../wire/ids.js';
import type { NodeId } from '../wire/types.js';
import { checkSendableFrame } from './control.js';
import { checkIntegerOption, checkNumberOption, MeshError, MeshErrorReason } from './errors.js';
import { FRAME_BODY_BYTES_MAX, FRAME_HEADER_BYTES } from './framing.js';
import { HandlerList } from './handler-list.js';
import {
  copyPeerStats,
  copyTransportStats,
  DropReason,
  emptyPeerStats,
  emptyTransportStats,
  type FrameHandler,
  type PeerEvent,
  type PeerHandler,
  type PeerSnapshot,
  type PeerStats,
  type Transport,
  type TransportStats,
} from './types.js';

/** Frames in flight across the whole network; past it, `send` drops with backpressure. */
export const SIM_IN_FLIGHT_MAX = 1_000_000;
/** Trace entries kept; later ones are counted in `traceOverflow`, not stored. */
export const SIM_TRACE_ENTRIES_MAX = 1_000_000;
/** Nodes in one network. */
export const SIM_NODES_MAX = 1024;
/** Largest configurable delay (one virtual hour). */
export const SIM_DELAY_MS_MAX = 3_600_000;

export interface SimFaults {
  /** Smallest one-way delay, ms (default 1). */
  readonly minDelayMs: number;
  /** Largest one-way delay, ms (default 5). */
  readonly maxDelayMs: number;
  /** Probability a frame is lost, [0, 1] (default 0). */
  readonly lossRate: number;
  /** Probability a frame is delivered twice, [0, 1] (default 0). */
  readonly duplicateRate: number;
  /** Probability a frame is held back and may be overtaken, [0, 1] (default 0). */
  readonly reorderRate: number;
  /** Largest extra delay of a reordered frame, ms (default 20). */
  readonly reorderDelayMs: number;
}

export const SIM_FAULTS_DEFAULT: SimFaults = {
  minDelayMs: 1,
  maxDelayMs: 5,
  lossRate: 0,
  duplicateRate: 0,
  reorderRate: 0,
  reorderDelayMs: 20,
};

export interface SimNetworkOptions {
  /** Virtual time (a VirtualClock in tests); every delay and event is a timer on it. */
  readonly clock: Clock;
  /** Seed of the network's one Random. */
  readonly seed: number;
  readonly faults?: Partial<SimFaults>;
  /** Record every send, delivery and drop in `trace` (default false). */
  readonly trace?: boolean;
}

export type SimTraceEvent = 'send' | 'deliver' | 'duplicate' | 'drop';

export interface SimTraceEntry {
  readonly atMs: number;
  readonly event: SimTraceEvent;
  /** Sequence number of the frame, shared by its duplicate. */
  readonly frame: number;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly bytes: number;
  /** For drops: why. */
  readonly reason?: DropReason | 'lost' | 'link-down';
}

interface SimNode {
  readonly nodeId: NodeId;
  transport: SimTransport | null;
  incarnation: number;
}

function checkFaults(faults: SimFaults): void {
  const owner = 'SimNetwork';
  checkIntegerOption(owner, 'minDelayMs', faults.minDelayMs, 0, SIM_DELAY_MS_MAX);
  checkIntegerOption(owner, 'maxDelayMs', faults.maxDelayMs, faults.minDelayMs, SIM_DELAY_MS_MAX);
  checkNumberOption(owner, 'lossRate', faults.lossRate, 0, 1);
  checkNumberOption(owner, 'duplicateRate', faults.duplicateRate, 0, 1);
  checkNumberOption(owner, 'reorderRate', faults.reorderRate, 0, 1);
  checkIntegerOption(owner, 'reorderDelayMs', faults.reorderDelayMs, 0, SIM_DELAY_MS_MAX);
}

function pairKey(a: NodeId, b: NodeId): string {
  return a < b ? `${a}:${b}` : `${b}:${a}`;
}

function linkKey(from: NodeId, to: NodeId): string {
  return `${from}>${to}`;
}

/** The network: nodes, links, faults, the Random and the trace. */
export class SimNetwork {
  readonly clock: Clock;
  readonly random: SeededRandom;
  readonly trace: SimTraceEntry[] = [];
  traceOverflow = 0;
  /** Frames dropped by injected faults (loss, a link going down under them). */
  readonly faultStats = { lost: 0, duplicated: 0, reordered: 0, linkDown: 0 };
  #faults: SimFaults;
  readonly #tracing: boolean;
  readonly #nodes = new Map<NodeId, SimNode>();
  // Pairs separated by a partition (undirected).
  #blocked = new Set<string>();
  // Per directed link: epoch (bumped when the link goes down) and the FIFO delivery floor.
  readonly #linkEpoch = new Map<string, number>();
  readonly #fifoFloorMs = new Map<string, number>();
  // Undirected pairs currently connected, to emit up/down only on changes.
  readonly #connectedPairs = new Set<string>();
  // Incarnations ("a/b") a connected pair was connected at: a restart is a new connection.
  readonly #pairState = new Map<string, string>();
  #inFlight = 0;
  #nextFrame = 1;

  constructor(options: SimNetworkOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new MeshError(MeshErrorReason.Config, 'SimNetwork: options must be an object');
    }
    if (typeof options.clock?.setTimer !== 'function') {
      throw new MeshError(MeshErrorReason.Config, 'SimNetwork: clock must be a Clock');
    }
    this.clock = options.clock;
    this.random = new SeededRandom(options.seed);
    this.#faults = { ...SIM_FAULTS_DEFAULT, ...options.faults };
    checkFaults(this.#faults);
    this.#tracing = options.trace ?? false;
  }

  get faults(): SimFaults {
    return this.#faults;
  }

  /** Changes fault settings from now on (frames in flight keep their schedule). */
  setFaults(faults: Partial<SimFaults>): void {
    const next = { ...this.#faults, ...faults };
    checkFaults(next);
    this.#faults = next;
  }

  /** Frames scheduled and not yet delivered or dropped. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Adds a node and returns its transport. A NodeId that crashed or closed must use `restart`. */
  addNode(nodeId: NodeId): SimTransport {
    if (!isNodeId(nodeId)) {
      throw new MeshError(MeshErrorReason.Config, 'SimNetwork.addNode: nodeId must be a NodeId');
    }
    if (this.#nodes.has(nodeId)) {
      throw new MeshError(
        MeshErrorReason.Config,
        `SimNetwork.addNode: node ${nodeIdToHex(nodeId)} already exists (use restart)`,
      );
    }
    if (this.#nodes.size >= SIM_NODES_MAX) {
      throw new MeshError(MeshErrorReason.Config, `SimNetwork: at most ${SIM_NODES_MAX} nodes`);
    }
    const node: SimNode = { nodeId, transport: null, incarnation: 0 };
    this.#nodes.set(nodeId, node);
    return this.#start(node);
  }

  /** The node's live transport, or undefined when it is down or unknown. */
  transport(nodeId: NodeId): SimTransport | undefined {
    return this.#nodes.get(nodeId)?.transport ?? undefined;
  }

  /** Node ids, ascending. */
  nodeIds(): NodeId[] {
    return [...this.#nodes.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  hasNode(nodeId: NodeId): boolean {
    return this.#nodes.has(nodeId);
  }

  isAlive(nodeId: NodeId): boolean {
    return (this.#nodes.get(nodeId)?.transport ?? null) !== null;
  }

  /** Kills a node: its transport closes at once, its links go down, frames in flight are lost. */
  crash(nodeId: NodeId): void {
    const node = this.#node(nodeId);
    const transport = node.transport;
    if (transport === null) return;
    node.transport = null;
    transport.markClosed();
    this.#refreshLinks();
  }

  /** Brings a crashed (or closed) node back as a new incarnation with a fresh transport. */
  restart(nodeId: NodeId): SimTransport {
    const node = this.#node(nodeId);
    if (node.transport !== null) {
      throw new MeshError(
        MeshErrorReason.Config,
        `SimNetwork.restart: node ${nodeIdToHex(nodeId)} is running (crash it first)`,
      );
    }
    node.incarnation++;
    return this.#start(node);
  }

  /**
   * Separates the groups from each other: a node in one group cannot reach a node in another.
   * Replaces any previous partition; nodes in no group keep reaching everyone.
   */
  partition(...groups: readonly (readonly NodeId[])[]): void {
    const blocked = new Set<string>();
    for (let i = 0; i < groups.length; i++) {
      for (let j = i + 1; j < groups.length; j++) {
        for (const a of groups[i]!) {
          for (const b of groups[j]!) if (a !== b) blocked.add(pairKey(a, b));
        }
      }
    }
    this.#blocked = blocked;
    this.#refreshLinks();
  }

  /** Cuts one node off from every other node (replaces any previous partition). */
  isolate(nodeId: NodeId): void {
    const others = this.nodeIds().filter((id) => id !== nodeId);
    this.partition([nodeId], others);
  }

  /** Removes every partition. */
  heal(): void {
    this.#blocked = new Set();
    this.#refreshLinks();
  }

  /** Whether a and b can exchange frames right now. */
  connected(a: NodeId, b: NodeId): boolean {
    return a !== b && this.isAlive(a) && this.isAlive(b) && !this.#blocked.has(pairKey(a, b));
  }

  // -- internals used by SimTransport ----------------------------------------------------------

  /** @internal */
  leave(transport: SimTransport): void {
    const node = this.#nodes.get(transport.localId);
    if (node === undefined || node.transport !== transport) return;
    node.transport = null;
    this.#refreshLinks();
  }

  /** @internal True when accepted (even if a fault then eats it), else why it was refused. */
  send(from: SimTransport, to: NodeId, frame: Uint8Array): true | DropReason {
    if (!this.connected(from.localId, to)) return DropReason.NoConnection;
    if (this.#inFlight >= SIM_IN_FLIGHT_MAX) return DropReason.Backpressure;
    const faults = this.#faults;
    const id = this.#nextFrame++;
    const now = this.clock.nowMs();
    const link = linkKey(from.localId, to);
    const epoch = this.#linkEpoch.get(link) ?? 0;
    this.#record('send', id, from.localId, to, frame.length);
    // Draw every decision in a fixed order so a seed replays exactly.
    const lost = this.random.nextFloat() < faults.lossRate;
    const delay = this.#delay();
    const reordered = this.random.nextFloat() < faults.reorderRate;
    const extra = reordered ? this.random.nextInt(faults.reorderDelayMs + 1) : 0;
    const duplicated = this.random.nextFloat() < faults.duplicateRate;
    const duplicateDelay = duplicated ? this.#delay() : 0;
    if (lost) {
      this.faultStats.lost++;
      this.#record('drop', id, from.localId, to, frame.length, 'lost');
      return true; // the sender cannot tell
    }
    const copy = frame.slice();
    let atMs: number;
    if (reordered) {
      this.faultStats.reordered++;
      atMs = now + delay + extra;
    } else {
      atMs = Math.max(now + delay, this.#fifoFloorMs.get(link) ?? 0);
      this.#fifoFloorMs.set(link, atMs);
    }
    this.#schedule(id, from.localId, to, copy, atMs, epoch, 'deliver');
    if (duplicated) {
      this.faultStats.duplicated++;
      this.#schedule(id, from.localId, to, copy.slice(), now + duplicateDelay, epoch, 'duplicate');
    }
    return true;
  }

  #delay(): number {
    const { minDelayMs, maxDelayMs } = this.#faults;
    return minDelayMs + this.random.nextInt(maxDelayMs - minDelayMs + 1);
  }

  #schedule(
    id: number,
    from: NodeId,
    to: NodeId,
    frame: Uint8Array,
    atMs: number,
    epoch: number,
    event: 'deliver' | 'duplicate',
  ): void {
    this.#inFlight++;
    this.clock.setTimer(atMs - this.clock.nowMs(), () => {
      this.#inFlight--;
      const link = linkKey(from, to);
      const receiver = this.#nodes.get(to)?.transport ?? null;
      if ((this.#linkEpoch.get(link) ?? 0) !== epoch || receiver === null) {
        this.faultStats.linkDown++;
        this.#record('drop', id, from, to, frame.length, 'link-down');
        return;
      }
      this.#record(event, id, from, to, frame.length);
      receiver.deliver(from, frame);
    });
  }

  #record(
    event: SimTraceEvent,
    frame: number,
    from: NodeId,
    to: NodeId,
    bytes: number,
    reason?: SimTraceEntry['reason'],
  ): void {
    if (!this.#tracing) return;
    if (this.trace.length >= SIM_TRACE_ENTRIES_MAX) {
      this.traceOverflow++;
      return;
    }
    const entry: SimTraceEntry = { atMs: this.clock.nowMs(), event, frame, from, to, bytes };
    this.trace.push(reason === undefined ? entry : { ...entry, reason });
  }

  #node(nodeId: NodeId): SimNode {
    const node = this.#nodes.get(nodeId);
    if (node === undefined) {
      throw new MeshError(
        MeshErrorReason.Config,
        `SimNetwork: unknown node ${isNodeId(nodeId) ? nodeIdToHex(nodeId) : String(nodeId)}`,
      );
    }
    return node;
  }

  #start(node: SimNode): SimTransport {
    const transport = new SimTransport(this, node.nodeId, node.incarnation);
    node.transport = transport;
    this.#refreshLinks();
    return transport;
  }

  /** Recomputes which pairs are connected; emits up/down and bumps epochs on changes. */
  #refreshLinks(): void {
    const ids = this.nodeIds();
    for (let i = 0; i < ids.length; i++) {
      for (let j = i + 1; j < ids.length; j++) {
        const a = ids[i]!;
        const b = ids[j]!;
        const key = pairKey(a, b);
        const nowConnected = this.connected(a, b);
        // A restarted node is a new connection even if the pair looked connected throughout.
        const incarnations = `${this.#nodes.get(a)!.incarnation}/${this.#nodes.get(b)!.incarnation}`;
        const was = this.#pairState.get(key);
        const wasConnected = this.#connectedPairs.has(key);
        if (nowConnected && wasConnected && was === incarnations) continue;
        if (!nowConnected && !wasConnected) continue;
        if (wasConnected) {
          this.#connectedPairs.delete(key);
          this.#bumpEpoch(a, b);
          this.#notify(a, b, 'down');
          this.#notify(b, a, 'down');
        }
        if (nowConnected) {
          this.#connectedPairs.add(key);
          this.#pairState.set(key, incarnations);
          this.#notify(a, b, 'up');
          this.#notify(b, a, 'up');
        }
      }
    }
  }

  #bumpEpoch(a: NodeId, b: NodeId): void {
    for (const link of [linkKey(a, b), linkKey(b, a)]) {
      this.#linkEpoch.set(link, (this.#linkEpoch.get(link) ?? 0) + 1);
      this.#fifoFloorMs.delete(link);
    }
  }

  /** Tells `at`'s current transport (if alive now and when the timer fires) about `peer`. */
  #notify(at: NodeId, peer: NodeId, kind: PeerEvent['kind']): void {
    const transport = this.#nodes.get(at)?.transport ?? null;
    if (transport === null) return;
    transport.linkChanged(peer, kind);
  }
}

interface SimPeer {
  readonly stats: PeerStats;
}

/** One node's view of a `SimNetwork`; made by `SimNetwork.addNode` / `restart`. */
export class SimTransport implements Transport {
  readonly localId: NodeId;
  /** 0 for the first start, +1 per restart. */
  readonly incarnation: number;
  readonly #network: SimNetwork;
  readonly #stats: TransportStats = emptyTransportStats();
  readonly #peers = new Map<NodeId, SimPeer>();
  readonly #frameHandlers = new HandlerList<FrameHandler>();
  readonly #peerHandlers = new HandlerList<PeerHandler>();
  #closed = false;

  /** @internal Use `SimNetwork.addNode`. */
  constructor(network: SimNetwork, localId: NodeId, incarnation: number) {
    this.#network = network;
    this.localId = localId;
    this.incarnation = incarnation;
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(to: NodeId, frame: Uint8Array): boolean {
    checkSendableFrame(frame, FRAME_BODY_BYTES_MAX);
    if (this.#closed) {
      this.#stats.drops[DropReason.Closed]++;
      return false;
    }
    const result = this.#network.send(this, to, frame);
    if (result !== true) {
      this.#countDrop(to, result);
      return false;
    }
    const framed = FRAME_HEADER_BYTES + frame.length;
    this.#stats.framesOut++;
    this.#stats.bytesOut += framed;
    const peer = this.#peer(to);
    peer.stats.framesOut++;
    peer.stats.bytesOut += framed;
    return true;
  }

  onFrame(handler: FrameHandler): () => void {
    return this.#frameHandlers.add(handler, 'onFrame');
  }

  onPeer(handler: PeerHandler): () => void {
    return this.#peerHandlers.add(handler, 'onPeer');
  }

  isConnected(peer: NodeId): boolean {
    return !this.#closed && this.#network.connected(this.localId, peer);
  }

  connectedPeers(): NodeId[] {
    if (this.#closed) return [];
    return this.#network.nodeIds().filter((id) => this.isConnected(id));
  }

  peer(nodeId: NodeId): PeerSnapshot | undefined {
    const peer = this.#peers.get(nodeId);
    return peer === undefined ? undefined : this.#snapshot(nodeId, peer);
  }

  peers(): PeerSnapshot[] {
    return [...this.#peers.keys()]
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
      .map((id) => this.#snapshot(id, this.#peers.get(id)!));
  }

  stats(): TransportStats {
    return copyTransportStats(this.#stats);
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#network.leave(this);
    }
    return Promise.resolve();
  }

  /** @internal The network crashed this node. */
  markClosed(): void {
    this.#closed = true;
  }

  /** @internal A frame arrives from `from`. */
  deliver(from: NodeId, frame: Uint8Array): void {
    if (this.#closed) return;
    const framed = FRAME_HEADER_BYTES + frame.length;
    this.#stats.framesIn++;
    this.#stats.bytesIn += framed;
    const peer = this.#peer(from);
    peer.stats.framesIn++;
    peer.stats.bytesIn += framed;
    if (this.#frameHandlers.current.length === 0) {
      this.#countDrop(from, DropReason.NoHandler);
      return;
    }
    for (const handler of this.#frameHandlers.current) {
      try {
        handler(from, frame);
      } catch (error) {
        // In the simulation a handler bug must fail the run loudly, with the seed in the log.
        this.#countDrop(from, DropReason.HandlerError);
        throw error;
      }
    }
  }

  /** @internal Connectivity to `peer` changed; handlers hear of it on a 0 ms timer. */
  linkChanged(peer: NodeId, kind: PeerEvent['kind']): void {
    const stats = this.#peer(peer).stats;
    if (kind === 'up') stats.ups++;
    else stats.downs++;
    this.#network.clock.setTimer(0, () => {
      if (this.#closed) return;
      for (const handler of this.#peerHandlers.current) handler({ kind, nodeId: peer });
    });
  }

  #peer(nodeId: NodeId): SimPeer {
    let peer = this.#peers.get(nodeId);
    if (peer === undefined) {
      peer = { stats: emptyPeerStats() };
      this.#peers.set(nodeId, peer);
    }
    return peer;
  }

  #countDrop(peer: NodeId, reason: DropReason): void {
    this.#stats.drops[reason]++;
    // Per-peer counters only for nodes of the network, so junk ids cannot grow the table.
    if (peer !== this.localId && this.#network.hasNode(peer))
      this.#peer(peer).stats.drops[reason]++;
  }

  #snapshot(nodeId: NodeId, peer: SimPeer): PeerSnapshot {
    const connected = this.isConnected(nodeId);
    // No pings in the simulation: the round trip is twice the mean configured delay.
    const { minDelayMs, maxDelayMs } = this.#network.faults;
    const rtt = connected ? minDelayMs + maxDelayMs : null;
    return {
      nodeId,
      connected,
      rttMs: rtt,
      rttSmoothedMs: rtt,
      address: `sim://${nodeIdToHex(nodeId)}`,
      stats: copyPeerStats(peer.stats),
    };
  }
}
