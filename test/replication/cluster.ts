// An in-process cluster for replication tests: N nodes, each with its own Redex (in memory), its
// own router and its own runtime per channel, all on one VirtualClock. A node's dispatcher encodes
// every message with the wire codec and delivers the bytes, after `latencyMs` of virtual time,
// through the target node's router (`tryRouteFrame`), so the real frames are exercised end to end.
// Nodes can be stopped (their Redex closed: runtimes cancelled, memory lost), restarted (a fresh,
// empty Redex under the same NodeId), and partitioned from each other.
//
// Tests address nodes by role: `cluster.leader()`, `cluster.replicas()`.
import assert from 'node:assert/strict';
import { Redex, type RedexFile } from '../../src/log/index.js';
import { SeededRandom } from '../../src/time/random.js';
import { VirtualClock } from '../../src/time/virtual-clock.js';
import {
  enableReplication,
  frameDispatcher,
  type NodeId,
  type ReplicatedChannel,
  type ReplicationConfigInput,
  type ReplicationHost,
  ReplicationRouter,
  type ReplicationRuntime,
  Role,
  replicatorOf,
} from './imports.js';

/** The local log as it is: these checks compare logs, committed or not. */
const RAW = { isolation: 'uncommitted' } as const;

export interface ClusterOptions {
  readonly nodes?: number;
  readonly channel?: string;
  readonly heartbeatMs?: number;
  /** One-way delivery delay of every frame. */
  readonly latencyMs?: number;
  readonly replication?: ReplicationConfigInput;
  readonly nicPeakBps?: number;
  readonly seed?: number;
}

export interface ClusterStats {
  sent: number;
  delivered: number;
  /** Refused at send time: sender or target down, or the link cut. */
  unreachable: number;
  /** Lost in flight: the target went down or the link was cut before delivery. */
  lostInFlight: number;
  /** The target's router refused it (unknown channel, full inbox, malformed). */
  routeDrops: number;
}

export class ClusterNode {
  readonly id: NodeId;
  readonly index: number;
  readonly cluster: Cluster;
  redex: Redex | null = null;
  router: ReplicationRouter = new ReplicationRouter();
  file: RedexFile | null = null;
  /** How many times the node was started. */
  starts = 0;

  constructor(cluster: Cluster, index: number, id: NodeId) {
    this.cluster = cluster;
    this.index = index;
    this.id = id;
  }

  get up(): boolean {
    return this.file !== null && !this.file.closed;
  }

  get address(): string {
    return `node-${this.index}.test:7000`;
  }

  get channel(): ReplicatedChannel {
    const channel =
      this.redex === null ? undefined : replicatorOf(this.redex)?.channel(this.cluster.channel);
    assert.ok(channel !== undefined, `node ${this.index} has no open replicated channel`);
    return channel;
  }

  get runtime(): ReplicationRuntime {
    const handle = this.channel.handle;
    assert.ok(handle !== null, `node ${this.index} is not in the replica set`);
    return handle.runtime;
  }

  get role(): Role {
    return this.up ? this.channel.role : Role.Idle;
  }

  get log(): RedexFile {
    assert.ok(this.file !== null, `node ${this.index} is down`);
    return this.file;
  }
}

export class Cluster {
  readonly clock = new VirtualClock();
  readonly channel: string;
  readonly heartbeatMs: number;
  readonly latencyMs: number;
  readonly nodes: ClusterNode[] = [];
  readonly stats: ClusterStats = {
    sent: 0,
    delivered: 0,
    unreachable: 0,
    lostInFlight: 0,
    routeDrops: 0,
  };
  readonly #replication: ReplicationConfigInput;
  readonly #nicPeakBps: number | undefined;
  readonly #random: SeededRandom;
  readonly #cut = new Set<string>();

  private constructor(options: ClusterOptions) {
    this.channel = options.channel ?? 'cluster/events';
    this.heartbeatMs = options.heartbeatMs ?? 100;
    this.latencyMs = options.latencyMs ?? 1;
    this.#nicPeakBps = options.nicPeakBps;
    this.#random = new SeededRandom(options.seed ?? 42);
    const count = options.nodes ?? 3;
    this.#replication = { factor: count, heartbeatMs: this.heartbeatMs, ...options.replication };
    for (let i = 0; i < count; i++)
      this.nodes.push(new ClusterNode(this, i, BigInt(0x10 * (i + 1))));
  }

  /** Builds the cluster and opens the channel on every node at the same virtual instant. */
  static async start(options: ClusterOptions = {}): Promise<Cluster> {
    const cluster = new Cluster(options);
    for (const node of cluster.nodes) await cluster.startNode(node);
    return cluster;
  }

  get memberIds(): NodeId[] {
    return this.nodes.map((n) => n.id);
  }

  node(id: NodeId): ClusterNode {
    const node = this.nodes.find((n) => n.id === id);
    assert.ok(node !== undefined, `no node ${id}`);
    return node;
  }

