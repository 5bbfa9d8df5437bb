// `npm run bench:quorum` — quorum-acknowledged appends on a 3-node cluster, three node PROCESSES
// on this machine (bench/cluster/: each its own MeshTransport, mutual TLS 1.3 on loopback), a
// persistent channel, 256 B events, factor 3, `heartbeatMs: 500` (100 for failover). Targets in
// brackets (docs/DESIGN.md#performance-targets).
//
// Entry point of every row: library calls on the leader's file, in the leader's process. The
// harness only sends the command over the child-process IPC channel and reads the answer; every
// time is taken inside the node processes (bench/cluster/quorum-ops.ts), so the IPC hop is in no
// figure. Every append waits for `acks: 'quorum'` (committed: the leader and one replica).
//
// - batches [≥ 150k events/s, fsync 'never']: BATCH_IN_FLIGHT writers append batches of 64 for
//   BENCH_QUORUM_MS; events acknowledged ÷ time to the last acknowledgement;
// - 64 writers [≥ 50k events/s, fsync 'always']: 64 concurrent single appends for BENCH_QUORUM_MS;
// - acknowledged append [p50 ≤ 0.5 ms, p99 ≤ 1.5 ms, fsync 'never']: sequential appends, call →
//   acknowledgement;
// - append → visible on a replica [p50 ≤ 1 ms, p99 ≤ 5 ms at 10k/s, fsync 'never']: single
//   appends paced at 10k/s, stamped with the leader's hrtime; tails on both replicas (which show
//   committed events) record arrival − stamp (CLOCK_MONOTONIC is shared by the processes);
// - failover with votes [≤ 500 ms]: SIGKILL the leader; both survivors try an append every
//   millisecond; first accepted append (stamped by the survivor) − the kill (a fresh cluster per
//   round).
//
// Every figure is the median of BENCH_QUORUM_ROUNDS rounds (3) after a discarded warm-up round;
// a latency row takes each round's percentile, then the median of those. The leader's bandwidth
// budget is set from a 10 Gbit/s NIC: the 1 Gbit/s default (62.5 MB/s shared by both replicas)
// would cap the batch row near 117k events/s whatever else happens.
//
// Knobs: BENCH_QUORUM_ROUNDS, BENCH_QUORUM_MS (per throughput round), BENCH_QUORUM_SEQ (sequential
// appends per round), BENCH_QUORUM_PACED (paced events per round), BENCH_QUORUM_IN_FLIGHT
// (batches in flight), BENCH_QUORUM_HEARTBEAT_MS (of every row but failover; default 500),
// BENCH_FAILOVER_ROUNDS, BENCH_ONLY (`batches`, `writers`, `acked`,
// `visible`, `failover`), BENCH_QUORUM_PROFILE=<dir> (CPU profiles of the leader and one replica
// over the measured rounds of each row but failover; profiling slows them, so take figures from a
// run without it). BENCH_CHILD_CPU_PROF=<dir> (bench/cluster/cluster.ts) profiles whole node
// processes with `--cpu-prof` instead.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { FIRST_WRITE_ACCEPTED, QUORUM_ENTRY } from './basis.js';
import {
  BenchCluster,
  type ClusterOptions,
  killAllNodes,
  type NodeProcess,
  sleep,
} from './cluster/cluster.js';
import { type Figure, figureRow, median, percentile, report, round3 } from './report.js';

/** A positive integer knob; anything else stops the run before it starts a cluster. */
function env(name: string, fallback: number): number {
  const value = Number(process.env[name] || fallback);
  if (!Number.isSafeInteger(value) || value < 1) {
    console.error(`bench:quorum: ${name} must be a positive integer, got ${process.env[name]}`);
    process.exit(2);
  }
  return value;
}
const ROUNDS = env('BENCH_QUORUM_ROUNDS', 3);
const ROUND_MS = env('BENCH_QUORUM_MS', 1_000);
const SEQ_SAMPLES = env('BENCH_QUORUM_SEQ', 1_000);
const PACED_EVENTS = env('BENCH_QUORUM_PACED', 10_000);
const BATCH_IN_FLIGHT = env('BENCH_QUORUM_IN_FLIGHT', 8);
const FAILOVER_ROUNDS = env('BENCH_FAILOVER_ROUNDS', 3);
/**
 * Of the throughput and latency rows: the library's default. At 100 ms (three silent periods
 * start an election) a shared machine that stalls a process for 300 ms deposes the leader in the
 * middle of a round; the failover row always runs at 100 ms, as its target says.
 */
