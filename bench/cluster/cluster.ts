// The benchmark harness's side of a RedEX cluster: certificates in a temporary directory, one
// `node-process.ts` child per node (each with its own MeshTransport over mutual TLS on loopback,
// ephemeral ports), commands over IPC, and cleanup that always kills what it started.
//
// `BENCH_CHILD_CPU_PROF=<dir>` starts every node with `--cpu-prof --cpu-prof-dir <dir>` (a node
// writes its profile when it stops cleanly; a SIGKILLed one writes nothing).

import { type ChildProcess, fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initCa, issueNodeCert } from '../../src/mesh/certs.js';
import type { ReplicationConfigInput } from '../../src/replication/config.js';
import { Role } from '../../src/wire/types.js';
import type { Command, StartCommand, StatusReply } from './node-process.js';

const NODE_PROCESS = join(import.meta.dirname, 'node-process.ts');
const live = new Set<ChildProcess>();

/** Kills every node process still alive (SIGKILL); safe to call more than once. */
export function killAllNodes(): void {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  live.clear();
}
process.on('exit', killAllNodes);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killAllNodes();
    process.exit(130);
  });
}

export type Reply = Record<string, unknown> & { readonly ok: boolean; readonly error?: string };

export class NodeProcess {
  readonly name: string;
  readonly child: ChildProcess;
  nodeId = '';
  port = 0;
  #nextId = 1;
  readonly #pending = new Map<
    number,
    { resolve: (r: Reply) => void; reject: (e: Error) => void }
  >();
  readonly exited: Promise<void>;

  constructor(name: string) {
    this.name = name;
    const profDir = process.env.BENCH_CHILD_CPU_PROF;
    const execArgv = ['--import', 'tsx'];
    if (profDir !== undefined && profDir !== '') {
      mkdirSync(profDir, { recursive: true });
      execArgv.push('--cpu-prof', '--cpu-prof-dir', profDir);
    }
    this.child = fork(NODE_PROCESS, [], {
      execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    live.add(this.child);
    this.child.on('message', (message: Reply & { id: number }) => {
      const waiter = this.#pending.get(message.id);
      if (waiter === undefined) return;
      this.#pending.delete(message.id);
      waiter.resolve(message);
    });
    this.exited = new Promise((resolve) => {
      this.child.on('exit', () => {
        live.delete(this.child);
        for (const waiter of this.#pending.values()) {
          waiter.reject(new Error(`node ${name} exited`));
        }
        this.#pending.clear();
        resolve();
      });
    });
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sends a command; rejects when the node answers with an error or dies. */
  request(command: Command): Promise<Reply> {
    const id = this.#nextId++;
    return new Promise<Reply>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.child.send({ id, ...command }, (error) => {
        if (error !== null) {
          this.#pending.delete(id);
          reject(error);
        }
      });
    }).then((reply) => {
      if (!reply.ok) throw new Error(`node ${this.name} ${command.op}: ${reply.error}`);
      return reply;
    });
  }

  async status(): Promise<StatusReply> {
    return (await this.request({ op: 'status' })) as unknown as StatusReply;
  }

  kill(): void {
    if (this.alive) this.child.kill('SIGKILL');
  }

  /** A clean stop (profile written), SIGKILL after `graceMs`. */
  async stop(graceMs = 5_000): Promise<void> {
    if (!this.alive) return;
    const timer = setTimeout(() => this.kill(), graceMs);
    try {
      await this.request({ op: 'stop' }).catch(() => {});
      await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

export interface ClusterOptions {
  readonly nodes?: number;
  readonly channel?: string;
  readonly persistent?: boolean;
  readonly fsync?: StartCommand['fsync'];
  readonly replication?: ReplicationConfigInput;
  readonly nicPeakBps?: number;
  /** Names of the members that are started now (default: all). */
  readonly startOnly?: number;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class BenchCluster {
  readonly dir: string;
  readonly certsDir: string;
  readonly names: string[];
  readonly nodes: NodeProcess[] = [];
  readonly options: ClusterOptions;

  private constructor(options: ClusterOptions) {
    this.options = options;
    this.dir = mkdtempSync(join(tmpdir(), 'redex-bench-cluster-'));
    this.certsDir = join(this.dir, 'certs');
    this.names = Array.from({ length: options.nodes ?? 3 }, (_, i) => `n${i + 1}`);
  }

  /** Certificates, then the first `startOnly` nodes started, dialed to each other. */
  static async start(options: ClusterOptions = {}): Promise<BenchCluster> {
    const cluster = new BenchCluster(options);
    try {
      await initCa(cluster.certsDir);
      for (const name of cluster.names) await issueNodeCert(cluster.certsDir, name);
      const count = options.startOnly ?? cluster.names.length;
      await Promise.all(cluster.names.slice(0, count).map((name) => cluster.spawnNode(name)));
      await cluster.dialAll();
      return cluster;
    } catch (error) {
      await cluster.close();
      throw error;
    }
  }

  get channel(): string {
    return this.options.channel ?? 'bench/replicated';
  }

  /** Starts `name` (a fresh process, a fresh data dir) and dials it to the running nodes. */
  async startNode(name: string): Promise<NodeProcess> {
    const node = await this.spawnNode(name);
    await this.dialAll();
    return node;
  }

  /** Starts `name` with its channel open, not yet connected to anyone (see `dialAll`). */
  async spawnNode(name: string): Promise<NodeProcess> {
    const node = new NodeProcess(name);
    this.nodes.push(node);
    const dataDir = join(this.dir, `data-${name}-${this.nodes.length}`);
    const started = await node.request({
      op: 'start',
      name,
      certsDir: this.certsDir,
      members: this.names,
      channel: this.channel,
      ...(this.options.persistent === true
        ? { dataDir, fsync: this.options.fsync ?? 'never' }
        : {}),
      replication: { factor: this.names.length, heartbeatMs: 100, ...this.options.replication },
      ...(this.options.nicPeakBps === undefined ? {} : { nicPeakBps: this.options.nicPeakBps }),
    });
    node.nodeId = String(started.nodeId);
    node.port = Number(started.port);
    return node;
  }

  /** Tells every live node where every other one listens; they connect. */
  async dialAll(): Promise<void> {
    const up = this.nodes.filter((n) => n.alive && n.port !== 0);
    const peers = up.map((n) => ({ host: '127.0.0.1', port: n.port }));
    await Promise.all(up.map((n) => n.request({ op: 'dial', peers })));
  }

  get alive(): NodeProcess[] {
    return this.nodes.filter((n) => n.alive);
  }

  /** Waits until exactly one live node leads and every live node is connected to the others. */
  async waitForLeader(timeoutMs = 15_000): Promise<NodeProcess> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const alive = this.alive;
      const statuses = await Promise.all(alive.map((n) => n.status()));
      const leaders = alive.filter((_, i) => statuses[i]!.role === Role.Leader);
      const connected = statuses.every((s) => s.connected >= alive.length - 1);
      const replicas = statuses.filter((s) => s.role === Role.Replica).length;
      if (leaders.length === 1 && connected && replicas === alive.length - 1) return leaders[0]!;
      if (performance.now() > deadline) {
        throw new Error(`no single leader after ${timeoutMs} ms: ${JSON.stringify(statuses)}`);
      }
      await sleep(20);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
    for (const n of this.nodes) n.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
