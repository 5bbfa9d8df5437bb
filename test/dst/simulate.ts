// One simulated cluster life for a seed: a safety phase (workload under generated faults), then a
// heal-and-converge phase, then the invariant checks. `simulate` never throws for a finding: it
// returns a result whose `failures` name every broken invariant, with the trace tail.

import { SeededRandom } from '../../src/time/random.js';
import { Role } from '../../src/wire/types.js';
import { appendWithAcks } from './client.js';
import { LeaderChurn } from './leader-churn.js';
import { Readers } from './readers.js';
import { Recorder } from './recorder.js';
import type { RunChecks } from './run-checks.js';
import { SimCluster, type SimClusterOptions, type SimNode } from './sim-cluster.js';
import { historyTail, StrictChecks } from './strict-checks.js';

/** `history`: the history checker with no excuses (check-history.ts, check-steps.ts). */
export type CheckerMode = 'history';

/** What `simulate` checks unless told otherwise. */
export const DEFAULT_CHECKER: CheckerMode = 'history';

export interface SimulateOptions {
  readonly seed: number;
  /** Nodes (3..5); default from the seed. */
  readonly nodes?: number;
  /** Virtual duration of the fault phase. */
  readonly faultPhaseMs?: number;
  /** Virtual time allowed for convergence after healing. */
  readonly convergeMs?: number;
  readonly heartbeatMs?: number;
  /** Mean gap between workload appends. */
  readonly appendEveryMs?: number;
  /** Turn faults off (the happy path). */
  readonly faults?: boolean;
  /** The leader-churn fault mode (leader-churn.ts); default: on for even seeds. */
  readonly churn?: boolean;
  /** Which checker judges the run; default DEFAULT_CHECKER. */
  readonly checker?: CheckerMode;
  /** Coalesced heartbeats (the MeshNode default); default: off for seeds 0–1, 8–9, 16–17, … */
  readonly coalesceHeartbeats?: boolean;
  /** Node beats (the MeshNode default, with coalescing); default: on for seeds 4–7, 12–15, … */
  readonly nodeBeats?: boolean;
  /**
   * Max virtual ms per file fsync (SimClusterOptions.fsyncLatencyMs); default: FSYNC_LATENCY_MS on
   * seeds 8–15, 24–31, 40–47, … (a leader ships while it fsyncs; independent of the heartbeat
   * modes and of churn), 0 on the others.
   */
  readonly fsyncLatencyMs?: number;
}

/** 0 plain, 1 coalesced, 2 and 3 coalesced with node beats: by pairs of seeds, in turn. */
function heartbeatMode(seed: number): number {
  return Math.floor(Math.abs(seed) / 2) % 4;
}

/**
 * The fsync latency of the seeds that have one: a network hop or two, so replicas fetch inside
 * a leader's fsync and the next group is often written before it ends.
 */
export const FSYNC_LATENCY_MS = 8;

export interface SimulateResult {
  readonly seed: number;
  readonly nodes: number;
  readonly checker: CheckerMode;
  readonly failures: string[];
  /** Rules the history checker could not run (or ran weaker) on what the nodes expose. */
  readonly notes: string[];
  readonly traceDigest: string;
  readonly traceTail: string;
  /** The last client operations, for a failure report. */
  readonly historyTail: string;
  readonly stats: {
    appendsAcknowledged: number;
    appendsRefused: number;
    committed: number;
    conflicts: number;
    multiLeaderSteps: number;
    faults: number;
    crashes: number;
    churnCuts: number;
    convergeMs: number;
    finalSeq: number;
    divergenceReported: number;
    quorumAcknowledged: number;
    quorumLost: number;
    quorumLostOnMajority: number;
    reads: number;
    tailDeliveries: number;
  };
}

const STEP_MS = 10;
/** Validity is checked every this many steps during the fault phase. */
const VALIDITY_EVERY_STEPS = 25;
/** Long-lived tails per run. */
const TAILS = 2;
/** Seed offset of the readers' own random stream, so reads leave the writes' stream as it was. */
const READERS_SEED = 0x7ead;
/** Seed offset of the leader-churn mode's own random stream. */
const CHURN_SEED = 0xc4a7;