const HEARTBEAT_MS = env('BENCH_QUORUM_HEARTBEAT_MS', 500);
const PROFILE_DIR = process.env.BENCH_QUORUM_PROFILE || undefined;
if (PROFILE_DIR !== undefined) mkdirSync(PROFILE_DIR, { recursive: true });
const ONLY = (process.env.BENCH_ONLY ?? '').split(',').filter((s) => s !== '');
const wanted = (part: string): boolean => ONLY.length === 0 || ONLY.includes(part);

const SIZE = 256;
const BATCH = 64;
const WRITERS = 64;
const RATE = 10_000;
const NIC_10G = 1.25e9;
const GROUP = "3 node processes, acks 'quorum', 256 B, persistent";
const SYSTEM = 'RedEX, 3 processes (mutual TLS on loopback), factor 3';
const NEVER = "on disk, not fsynced (fsync 'never')";
const ALWAYS = "fsynced on each (fsync 'always')";
const committed = (stored: string): string => `committed on 2 of 3, ${stored}`;

const figures: Figure[] = [];
function add(figure: Omit<Figure, 'kind' | 'group' | 'entry'>): void {
  const full: Figure = {
    ...figure,
    value: round3(figure.value),
    kind: 'redex',
    group: GROUP,
    entry: QUORUM_ENTRY,
  };
  figures.push(full);
  console.log(JSON.stringify(figureRow(full)));
}

const ms = (nanos: bigint | number): number => Number(nanos) / 1e6;
const spread = (values: number[], digits = 0): string =>
  `${Math.min(...values).toFixed(digits)}..${Math.max(...values).toFixed(digits)}`;

async function withCluster<T>(
  options: ClusterOptions,
  body: (cluster: BenchCluster) => Promise<T>,
): Promise<T> {
  const cluster = await BenchCluster.start({
    persistent: true,
    nicPeakBps: NIC_10G,
    replication: { heartbeatMs: HEARTBEAT_MS },
    ...options,
  });
  try {
    return await body(cluster);
  } finally {
    await cluster.close();
  }
}

/** Pause before looking the leader up again after a lost round. */
const RETRY_PAUSE_MS = 100;
/** Rounds that ended with a leader change (an election on a stalled machine) and were run again. */
const MAX_LOST_ROUNDS = 10;

interface Rounds<T> {
  readonly values: T[];
  /** How many rounds lost their leader mid-way and were run again (the note says so). */
  readonly lost: number;
}

/**
 * Runs `measure(leader, true)` once to warm up (discarded), then `measure(leader, false)` until
 * ROUNDS rounds completed; CPU profiles of the leader and one replica around those when asked. A
 * round that throws (its appends rejected: the leader lost its role) is run again on the leader
 * elected next, at most MAX_LOST_ROUNDS times.
 */
async function rounds<T>(
  cluster: BenchCluster,
  profileName: string | null,
  measure: (leader: NodeProcess, warmUp: boolean) => Promise<T>,
): Promise<Rounds<T>> {
  let leader = await cluster.waitForLeader();
  let lost = 0;
  const attempt = async (warmUp: boolean): Promise<T> => {
    for (;;) {
      try {
        return await measure(leader, warmUp);
      } catch (error) {
        if (++lost > MAX_LOST_ROUNDS) throw error;
        console.log(`round lost (${error instanceof Error ? error.message : error}); again`);
        // A leader that admitted a newer epoch (a transfer back to the preferred member) still
        // reports its role until its vote is durable: give the change a moment, or every retry
        // lands on it within milliseconds.
        await sleep(RETRY_PAUSE_MS);
        leader = await cluster.waitForLeader();
      }
    }
  };
  await attempt(true);
  const profiled =
    PROFILE_DIR === undefined || profileName === null
      ? []
      : [leader, cluster.alive.find((n) => n !== leader)!];
  await Promise.all(profiled.map((n) => n.request({ op: 'profileStart' })));
  const values: T[] = [];
  for (let round = 0; round < ROUNDS; round++) values.push(await attempt(false));
  for (const [i, node] of profiled.entries()) {
    const path = join(PROFILE_DIR!, `${profileName}-${i === 0 ? 'leader' : 'replica'}.cpuprofile`);
    await node.request({ op: 'profileStop', path });
    console.log(`profile: ${path}`);
  }
  return { values, lost };
}

