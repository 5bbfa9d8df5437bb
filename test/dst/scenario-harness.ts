// A scripted scenario on the simulated cluster, judged by the history checker: every append is
// recorded (recorder.ts), every 10 ms step is shown to the per-step rules (one leader per epoch,
// epochs and commitSeq never decrease, no truncation at or below commit), the nodes' logs are
// scanned every 100 ms, and `finish` heals, converges and runs checkHistory over the final logs.
// A scenario test only scripts faults and asserts what is particular to it.

import assert from 'node:assert/strict';
import type { RedexFile } from '../../src/log/redex-file.js';
import type { ReplicationRuntime } from '../../src/replication/runtime.js';
import { Role } from '../../src/wire/types.js';
import { appendWithAcks } from './client.js';
import { type AcksMode, type AppendOp, type AppendOutcome, Recorder } from './recorder.js';
import { SimCluster, type SimClusterOptions, type SimNode } from './sim-cluster.js';
import { historyTail, StrictChecks } from './strict-checks.js';

export const HEARTBEAT_MS = 100;
const STEP_MS = 10;
const ROLE_NAMES = ['leader', 'replica', 'candidate', 'idle'] as const;
const SCAN_EVERY_MS = 100;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One append of a scenario: its record, and the raw error when the append rejected. */
export interface Write {
  readonly op: AppendOp;
  readonly node: SimNode;
  outcome: AppendOutcome | null;
  error: unknown;
}

export class QuorumScenario {
  readonly cluster: SimCluster;
  readonly recorder = new Recorder();
  readonly checks: StrictChecks;
  readonly name: string;
  #counter = 0;
  #sinceScanMs = 0;

  private constructor(name: string, cluster: SimCluster) {
    this.name = name;
    this.cluster = cluster;
    this.checks = new StrictChecks(this.recorder, cluster.trace);
  }

  static async start(
    name: string,
    options: Omit<SimClusterOptions, 'heartbeatMs'>,
  ): Promise<QuorumScenario> {
    const cluster = await SimCluster.start({ heartbeatMs: HEARTBEAT_MS, ...options });
    return new QuorumScenario(name, cluster);
  }

  get nodes(): SimNode[] {
    return this.cluster.nodes;
  }

  runtime(node: SimNode): ReplicationRuntime {
    const runtime = node.channel?.handle?.runtime;
    assert.ok(runtime !== undefined, `${this.name}: ${node.name} has a replication runtime`);
    return runtime;
  }

  /** Roles, epochs, tails and commits of every node, for failure messages. */
  state(): string {
    return this.nodes
      .map((node) => {
        if (!node.up) return `${node.name}=down`;
        const runtime = node.channel?.handle?.runtime;
        return `${node.name}=${ROLE_NAMES[node.role]} e${runtime?.epoch} next=${node.file!.nextSeq} commit=${runtime?.commitSeq}`;
      })
      .join(' ');
  }

  /** Advances `ms` of virtual time in 10 ms steps, each judged by the per-step rules. */
  async step(ms: number): Promise<void> {
    for (let done = 0; done < ms; done += STEP_MS) await this.#tick();
  }