export async function simulate(options: SimulateOptions): Promise<SimulateResult> {
  const seed = options.seed;
  const nodes = options.nodes ?? 3 + (Math.abs(seed) % 3);
  const heartbeatMs = options.heartbeatMs ?? 100;
  const clusterOptions: SimClusterOptions = {
    seed,
    nodes,
    heartbeatMs,
    faults: { minDelayMs: 1, maxDelayMs: 5 },
    // Of each fault mode (churn on even seeds), a quarter runs plain, a quarter coalesced, and
    // half as a MeshNode does by default: coalesced with node beats.
    coalesceHeartbeats: options.coalesceHeartbeats ?? heartbeatMode(seed) !== 0,
    nodeBeats: options.nodeBeats ?? heartbeatMode(seed) >= 2,
    fsyncLatencyMs:
      options.fsyncLatencyMs ?? (Math.floor(Math.abs(seed) / 8) % 2 === 1 ? FSYNC_LATENCY_MS : 0),
  };
  const cluster = await SimCluster.start(clusterOptions);
  const random = cluster.random.fork();
  const checker = options.checker ?? DEFAULT_CHECKER;
  const recorder = new Recorder();
  const checks: RunChecks = new StrictChecks(recorder, cluster.trace);
  const readers = new Readers(cluster, recorder, new SeededRandom(seed + READERS_SEED), TAILS);
  const churnOn = options.faults !== false && (options.churn ?? seed % 2 === 0);
  const churn = churnOn ? new LeaderChurn(cluster, new SeededRandom(seed + CHURN_SEED)) : null;
  const failures: string[] = [];
  const notes: string[] = [];
  const stats = {
    appendsAcknowledged: 0,
    appendsRefused: 0,
    committed: 0,
    conflicts: 0,
    multiLeaderSteps: 0,
    faults: 0,
    crashes: 0,
    churnCuts: 0,
    convergeMs: 0,
    finalSeq: 0,
    divergenceReported: 0,
    quorumAcknowledged: 0,
    quorumLost: 0,
    quorumLostOnMajority: 0,
    reads: 0,
    tailDeliveries: 0,
  };
  const inFlight: Promise<void>[] = [];
  let counter = 0;

  const appendOnce = () => {
    const candidates = cluster.leaders();
    const up = cluster.upNodes();
    // Mostly on a leader; sometimes on anyone (which must refuse with NOT_LEADER).
    const node =
      candidates.length > 0 && random.nextFloat() < 0.9
        ? candidates[random.nextInt(candidates.length)]!
        : up[random.nextInt(Math.max(1, up.length))];
    if (node === undefined || node.file === null) return;
    const payload = `${seed}:${counter++}:${'x'.repeat(random.nextInt(200))}`;
    const file = node.file;
    const writer = node.name;
    // Three in ten appends ask for a quorum acknowledgement; the rest are acknowledged by the leader.
    const acks = random.nextFloat() < 0.3 ? 'quorum' : 'leader';
    const op = recorder.invokeAppend(writer, payload, acks, cluster.clock.nowMs());
    const onStored = (seq: number) => {
      stats.appendsAcknowledged++;
      checks.stored(writer, seq, payload, cluster.clock.nowMs());
      cluster.trace.add(`${writer} append ${seq}`);
    };
    const quorum = { replicaSet: nodes, timeoutMs: 20 * heartbeatMs };
    inFlight.push(
      appendWithAcks(file, new TextEncoder().encode(payload), acks, quorum, onStored).then(
        (outcome) => {
          recorder.completeAppend(op, outcome, cluster.clock.nowMs());
          if (outcome.kind === 'ok' && acks === 'quorum') {
            stats.committed++;
            checks.quorumAcknowledged(op, outcome.seq, cluster.clock.nowMs());
            cluster.trace.add(`${writer} quorum ${outcome.seq}`);
          }
          // The append itself refused (as opposed to a quorum wait that timed out).
          const refusedWith =
            outcome.kind === 'failed'
              ? outcome.code
              : outcome.kind === 'unknown' && outcome.seq === undefined
                ? outcome.reason
                : null;
          if (refusedWith === null) return;
          stats.appendsRefused++;
          const expected = ['NOT_LEADER', 'CLOSED', 'IO', 'LEADERSHIP_LOST', 'REPLICATION_TIMEOUT'];
          if (!expected.includes(refusedWith))
            failures.push(`${writer}: append failed with an unexpected error: ${refusedWith}`);
        },
      ),
    );
  };

  const crashed = new Set<SimNode>();
  const applyFault = async () => {
    stats.faults++;
    const up = cluster.upNodes();
    const pick = random.nextInt(10);
    const any = () => up[random.nextInt(up.length)]!;
    // In the leader-churn mode partitions are its own: these two picks leave them alone.
    if (churn !== null && pick <= 1) return;
    if (pick === 0 && up.length >= 2) {
      const shuffled = [...up].sort(() => random.nextFloat() - 0.5);
      const cut = 1 + random.nextInt(shuffled.length - 1);
      cluster.partition([shuffled.slice(0, cut), shuffled.slice(cut)]);
    } else if (pick === 1) {
      const leader = cluster.leaders()[0];
      if (leader !== undefined)
        cluster.partition([[leader], cluster.nodes.filter((n) => n !== leader)]);
    } else if (pick === 2 && up.length >= 2) {
      const from = any();
      const to = any();
      if (from !== to) cluster.cutOneWay(from, to);
    } else if (pick === 3 && crashed.size < Math.floor((nodes - 1) / 2) + 1 && up.length > 1) {
      const victim = random.nextFloat() < 0.5 ? (cluster.leaders()[0] ?? any()) : any();
      crashed.add(victim);
      stats.crashes++;
      await cluster.crashNode(victim);
    } else if (pick === 4 && crashed.size > 0) {
      const back = [...crashed][random.nextInt(crashed.size)]!;
      crashed.delete(back);
      await cluster.startNode(back);
    } else if (pick === 5) {
      cluster.network.setFaults({ lossRate: random.nextFloat() * 0.2 });
      cluster.trace.add('loss on');
    } else if (pick === 6) {
      cluster.network.setFaults({
        duplicateRate: random.nextFloat() * 0.2,
        reorderRate: random.nextFloat() * 0.3,
      });
      cluster.trace.add('dup+reorder on');
    } else if (pick === 7) {
      cluster.network.setFaults({ maxDelayMs: 5 + random.nextInt(4 * heartbeatMs) });
      cluster.trace.add('delay spike');
    } else if (pick === 8 && up.length > 0) {
      const slow = any();
      slow.slowMs = random.nextInt(3 * heartbeatMs);
      cluster.trace.add(`${slow.name} slow ${slow.slowMs}ms`);
    } else {
      cluster.heal();
      cluster.network.setFaults({ maxDelayMs: 5 });
      churn?.restorePartition();
    }
  };

  const lastRoles = new Map<SimNode, string>();
  const observe = () => {
    for (const node of cluster.nodes) {
      const role = node.up ? `${roleName(node.role)}@${node.file!.nextSeq}` : 'down';
      const before = lastRoles.get(node);
      if (before === undefined || before.split('@')[0] !== role.split('@')[0]) {
        cluster.trace.add(`${node.name} ${before ?? 'new'} -> ${role}`);
      }
      lastRoles.set(node, role);
    }
    const leaders = cluster.leaders();
    if (leaders.length > 1) {
      stats.multiLeaderSteps++;
      if (stats.multiLeaderSteps === 1 || stats.multiLeaderSteps % 50 === 0) {
        cluster.trace.add(
          `multi-leader ${leaders.map((n) => n.name).join(',')} (${stats.multiLeaderSteps} steps so far)`,
        );
      }
    }
    for (const node of cluster.upNodes()) {
      try {
        node.file!.assertInvariants();
      } catch (error) {
        failures.push(`${node.name}: ${String(error)}`);
      }
    }
  };

  try {
    // Safety phase: workload and faults.
    const faultPhaseMs = options.faultPhaseMs ?? 6_000;
    const appendEveryMs = options.appendEveryMs ?? 25;
    let nextAppend = cluster.clock.nowMs();
    let nextFault = cluster.clock.nowMs() + 1_000;
    const end = cluster.clock.nowMs() + faultPhaseMs;
    while (cluster.clock.nowMs() < end) {
      const now = cluster.clock.nowMs();
      if (now >= nextAppend && churn?.quiet() !== true) {
        appendOnce();
        nextAppend = now + 1 + random.nextInt(2 * appendEveryMs);
      }
      if (options.faults !== false && now >= nextFault) {
        await applyFault();
        nextFault = now + 200 + random.nextInt(1_500);
      }
      readers.step(STEP_MS);
      await cluster.advance(STEP_MS);
      await churn?.step();
      observe();
      checks.observe(cluster);
      if (Math.floor(cluster.clock.nowMs() / STEP_MS) % VALIDITY_EVERY_STEPS === 0)
        failures.push(...(await checks.scan(cluster)));
      // The history checker's findings do not end the phase: the whole history gets judged.
      if (failures.length > 0) break;
    }

    // Heal and converge: no faults, every node back, no new writes.
    await churn?.end();
    cluster.heal();
    cluster.network.setFaults({ maxDelayMs: 5 });
    for (const node of crashed) await cluster.startNode(node);
    crashed.clear();
    readers.step(0); // tails on restarted nodes start again and watch the catch-up
    const convergeStart = cluster.clock.nowMs();
    const converged = await cluster.runUntil(
      () => convergedNow(cluster),
      options.convergeMs ?? 20_000,
      STEP_MS,
    );
    stats.convergeMs = cluster.clock.nowMs() - convergeStart;
    // Appends still waiting (for replicas, with a timeout on the virtual clock) need time to pass.
    let settled = false;
    void Promise.allSettled(inFlight).then(() => {
      settled = true;
    });
    if (!(await cluster.runUntil(() => settled, 60_000, STEP_MS)))
      failures.push('appends still pending 60 s after healing');
    if (!converged) failures.push(describeNotConverged(cluster));
    stats.finalSeq = Math.max(0, ...cluster.upNodes().map((node) => node.file!.nextSeq));
    const report = await checks.final(cluster, failures);
    failures.push(...report.violations);
    notes.push(...report.notes);
    stats.quorumAcknowledged = report.quorumAcknowledged;
    stats.quorumLost = report.quorumLost;
    stats.quorumLostOnMajority = report.quorumLostOnMajority;
  } catch (error) {
    failures.push(
      `simulation threw: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
  } finally {
    stats.conflicts = checks.conflicts();
    stats.churnCuts = churn?.cuts ?? 0;
    for (const node of cluster.upNodes()) {
      stats.divergenceReported += node.channel?.handle?.runtime.stats.divergenceSuspected ?? 0;
    }
    cluster.trace.add('stopping');
    await cluster.stop();
    await readers.drain();
    stats.reads = recorder.reads.length;
    stats.tailDeliveries = recorder.tails.reduce((sum, tail) => sum + tail.deliveries.length, 0);
  }
  return {
    seed,
    nodes,
    checker,
    failures,
    notes,
    traceDigest: cluster.trace.digest(),
    traceTail: cluster.trace.tail(),
    historyTail: historyTail(recorder),
    stats,
  };
}

/** One leader, nobody Candidate or Idle, every node at the leader's next seq. */
function convergedNow(cluster: SimCluster): boolean {
  const up = cluster.upNodes();
  if (up.length !== cluster.nodes.length) return false;
  const leaders = up.filter((node) => node.role === Role.Leader);
  if (leaders.length !== 1) return false;
  const leader = leaders[0]!;
  const next = leader.file!.nextSeq;
  const runtime = (node: SimNode) => node.channel?.handle?.runtime;
  const lastEpoch = (node: SimNode) => runtime(node)?.quorum.lastEpoch(node.file!.nextSeq);
  // Equal tails are not enough: a diverged suffix of the same length differs in its epochs, and
  // a replica has converged only once it knows the whole log is committed.
  return up.every(
    (node) =>
      (node.role === Role.Leader || node.role === Role.Replica) &&
      node.file!.nextSeq === next &&
      lastEpoch(node) === lastEpoch(leader) &&
      runtime(node)?.epoch === runtime(leader)?.epoch &&
      runtime(node)?.commitSeq === next,
  );
}

function describeNotConverged(cluster: SimCluster): string {
  const roles = cluster.nodes.map(
    (node) => `${node.name}=${roleName(node.role)}@${node.file?.nextSeq ?? '-'}`,
  );
  return `no convergence after healing: ${roles.join(' ')}`;
}

function roleName(role: Role): string {
  return ['Leader', 'Replica', 'Candidate', 'Idle'][role] ?? String(role);
}