const lostNote = (lost: number): string =>
  lost === 0 ? '' : `; ${lost} round(s) lost the leader (election under load) and ran again`;

function throughputOf(reply: Record<string, unknown>): number {
  return Number(reply.events) / (ms(BigInt(reply.elapsedNs as string)) / 1000);
}

async function batches(): Promise<void> {
  await withCluster({ fsync: 'never' }, async (cluster) => {
    const { values, lost } = await rounds(cluster, 'batches', async (leader) =>
      throughputOf(
        await leader.request({
          op: 'quorumBatches',
          batch: BATCH,
          inFlight: BATCH_IN_FLIGHT,
          durationMs: ROUND_MS,
          size: SIZE,
        }),
      ),
    );
    add({
      id: 'quorum.batch64.never',
      label: `batches of ${BATCH}, ${BATCH_IN_FLIGHT} in flight, events acknowledged/s`,
      system: `${SYSTEM}, heartbeatMs ${HEARTBEAT_MS}, fsync 'never', nicPeakBps 10 Gbit/s`,
      guarantee: committed(NEVER),
      value: median(values),
      unit: 'events/s',
      better: 'higher',
      note: `median of ${ROUNDS} rounds of ${ROUND_MS} ms; ${spread(values)}${lostNote(lost)}`,
    });
  });
}

async function writers(): Promise<void> {
  await withCluster({ fsync: 'always' }, async (cluster) => {
    const { values, lost } = await rounds(cluster, 'writers64', async (leader) =>
      throughputOf(
        await leader.request({
          op: 'quorumWriters',
          writers: WRITERS,
          durationMs: ROUND_MS,
          size: SIZE,
        }),
      ),
    );
    add({
      id: 'quorum.writers64.always',
      label: `${WRITERS} concurrent writers, single appends acknowledged/s`,
      system: `${SYSTEM}, heartbeatMs ${HEARTBEAT_MS}, fsync 'always', nicPeakBps 10 Gbit/s`,
      guarantee: committed(ALWAYS),
      value: median(values),
      unit: 'events/s',
      better: 'higher',
      note: `median of ${ROUNDS} rounds of ${ROUND_MS} ms; ${spread(values)}${lostNote(lost)}`,
    });
  });
}

/** Each round's p50 and p99 (ms) of `collect`'s samples (ns), ready for `addLatency`. */
async function latencyRounds(
  cluster: BenchCluster,
  profileName: string,
  collect: (leader: NodeProcess, warmUp: boolean) => Promise<number[]>,
): Promise<{ p50: number[]; p99: number[]; lost: number }> {
  const { values, lost } = await rounds(cluster, profileName, async (leader, warmUp) => {
    const samples = await collect(leader, warmUp);
    return { p50: percentile(samples, 50) / 1e6, p99: percentile(samples, 99) / 1e6 };
  });
  return { p50: values.map((m) => m.p50), p99: values.map((m) => m.p99), lost };
}

function addLatency(
  id: string,
  label: string,
  guarantee: string,
  measured: { p50: number[]; p99: number[]; lost: number },
  note: string,
): void {
  for (const p of ['p50', 'p99'] as const) {
    add({
      id: `${id}.${p}`,
      label: `${label}, ${p}`,
      system: `${SYSTEM}, heartbeatMs ${HEARTBEAT_MS}, fsync 'never'`,
      guarantee,
      value: median(measured[p]),
      unit: 'ms',
      better: 'lower',
      note: `${note}; median of ${ROUNDS} rounds' ${p}: ${spread(measured[p], 3)} ms${lostNote(measured.lost)}`,
    });
  }
}