  /** (Re)starts `node` with a fresh in-memory Redex and opens the channel. */
  async startNode(node: ClusterNode): Promise<void> {
    assert.ok(!node.up, `node ${node.index} is already up`);
    const redex = new Redex({ clock: this.clock, random: this.#random.fork() });
    const router = new ReplicationRouter();
    const host: ReplicationHost = {
      selfId: node.id,
      members: () => this.memberIds,
      dispatcher: frameDispatcher((target, frame) => this.#send(node, target, frame)),
      router,
      addressOf: (id) => this.nodes.find((n) => n.id === id)?.address ?? null,
      ...(this.#nicPeakBps === undefined ? {} : { nicPeakBps: this.#nicPeakBps }),
    };
    enableReplication(redex, host, { testOnlyHeartbeatMsMin: 1 });
    node.redex = redex;
    node.router = router;
    node.file = await redex.openFile(this.channel, { replication: this.#replication });
    node.starts++;
  }

  /** Crash-stops `node`: its Redex closes (runtime cancelled) and its memory is gone. */
  async stopNode(node: ClusterNode): Promise<void> {
    const redex = node.redex;
    assert.ok(redex !== null && node.up, `node ${node.index} is not up`);
    await redex.close();
    node.router.clear();
  }

  /** Cuts every link between the two groups (both directions). */
  partition(a: readonly ClusterNode[], b: readonly ClusterNode[]): void {
    for (const x of a) {
      for (const y of b) {
        this.#cut.add(`${x.id}>${y.id}`);
        this.#cut.add(`${y.id}>${x.id}`);
      }
    }
  }

  heal(): void {
    this.#cut.clear();
  }

  #reachable(from: ClusterNode, to: ClusterNode | undefined): to is ClusterNode {
    if (to === undefined) return false;
    return from.up && to.up && !this.#cut.has(`${from.id}>${to.id}`);
  }

  #send(from: ClusterNode, target: NodeId, frame: Uint8Array): Promise<void> {
    this.stats.sent++;
    const to = this.nodes.find((n) => n.id === target);
    if (!this.#reachable(from, to)) {
      this.stats.unreachable++;
      return Promise.reject(new Error(`node ${target} unreachable from ${from.id}`));
    }
    this.clock.setTimer(this.latencyMs, () => {
      if (!this.#reachable(from, to)) {
        this.stats.lostInFlight++;
        return;
      }
      const rejection = to.router.tryRouteFrame(from.id, frame);
      if (rejection === null) this.stats.delivered++;
      else this.stats.routeDrops++;
    });
    return Promise.resolve();
  }

  upNodes(): ClusterNode[] {
    return this.nodes.filter((n) => n.up);
  }

  leaders(): ClusterNode[] {
    return this.upNodes().filter((n) => n.role === Role.Leader);
  }

  /** The one leader among the up nodes (fails on zero or several). */
  leader(): ClusterNode {
    const leaders = this.leaders();
    assert.equal(leaders.length, 1, `expected one leader, got ${leaders.length}`);
    return leaders[0]!;
  }

  replicas(): ClusterNode[] {
    return this.upNodes().filter((n) => n.role === Role.Replica);
  }

  advance(ms: number): Promise<void> {
    return this.clock.advance(ms);
  }

  /**
   * Advances in `stepMs` steps until `done()` holds; resolves to the virtual time it took.
   * Fails after `maxMs`.
   */
  async runUntil(done: () => boolean, maxMs: number, stepMs = 1): Promise<number> {
    const start = this.clock.nowMs();
    while (!done()) {
      const elapsed = this.clock.nowMs() - start;
      assert.ok(elapsed < maxMs, `condition not reached within ${maxMs} ms of virtual time`);
      await this.clock.advance(stepMs);
    }
    return this.clock.nowMs() - start;
  }

  /** Advances time until `promise` settles (at most `maxMs`), then returns its outcome. */
  async settle<T>(promise: Promise<T>, maxMs: number, stepMs = 1): Promise<T> {
    let settled = false;
    const tracked = promise.finally(() => {
      settled = true;
    });
    tracked.catch(() => {});
    await this.runUntil(() => settled, maxMs, stepMs);
    return tracked;
  }

  /** Every up node's structures are consistent and no step failed unexpectedly. */
  assertHealthy(): void {
    for (const node of this.upNodes()) {
      node.log.assertInvariants();
      replicatorOf(node.redex!)!.assertInvariants();
      node.router.assertInvariants();
      const runtime = node.runtime;
      assert.equal(runtime.stats.stepErrors, 0, `node ${node.index}: ${String(runtime.lastError)}`);
      assert.equal(runtime.stats.divergenceSuspected, 0, `node ${node.index} suspects divergence`);
    }
  }

  /** Stops every node (cancelling every runtime). */
  async stop(): Promise<void> {
    for (const node of this.upNodes()) await this.stopNode(node);
  }
}

/** Asserts the two logs hold the same seqs and byte-identical payloads. */
export async function assertSameLog(a: RedexFile, b: RedexFile): Promise<void> {
  assert.equal(b.nextSeq, a.nextSeq, 'same next seq');
  assert.equal(b.firstSeq, a.firstSeq, 'same first seq');
  const from = a.firstSeq ?? a.nextSeq;
  const step = 4096;
  for (let start = from; start < a.nextSeq; start += step) {
    const end = Math.min(start + step, a.nextSeq);
    const [x, y] = await Promise.all([a.readRange(start, end, RAW), b.readRange(start, end, RAW)]);
    assert.equal(y.length, x.length);
    for (let i = 0; i < x.length; i++) {
      assert.equal(y[i]!.seq, x[i]!.seq);
      assert.ok(
        Buffer.from(y[i]!.payload).equals(Buffer.from(x[i]!.payload)),
        `payload of seq ${x[i]!.seq} differs`,
      );
    }
  }
}