  async #tick(): Promise<void> {
    await this.cluster.advance(STEP_MS);
    this.checks.observe(this.cluster);
    this.#sinceScanMs += STEP_MS;
    if (this.#sinceScanMs >= SCAN_EVERY_MS) {
      this.#sinceScanMs = 0;
      await this.checks.scan(this.cluster);
    }
  }

  /** Steps until `done()`; fails naming `what` and the cluster's state if `maxMs` passes first. */
  async until(done: () => boolean, maxMs: number, what: string): Promise<void> {
    const deadline = this.cluster.clock.nowMs() + maxMs;
    while (!done()) {
      if (this.cluster.clock.nowMs() >= deadline)
        assert.fail(`${this.name}: ${what} within ${maxMs} ms; state: ${this.state()}`);
      await this.#tick();
    }
  }

  /** The one leader among `among` (default: every node), once there is exactly one. */
  async leader(
    among: readonly SimNode[] = this.nodes,
    maxMs = 30 * HEARTBEAT_MS,
  ): Promise<SimNode> {
    const leaders = () => among.filter((node) => node.up && node.role === Role.Leader);
    await this.until(
      () => leaders().length === 1,
      maxMs,
      `one leader among ${among.map((n) => n.name).join('+')}`,
    );
    return leaders()[0]!;
  }

  /** Starts an append on `node`; its outcome lands in the record (and here) once it settles. */
  write(node: SimNode, acks: AcksMode, tag: string): Write {
    const payload = `${this.name}:${tag}:${this.#counter++}`;
    const op = this.recorder.invokeAppend(node.name, payload, acks, this.cluster.clock.nowMs());
    const write: Write = { op, node, outcome: null, error: undefined };
    const file = node.file;
    if (file === null) {
      this.recorder.completeAppend(
        op,
        { kind: 'failed', code: 'DOWN' },
        this.cluster.clock.nowMs(),
      );
      write.outcome = op.outcome;
      return write;
    }
    // The raw error is kept for scenarios that assert the error itself (LEADERSHIP_LOST).
    const spy = {
      append: (bytes: Uint8Array, options: { acks: AcksMode }) =>
        file.append(bytes, options).catch((error: unknown) => {
          write.error = error;
          throw error;
        }),
    } as unknown as RedexFile;
    const quorum = { replicaSet: this.nodes.length, timeoutMs: 0 };
    void appendWithAcks(spy, encoder.encode(payload), acks, quorum, () => {}).then((outcome) => {
      const now = this.cluster.clock.nowMs();
      this.recorder.completeAppend(op, outcome, now);
      write.outcome = outcome;
      if (outcome.kind === 'ok' && acks === 'quorum')
        this.checks.quorumAcknowledged(op, outcome.seq, now);
    });
    return write;
  }

  /** Starts `count` appends on `node` and steps until all settled; returns them. */
  async writeAll(
    node: SimNode,
    count: number,
    acks: AcksMode,
    tag: string,
    maxMs = 20 * HEARTBEAT_MS,
  ): Promise<Write[]> {
    const writes = Array.from({ length: count }, () => this.write(node, acks, tag));
    await this.settled(writes, maxMs);
    return writes;
  }

  async settled(writes: readonly Write[], maxMs = 20 * HEARTBEAT_MS): Promise<void> {
    // Microtasks first: a leader-acknowledged append settles without the clock moving.
    for (let i = 0; i < 50 && writes.some((w) => w.outcome === null); i++) await Promise.resolve();
    await this.until(() => writes.every((w) => w.outcome !== null), maxMs, 'appends settle');
  }

  /** Every node's log as "seq:payload" lines. */
  async log(node: SimNode): Promise<string[]> {
    const file = node.file!;
    const events = await file.readRange(file.firstSeq ?? file.nextSeq, file.nextSeq, {
      isolation: 'uncommitted',
    });
    return events.map((event) => `${event.seq}:${decoder.decode(event.payload)}`);
  }

  /**
   * Heals everything, restarts crashed nodes, waits for one leader with every node at its tail,
   * then judges the whole run: no violation of any rule, no quorum-acknowledged append lost, and
   * byte-identical logs; runs `beforeStop` (assertions on the live nodes), stops the cluster and
   * returns the final log (one node's: they are equal).
   */
  async finish(
    beforeStop: () => void | Promise<void> = () => {},
    maxMs = 60 * HEARTBEAT_MS,
  ): Promise<string[]> {
    this.cluster.heal();
    for (const node of this.nodes) if (!node.up) await this.cluster.startNode(node);
    await this.until(
      () => {
        const leaders = this.cluster.leaders();
        if (leaders.length !== 1) return false;
        const leader = leaders[0]!;
        const next = leader.file!.nextSeq;
        const epoch = this.runtime(leader).epoch;
        const lastEpoch = this.runtime(leader).epochOf(next - 1);
        // Equal tails are not enough: two sides of a partition may have written as many events.
        return this.nodes.every(
          (node) =>
            node.up &&
            node.file!.nextSeq === next &&
            node.role !== Role.Candidate &&
            this.runtime(node).epoch === epoch &&
            this.runtime(node).epochOf(next - 1) === lastEpoch &&
            this.runtime(node).commitSeq === next,
        );
      },
      maxMs,
      'convergence after heal',
    );
    await this.checks.scan(this.cluster);
    const findings = await this.checks.final(this.cluster);
    assert.deepEqual(
      findings.violations,
      [],
      `${this.name}: the history checker found violations; history tail:\n${historyTail(this.recorder)}\ntrace tail:\n${this.cluster.trace.tail(30)}`,
    );
    assert.deepEqual(findings.notes, [], `${this.name}: every rule of the checker ran`);
    assert.equal(findings.quorumLost, 0, `${this.name}: a quorum-acknowledged append was lost`);
    const [first, ...rest] = this.nodes;
    const expected = await this.log(first!);
    for (const node of rest)
      assert.deepEqual(
        await this.log(node),
        expected,
        `${this.name}: ${node.name}'s final log is byte-identical to ${first!.name}'s`,
      );
    for (const node of this.nodes)
      assert.equal(
        this.runtime(node).stats.stepErrors,
        0,
        `${this.name}: ${node.name} had no step error (${String(this.runtime(node).lastError)})`,
      );
    await beforeStop();
    await this.cluster.stop();
    return expected;
  }
}

/** Payloads in `log` lines. */
export function payloads(lines: readonly string[]): string[] {
  return lines.map((line) => line.slice(line.indexOf(':') + 1));
}