async function latencies(): Promise<void> {
  await withCluster({ fsync: 'never' }, async (cluster) => {
    if (wanted('acked')) {
      const acked = await latencyRounds(cluster, 'acked', async (leader, warmUp) => {
        const samples = warmUp ? 200 : SEQ_SAMPLES;
        const reply = await leader.request({ op: 'quorumSequential', samples, size: SIZE });
        return reply.samples as number[];
      });
      addLatency(
        'quorum.acked',
        'sequential append, call → quorum acknowledgement',
        committed(NEVER),
        acked,
        `${SEQ_SAMPLES.toLocaleString('en')} appends per round`,
      );
    }
    if (wanted('visible')) {
      let achieved = 0;
      const visible = await latencyRounds(cluster, 'visible', async (leader, warmUp) => {
        const count = warmUp ? Math.min(3_000, PACED_EVENTS) : PACED_EVENTS;
        const base = (await leader.status()).nextSeq;
        // A round that loses its leader ends its tails instead of leaving them to later rounds.
        const timeoutMs = (count / RATE) * 1000 + 10_000;
        const tails = cluster.alive
          .filter((n) => n !== leader)
          .map((r) => r.request({ op: 'latencyTail', fromSeq: base, count, timeoutMs }));
        await sleep(50); // the tails are open before the first append
        const paced = await leader.request({ op: 'quorumPaced', rate: RATE, count, size: SIZE });
        const tailed = await Promise.all(tails);
        if (Number(paced.failed) > 0 || tailed.some((t) => t.timedOut === true)) {
          throw new Error(`${paced.failed} of ${count} paced appends rejected`);
        }
        if (!warmUp) achieved = Number(paced.achievedRate);
        return tailed.flatMap((r) => r.samples as number[]);
      });
      addLatency(
        'quorum.visible',
        `append → visible on a replica at ${RATE / 1000}k/s`,
        `readable on a replica (committed), ${NEVER}`,
        visible,
        `${PACED_EVENTS.toLocaleString('en')} appends per round (last at ${Math.round(achieved).toLocaleString('en')}/s), both replicas pooled`,
      );
    }
  });
}

async function failoverRound(): Promise<number> {
  return withCluster({ fsync: 'never', replication: { heartbeatMs: 100 } }, async (cluster) => {
    const leader = await cluster.waitForLeader();
    const replicas = cluster.alive.filter((n) => n !== leader);
    await leader.request({
      op: 'quorumBatches',
      batch: 100,
      inFlight: 1,
      durationMs: 20,
      size: SIZE,
    });
    const held = (await leader.status()).nextSeq;
    await Promise.all(
      replicas.map((r) => r.request({ op: 'waitSeq', seq: held, timeoutMs: 10_000 })),
    );
    const loops = replicas.map((r) =>
      r.request({ op: 'writeLoop', size: SIZE, timeoutMs: 10_000 }),
    );
    await sleep(50);
    const killedAt = process.hrtime.bigint();
    leader.kill();
    const results = await Promise.all(loops);
    const accepted = results
      .filter((r) => r.acceptedNs !== undefined)
      .map((r) => BigInt(r.acceptedNs as string));
    if (accepted.length === 0) throw new Error('no survivor accepted a write within 10 s');
    return Math.min(...accepted.map((at) => ms(at - killedAt)));
  });
}

async function failover(): Promise<void> {
  const times: number[] = [];
  for (let round = 0; round < FAILOVER_ROUNDS; round++) times.push(await failoverRound());
  add({
    id: 'quorum.failover',
    label: 'leader SIGKILL → first write accepted after an election (pre-vote, vote)',
    system: `${SYSTEM}, heartbeatMs 100, fsync 'never'`,
    guarantee: FIRST_WRITE_ACCEPTED,
    value: median(times),
    unit: 'ms',
    better: 'lower',
    note: `median of ${FAILOVER_ROUNDS} fresh clusters; ${spread(times)} ms`,
  });
}

const started = performance.now();
try {
  if (wanted('batches')) await batches();
  if (wanted('writers')) await writers();
  if (wanted('acked') || wanted('visible')) await latencies();
  if (wanted('failover')) await failover();
} finally {
  killAllNodes();
}
console.log(`bench:quorum took ${((performance.now() - started) / 1000).toFixed(0)} s`);
report('quorum', figures.map(figureRow), {
  rounds: ROUNDS,
  roundMs: ROUND_MS,
  sequentialSamples: SEQ_SAMPLES,
  pacedEvents: PACED_EVENTS,
  batchesInFlight: BATCH_IN_FLIGHT,
  failoverRounds: FAILOVER_ROUNDS,
  figures,
});
