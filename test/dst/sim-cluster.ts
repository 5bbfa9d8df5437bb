// DEV DOCS — the deterministic simulation's world.
//
// N nodes run the real code: each a `Redex` with persistent files on its own MemoryFileSystem,
// `enableReplication` with a host over a `SimTransport`, and the replicated channel opened as in
// production. Everything shares one VirtualClock and derives from one seed, so a run is a pure
// function of (seed, options) and replays exactly.
//
// Faults: partitions (full, one-way, isolating a node), crashes (the transport dies, unsynced
// bytes are lost or torn, the process's memory is gone) and restarts (a new Redex on the same
// files), message loss / duplication / reordering / delay spikes (the SimNetwork), and slow nodes
// (every frame a node sends waits an extra delay). One-way cuts and slowness live in this file's
// send path because the network models links as symmetric.

import type { FileSystem, FsFile } from '../../src/log/disk/fs.js';
import { MemoryFileSystem } from '../../src/log/disk/memory-fs.js';
import { Redex } from '../../src/log/redex.js';
import type { RedexFile } from '../../src/log/redex-file.js';
import { type SimFaults, SimNetwork, type SimTransport } from '../../src/mesh/sim-transport.js';
import { frameDispatcher } from '../../src/replication/dispatcher.js';
import { enableReplication, replicatorOf } from '../../src/replication/enable.js';
import {
  type CoalescingDispatcher,
  coalescingDispatcher,
} from '../../src/replication/heartbeat-coalescer.js';
import type { ReplicationHost } from '../../src/replication/host.js';
import { NodeBeats } from '../../src/replication/node-beats.js';
import type { ReplicatedChannel } from '../../src/replication/replicator.js';
import { ReplicationRouter } from '../../src/replication/router.js';
import { TickScheduler } from '../../src/replication/tick-scheduler.js';
import { SeededRandom } from '../../src/time/random.js';
import { VirtualClock } from '../../src/time/virtual-clock.js';
import { type NodeId, Role } from '../../src/wire/types.js';
import { Trace } from './trace.js';

export const CHANNEL = 'dst/events';
/** Frames kept per held (frozen) node; later ones are lost. */
export const HELD_FRAMES_MAX = 100_000;

export interface SimClusterOptions {
  readonly seed: number;
  readonly nodes: number;
  readonly heartbeatMs?: number;
  readonly faults?: Partial<SimFaults>;
  /** Replication config beyond factor and heartbeat. */
  readonly replication?: Record<string, unknown>;
  /** NodeIds to use instead of seeded random ones (scenario tests pin them). */
  readonly nodeIds?: readonly NodeId[];
  readonly fsync?: 'always' | 'never';
  /** Extra options for the replicated channel's file (e.g. `retention`). */
  readonly file?: Record<string, unknown>;
  /**
   * Heartbeats batched per peer and ticks on one grid per node, as a MeshNode does by default
   * (docs/DESIGN.md#coalesced-heartbeats); default false: a frame per heartbeat, a timer per channel.
   */
  readonly coalesceHeartbeats?: boolean;
  /**
   * Node beats on top of coalescing, as a MeshNode does by default (docs/DESIGN.md#node-beats);
   * default false. Ignored without `coalesceHeartbeats`.
   */
  readonly nodeBeats?: boolean;
  /**
   * Each file fsync takes 0…this many virtual ms (seeded), default 0: a leader's appends are then
   * shipped to replicas while its own fsync runs, and crashes land inside that window.
   */
  readonly fsyncLatencyMs?: number;
}

/** What the inbound hook decides for one frame: route it, or lose it as if never received. */
export type InboundVerdict = 'deliver' | 'drop';

/**
 * Crash points in a node's file system: called around every `truncate` of any of its files (a
 * scenario crashes the node there, to meet a half-done log truncation on restart).
 */
export interface FsCrashPoints {
  beforeTruncate?: (path: string, size: number) => void;
  afterTruncate?: (path: string, size: number) => void;
  /** Called before every file fsync; the fsync waits for what it returns (a scenario holds it). */
  beforeSync?: (path: string) => Promise<void> | undefined;
}

/**
 * A file fsync's virtual latency. It applies only while the cluster advances the clock (opens,
 * crashes and stops between two advances would otherwise wait for a clock nobody moves); a
 * crash fails the fsyncs still waiting, as the process is gone.
 */
interface SyncLatency {
  readonly clock: VirtualClock;
  readonly random: SeededRandom;
  readonly maxMs: number;
  /** True while the cluster advances the clock. */
  active: boolean;
  /** The fsyncs waiting now: each is ended by its timer, a crash (fail) or a stop (release). */
  readonly waiting: Set<{ release(): void; fail(): void }>;
}

function delayedSync(latency: SyncLatency, sync: () => Promise<void>): Promise<void> {
  if (!latency.active) return sync();
  const delayMs = latency.random.nextInt(latency.maxMs + 1);
  if (delayMs === 0) return sync();
  return new Promise<void>((resolve, reject) => {
    const waiter = {
      release: (): void => {
        timer.cancel();
        latency.waiting.delete(waiter);
        resolve();
      },
      fail: (): void => {
        timer.cancel();
        latency.waiting.delete(waiter);
        reject(new Error('EBADF: the process crashed during the fsync'));
      },
    };
    const timer = latency.clock.setTimer(delayMs, waiter.release);
    latency.waiting.add(waiter);
  }).then(sync);
}

/** `fs` with the crash points of `points` around truncations; everything else passes through. */
function withCrashPoints(
  fs: FileSystem,
  points: FsCrashPoints,
  latency: SyncLatency | null = null,
): FileSystem {
  const wrapFile = (path: string, file: FsFile): FsFile => ({
    write: (data, position) => file.write(data, position),
    writev: (buffers, position) => file.writev(buffers, position),
    read: (into, position) => file.read(into, position),
    size: () => file.size(),
    truncate: async (size) => {
      points.beforeTruncate?.(path, size);
      await file.truncate(size);
      points.afterTruncate?.(path, size);
    },
    sync: async () => {
      await points.beforeSync?.(path);
      await (latency === null ? file.sync() : delayedSync(latency, () => file.sync()));
    },
    close: () => file.close(),
  });
  return {
    open: async (path, mode) => wrapFile(path, await fs.open(path, mode)),
    mkdir: (path) => fs.mkdir(path),
    readdir: (path) => fs.readdir(path),
    exists: (path) => fs.exists(path),
    rename: (from, to) => fs.rename(from, to),
    unlink: (path) => fs.unlink(path),
    rmdirIfEmpty: (path) => fs.rmdirIfEmpty(path),
    syncDir: (path) => fs.syncDir(path),
  };
}

export class SimNode {
  readonly id: NodeId;
  readonly index: number;
  readonly fs = new MemoryFileSystem();
  /** Hooks the node's Redex meets on its file system (see FsCrashPoints). */
  readonly crashPoints: FsCrashPoints = {};
  /** The virtual fsync latency of its files, when the cluster has one. */
  syncLatency: SyncLatency | null = null;
  redex: Redex | null = null;
  transport: SimTransport | null = null;
  /** Its heartbeat batcher while up, when the cluster coalesces heartbeats. */
  coalescer: CoalescingDispatcher | null = null;
  file: RedexFile | null = null;
  router = new ReplicationRouter();
  /** Extra delay on every frame this node sends (a slow node), ms. */
  slowMs = 0;
  starts = 0;
  crashes = 0;

  constructor(index: number, id: NodeId) {
    this.index = index;
    this.id = id;
  }

  get up(): boolean {
    return this.file !== null && !this.file.closed;
  }

  get channel(): ReplicatedChannel | undefined {
    return this.redex === null ? undefined : replicatorOf(this.redex)?.channel(CHANNEL);
  }

  get role(): Role {
    return this.up ? (this.channel?.role ?? Role.Idle) : Role.Idle;
  }

  get name(): string {
    return `n${this.index}`;
  }
}

export class SimCluster {
  readonly seed: number;
  readonly clock = new VirtualClock(1_000_000);
  readonly random: SeededRandom;
  readonly network: SimNetwork;
  readonly nodes: SimNode[] = [];
  readonly heartbeatMs: number;
  readonly trace: Trace;
  readonly #replication: Record<string, unknown>;
  readonly #fsync: 'always' | 'never';
  readonly #coalesce: boolean;
  readonly #nodeBeats: boolean;
  readonly #fsyncLatencyMs: number;
  /** Directed cuts "from>to" (one-way partitions). */
  readonly #oneWay = new Set<string>();
  /** Frames eaten by one-way cuts. */
  oneWayDrops = 0;
  /** Sees every frame a node hands to the network (tests inspect what is on the wire). */
  tap: ((from: SimNode, to: NodeId, frame: Uint8Array) => void) | null = null;
  /**
   * Sees every frame the network delivers to a node, before its router (scenario tests crash a
   * node at the moment a given frame arrives, or lose it). Runs synchronously in delivery.
   */
  inbound: ((to: SimNode, from: NodeId, frame: Uint8Array) => InboundVerdict) | null = null;
  readonly #fileOptions: Record<string, unknown>;
  /** Nodes whose outbound frames are held back (a frozen process), with what they sent. */
  readonly #held = new Map<NodeId, { target: NodeId; frame: Uint8Array }[]>();

  private constructor(options: SimClusterOptions) {
    this.seed = options.seed;
    this.random = new SeededRandom(options.seed);
    this.trace = new Trace(this.clock);
    this.heartbeatMs = options.heartbeatMs ?? 100;
    this.#fsync = options.fsync ?? 'always';
    this.#coalesce = options.coalesceHeartbeats ?? false;
    this.#nodeBeats = this.#coalesce && (options.nodeBeats ?? false);
    this.#fsyncLatencyMs = options.fsyncLatencyMs ?? 0;
    this.#fileOptions = options.file ?? {};
    this.network = new SimNetwork({
      clock: this.clock,
      seed: this.random.nextU32(),
      ...(options.faults === undefined ? {} : { faults: options.faults }),
    });
    const ids = options.nodeIds ?? this.#randomIds(options.nodes);
    for (const [index, id] of ids.entries()) this.nodes.push(new SimNode(index, id));
    // Forked only when used, so runs without it keep the random streams they always had.
    if (this.#fsyncLatencyMs > 0) {
      for (const node of this.nodes) {
        node.syncLatency = {
          clock: this.clock,
          random: this.random.fork(),
          maxMs: this.#fsyncLatencyMs,
          active: false,
          waiting: new Set(),
        };
      }
    }
    this.#replication = {
      factor: options.nodes,
      heartbeatMs: this.heartbeatMs,
      ...options.replication,
    };
  }

  static async start(options: SimClusterOptions): Promise<SimCluster> {
    const cluster = new SimCluster(options);
    for (const node of cluster.nodes) await cluster.startNode(node);
    return cluster;
  }

  get memberIds(): NodeId[] {
    return this.nodes.map((node) => node.id);
  }

  upNodes(): SimNode[] {
    return this.nodes.filter((node) => node.up);
  }

  leaders(): SimNode[] {
    return this.upNodes().filter((node) => node.role === Role.Leader);
  }

  nodeById(id: NodeId): SimNode | undefined {
    return this.nodes.find((node) => node.id === id);
  }

  /** Starts (or restarts, on its surviving files) `node`. */
  async startNode(node: SimNode): Promise<void> {
    node.transport =
      node.starts === 0 ? this.network.addNode(node.id) : this.network.restart(node.id);
    const transport = node.transport;
    const router = new ReplicationRouter();
    node.router = router;
    const beats = new NodeBeats(this.clock);
    transport.onFrame((from, frame) => {
      if (this.inbound !== null && this.inbound(node, from, frame) === 'drop') return;
      if (beats.onFrame(from, frame)) return;
      // Frames are views into a buffer the network may reuse: the router copies what it keeps.
      router.tryRouteFrame(from, frame);
    });
    transport.onPeer((event) => beats.connectionChanged(event.nodeId, event.kind === 'up'));
    const send = (target: NodeId, frame: Uint8Array) => this.#send(node, transport, target, frame);
    node.coalescer = this.#coalesce
      ? coalescingDispatcher(send, {
          clock: this.clock,
          ...(this.#nodeBeats ? { nodeBeatPeers: () => transport.connectedPeers() } : {}),
        })
      : null;
    const ticks = this.#coalesce ? new TickScheduler(this.clock) : undefined;
    const coalescer = node.coalescer;
    if (this.#nodeBeats) ticks?.onBeat(() => coalescer?.beat());
    const host: ReplicationHost = {
      selfId: node.id,
      members: () => this.memberIds,
      dispatcher: node.coalescer ?? frameDispatcher(send),
      router,
      addressOf: (id) => this.nodeById(id)?.name ?? null,
      ...(ticks === undefined ? {} : { ticks }),
      ...(this.#nodeBeats ? { beats } : {}),
    };
    const redex = new Redex({
      dir: '/data',
      fs: withCrashPoints(node.fs, node.crashPoints, node.syncLatency),
      clock: this.clock,
      random: this.random.fork(),
    });
    enableReplication(redex, host, { testOnlyHeartbeatMsMin: 1 });
    node.redex = redex;
    node.file = await redex.openFile(CHANNEL, {
      ...this.#fileOptions,
      persistent: true,
      fsync: this.#fsync,
      replication: this.#replication,
    });
    node.starts++;
    this.trace.add(`${node.name} start #${node.starts} next=${node.file.nextSeq}`);
  }

  /**
   * Crash-stops `node`: the network drops it, its files lose (or tear) what was not fsynced, and
   * the process's memory is gone (its Redex is closed against a dead file system, so nothing more
   * reaches the disk or the network).
   */
  async crashNode(node: SimNode): Promise<void> {
    if (!node.up) return;
    node.crashes++;
    this.network.crash(node.id);
    node.fs.crash((_path, unsynced) => this.random.nextInt(unsynced + 1));
    for (const waiter of [...(node.syncLatency?.waiting ?? [])]) waiter.fail();
    const redex = node.redex;
    node.redex = null;
    node.file = null;
    node.router.clear();
    node.transport = null;
    // Heartbeats still queued die with the process.
    node.coalescer?.close();
    node.coalescer = null;
    this.trace.add(`${node.name} crash`);
    await redex?.close().catch(() => {});
  }

  partition(groups: readonly (readonly SimNode[])[]): void {
    this.network.partition(...groups.map((group) => group.map((node) => node.id)));
    this.trace.add(
      `partition ${groups.map((group) => group.map((node) => node.name).join('+')).join(' | ')}`,
    );
  }

  /** Frames from `from` to `to` are lost; the other direction still works. */
  cutOneWay(from: SimNode, to: SimNode): void {
    this.#oneWay.add(`${from.id}>${to.id}`);
    this.trace.add(`cut ${from.name} -> ${to.name}`);
  }

  /**
   * Holds back every frame `node` sends from now on (with `cutOneWay` towards it, the node is
   * frozen as far as its peers can tell) until `releaseHeld`, which sends them late, in order.
   */
  holdOutbound(node: SimNode): void {
    if (!this.#held.has(node.id)) this.#held.set(node.id, []);
    this.trace.add(`hold ${node.name}`);
  }

  /** Sends what `node` sent while held (late frames), stops holding; returns how many. */
  releaseHeld(node: SimNode): number {
    const held = this.#held.get(node.id) ?? [];
    this.#held.delete(node.id);
    const transport = node.transport;
    for (const { target, frame } of held)
      if (transport !== null && !transport.closed) transport.send(target, frame);
    this.trace.add(`release ${node.name}: ${held.length} late frames`);
    return held.length;
  }

  heal(): void {
    this.network.heal();
    this.#oneWay.clear();
    for (const node of this.nodes) node.slowMs = 0;
    this.network.setFaults({ lossRate: 0, duplicateRate: 0, reorderRate: 0 });
    this.trace.add('heal');
  }

  async advance(ms: number): Promise<void> {
    await this.#advanceClock(ms);
  }

  /** Advances in steps until `done()` holds; false if `maxMs` passed first. */
  async runUntil(done: () => boolean, maxMs: number, stepMs = 10): Promise<boolean> {
    const deadline = this.clock.nowMs() + maxMs;
    while (!done()) {
      if (this.clock.nowMs() >= deadline) return false;
      await this.#advanceClock(stepMs);
    }
    return true;
  }

  /** The clock moves: fsyncs take their virtual time meanwhile (SyncLatency). */
  async #advanceClock(ms: number): Promise<void> {
    for (const node of this.nodes) if (node.syncLatency !== null) node.syncLatency.active = true;
    try {
      await this.clock.advance(ms);
    } finally {
      for (const node of this.nodes) if (node.syncLatency !== null) node.syncLatency.active = false;
    }
  }

  async stop(): Promise<void> {
    // Closing waits for the fsyncs in flight; the clock no longer moves for them.
    for (const node of this.nodes)
      for (const waiter of [...(node.syncLatency?.waiting ?? [])]) waiter.release();
    for (const node of this.upNodes()) {
      await node.redex?.close().catch(() => {});
      node.coalescer?.close();
    }
  }

  #send(node: SimNode, transport: SimTransport, target: NodeId, frame: Uint8Array): Promise<void> {
    this.tap?.(node, target, frame);
    const held = this.#held.get(node.id);
    if (held !== undefined) {
      if (held.length < HELD_FRAMES_MAX) held.push({ target, frame: frame.slice() });
      return Promise.resolve(); // on its way, as far as the sender can tell
    }
    if (this.#oneWay.has(`${node.id}>${target}`)) {
      this.oneWayDrops++;
      return Promise.resolve(); // lost on the wire, as far as the sender can tell
    }
    if (node.slowMs > 0) {
      const copy = frame.slice();
      this.clock.setTimer(node.slowMs, () => {
        if (!transport.closed) transport.send(target, copy);
      });
      return Promise.resolve();
    }
    return transport.send(target, frame)
      ? Promise.resolve()
      : Promise.reject(new Error(`${node.name}: send to ${target} dropped`));
  }

  #randomIds(count: number): NodeId[] {
    const ids = new Set<NodeId>();
    while (ids.size < count) {
      const id = this.random.nextU64();
      if (id !== 0n) ids.add(id);
    }
    return [...ids];
  }
}
