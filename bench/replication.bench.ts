// `npm run bench:replication` — RedEX replication across three node processes on this machine,
// each with its own MeshTransport (mutual TLS 1.3 on loopback, ephemeral ports), and the catch-up
// comparison with a hypercore replica download. Targets in brackets
// (docs/DESIGN.md#performance-targets).
//
// - throughput [≥ 100k events/s]: the leader appends BENCH_REPL_EVENTS × 256 B (batches of 64, 4
//   writers in flight); the figure is events over the time from the first append until both
//   replicas hold the last one (median of BENCH_REPL_ROUNDS rounds on one cluster). The leader's
//   bandwidth budget is set from a 10 Gbit/s NIC, as for catch-up: with the 1 Gbit/s default its
//   62.5 MB/s, shared by both replicas, caps this at about 117k events/s whatever else happens;
// - leader-append → replica-visible latency [p50 ≤ 1 ms, p99 ≤ 10 ms at 10k events/s]: single
//   appends paced at 10k events/s, each stamped with the leader's hrtime; both replicas tail the
//   file and record arrival − stamp (CLOCK_MONOTONIC is shared by the processes of one machine);
// - acknowledged append latency: sequential `append(…, { acks: 'quorum' })` (committed: leader +
//   one replica) + `waitForReplicas(seq, { count: 1 })`;
// - throughput batches use the default acks ('quorum' on a replicated channel): each writer waits
//   for its batch to be committed; the paced latency writer uses acks 'leader' (it measures
//   visibility on the replicas, which show committed events);
// - failover [≤ 1 s, heartbeatMs 100]: SIGKILL the leader; the survivors try an append every
//   millisecond; the figure is the first accepted append − the kill (median of fresh clusters);
// - catch-up [≥ 50 MB/s when the budget allows]: a leader and one replica hold 1M × 256 B; a
//   fresh third member's process opens the channel, is connected, and pulls it all; the figure is payload MB over the
//   time from the connect order until it holds the last event. The catch-up budget is set from a
//   10 Gbit/s NIC (`nicPeakBps` 1.25e9; the default assumes 1 Gbit/s, which caps a pull at
//   62.5 MB/s). Hypercore: a writer process serves a core and a reader process downloads it
//   (scaled down: see HC_EVENTS).
//
// Every channel is persistent with fsync 'never' unless a row says in-memory (JetStream's file
// stream, the peer of these figures, does not fsync each write either).

import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BenchCluster, killAllNodes, type NodeProcess, sleep } from './cluster/cluster.js';
import { type Figure, figureRow, median, percentile, report, round3 } from './report.js';

const EVENTS = Number(process.env.BENCH_REPL_EVENTS ?? 200_000);
const ROUNDS = Number(process.env.BENCH_REPL_ROUNDS ?? 3);
const RATE = 10_000;
const PACED_EVENTS = Number(process.env.BENCH_PACED_EVENTS ?? 20_000);
const ACKED_SAMPLES = Number(process.env.BENCH_ACKED_SAMPLES ?? 2_000);
/** Discarded before the measured latency rounds (paced events, acknowledged appends). */
const WARMUP_EVENTS = 5_000;
const ACKED_WARMUP = 200;
const FAILOVER_ROUNDS = Number(process.env.BENCH_FAILOVER_ROUNDS ?? 3);
const CATCHUP_EVENTS = Number(process.env.BENCH_CATCHUP_EVENTS ?? 1_000_000);
const HC_EVENTS = Number(process.env.BENCH_HC_EVENTS ?? 30_000);
const SIZE = 256;
const NIC_10G = 1.25e9;
const ONLY = (process.env.BENCH_ONLY ?? '').split(',').filter((s) => s !== '');
const wanted = (part: string): boolean => ONLY.length === 0 || ONLY.includes(part);
/** When set, the catch-up rows write CPU profiles of the leader and the fresh replica here. */
const PROFILE_DIR = process.env.BENCH_CATCHUP_PROFILE_DIR;

const figures: Figure[] = [];
function add(figure: Figure): void {
  const rounded = { ...figure, value: round3(figure.value) };
  figures.push(rounded);
  console.log(JSON.stringify(figureRow(rounded)));
}

const ns = (value: unknown): bigint => BigInt(value as string);
const nowNs = (): bigint => process.hrtime.bigint();
const ms = (nanos: bigint | number): number => Number(nanos) / 1e6;
const spread = (values: number[], digits = 0): string =>
  `${Math.min(...values).toFixed(digits)}..${Math.max(...values).toFixed(digits)}`;

async function withCluster<T>(
  options: Parameters<typeof BenchCluster.start>[0],
  body: (cluster: BenchCluster) => Promise<T>,
): Promise<T> {
  const cluster = await BenchCluster.start(options);
  try {
    return await body(cluster);
  } finally {
    await cluster.close();
  }
}

function replicasOf(cluster: BenchCluster, leader: NodeProcess): NodeProcess[] {
  return cluster.alive.filter((n) => n !== leader);
}

/** One round: `count` events appended on the leader until both replicas hold them; events/s. */
async function throughputRound(cluster: BenchCluster, leader: NodeProcess): Promise<number> {
  const base = (await leader.status()).nextSeq;
  const target = base + EVENTS;
  const waits = replicasOf(cluster, leader).map((r) =>
    r.request({ op: 'waitSeq', seq: target, timeoutMs: 120_000 }),
  );
  const loaded = await leader.request({ op: 'load', count: EVENTS, batch: 64, size: SIZE });
  const reached = await Promise.all(waits);
  if (reached.some((r) => r.timedOut === true)) throw new Error('replicas did not catch up');
  const start = ns(loaded.startedNs);
  const elapsedMs = Math.max(...reached.map((r) => ms(ns(r.reachedNs) - start)));
  return EVENTS / (elapsedMs / 1000);
}

async function throughput(persistent: boolean): Promise<void> {
  const system = persistent
    ? "RedEX, 3 processes, persistent, fsync 'never', nicPeakBps 10 Gbit/s"
    : 'RedEX, 3 processes, in-memory, nicPeakBps 10 Gbit/s';
  await withCluster({ persistent, nicPeakBps: NIC_10G }, async (cluster) => {
    const leader = await stableLeader(cluster);
    await throughputRound(cluster, leader); // warm-up
    const rates: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      rates.push(await throughputRound(cluster, leader));
    }
    const rate = median(rates);
    const note = `median of ${ROUNDS} rounds of ${EVENTS.toLocaleString('en')} events; ${spread(rates)}`;
    const base = { group: '3-node replication over TLS, 256 B', kind: 'redex' as const, system };
    // JetStream's file stream pairs with the persistent run; the in-memory run has no peer.
    const id = persistent ? 'replication.throughput' : 'replication.throughput.memory';
    add({
      ...base,
      id,
      label: persistent ? 'fully replicated events/s' : 'fully replicated events/s, in memory',
      value: rate,
      unit: 'events/s',
      better: 'higher',
      note,
    });
    add({
      ...base,
      id: `${id}.mbs`,
      label: persistent
        ? 'fully replicated payload MB/s'
        : 'fully replicated payload MB/s, in memory',
      value: (rate * SIZE) / 1e6,
      unit: 'MB/s',
      better: 'higher',
    });
  });
}

async function latencies(): Promise<void> {
  await withCluster({ persistent: true }, async (cluster) => {
    const leader = await stableLeader(cluster);
    const replicas = replicasOf(cluster, leader);
    const system = "RedEX, 3 processes, persistent, fsync 'never'";
    // Paced appends → replica tails; a first round warms the processes up (JIT, buffers) and is
    // discarded: cold, the first few hundred events alone would make the p99.
    const pacedRound = async (count: number) => {
      const base = (await leader.status()).nextSeq;
      const tails = replicas.map((r) => r.request({ op: 'latencyTail', fromSeq: base, count }));
      await sleep(50);
      const paced = await leader.request({ op: 'paced', rate: RATE, count, size: SIZE });
      return { paced, tails };
    };
    await Promise.all((await pacedRound(WARMUP_EVENTS)).tails);
    const { paced, tails } = await pacedRound(PACED_EVENTS);
    const samples = (await Promise.all(tails)).flatMap((r) => r.samples as number[]);
    const group = '3-node replication over TLS, 256 B';
    const note = `${PACED_EVENTS.toLocaleString('en')} events (after ${WARMUP_EVENTS.toLocaleString('en')} discarded) at ${Math.round(Number(paced.achievedRate)).toLocaleString('en')}/s, both replicas pooled`;
    for (const p of [50, 99] as const) {
      add({
        id: `replication.visible.p${p}`,
        group,
        label: `leader append → replica visible, p${p} at 10k events/s`,
        kind: 'redex',
        system,
        value: percentile(samples, p) / 1e6,
        unit: 'ms',
        better: 'lower',
        note,
      });
    }
    // Acknowledged appends (after a discarded warm-up).
    await leader.request({ op: 'acked', samples: ACKED_WARMUP, size: SIZE, count: 1 });
    const acked = await leader.request({
      op: 'acked',
      samples: ACKED_SAMPLES,
      size: SIZE,
      count: 1,
    });
    const ackSamples = acked.samples as number[];
    for (const p of [50, 99] as const) {
      add({
        id: `replication.acked.p${p}`,
        group,
        label: `acknowledged append (1 replica + leader), p${p}`,
        kind: 'redex',
        system: `${system}; append (acks 'quorum') + waitForReplicas(count 1)`,
        value: percentile(ackSamples, p) / 1e6,
        unit: 'ms',
        better: 'lower',
        note: `${ACKED_SAMPLES.toLocaleString('en')} sequential appends`,
      });
    }
  });
}

async function failoverRound(): Promise<number> {
  return withCluster({ persistent: true }, async (cluster) => {
    const leader = await stableLeader(cluster);
    const replicas = replicasOf(cluster, leader);
    await leader.request({ op: 'load', count: 1000, batch: 100, size: SIZE });
    await Promise.all(
      replicas.map((r) => r.request({ op: 'waitSeq', seq: 1000, timeoutMs: 10_000 })),
    );
    const loops = replicas.map((r) =>
      r.request({ op: 'writeLoop', size: SIZE, timeoutMs: 10_000 }),
    );
    await sleep(50);
    const killedAt = nowNs();
    leader.kill();
    const results = await Promise.all(loops);
    const accepted = results.filter((r) => r.acceptedNs !== undefined).map((r) => ns(r.acceptedNs));
    if (accepted.length === 0) throw new Error('no survivor accepted a write within 10 s');
    return Math.min(...accepted.map((at) => ms(at - killedAt)));
  });
}

async function failover(): Promise<void> {
  const times: number[] = [];
  for (let round = 0; round < FAILOVER_ROUNDS; round++) times.push(await failoverRound());
  add({
    id: 'failover',
    group: 'failover',
    label: 'leader SIGKILL → first write accepted by the new leader',
    kind: 'redex',
    system: "RedEX, 3 processes, heartbeatMs 100, persistent, fsync 'never'",
    value: median(times),
    unit: 'ms',
    better: 'lower',
    note: `median of ${FAILOVER_ROUNDS} fresh clusters; ${spread(times)} ms`,
  });
}

/**
 * The leader once it has led for `STABLE_LEADER_MS` in a row: the first election may go to a
 * member that hands the channel to the preferred one soon after, which would cut a load short.
 */
const STABLE_LEADER_MS = 3_000;
async function stableLeader(cluster: BenchCluster): Promise<NodeProcess> {
  let leader = await cluster.waitForLeader();
  let since = performance.now();
  while (performance.now() - since < STABLE_LEADER_MS) {
    await sleep(100);
    const now = await cluster.waitForLeader();
    if (now !== leader) {
      leader = now;
      since = performance.now();
    }
  }
  return leader;
}

/**
 * Appends until the leader holds CATCHUP_EVENTS, in pieces: on a busy machine the two running
 * members may change leaders during the load, which then goes on through the new one.
 */
async function loadCatchupLog(cluster: BenchCluster): Promise<NodeProcess> {
  const piece = 100_000;
  let leader = await stableLeader(cluster);
  for (;;) {
    const have = (await leader.status()).nextSeq;
    if (have >= CATCHUP_EVENTS) return leader;
    const count = Math.min(piece, CATCHUP_EVENTS - have);
    try {
      await leader.request({ op: 'load', count, batch: 256, size: SIZE });
    } catch (error) {
      if (!/LeadershipLost|NotLeader/.test(String(error))) throw error;
      leader = await stableLeader(cluster);
    }
  }
}

async function redexCatchup(persistent: boolean): Promise<void> {
  const mbs = await withCluster(
    // Two of three members run (a leader needs a majority to be elected and to commit); the
    // third starts empty once the log is loaded and is the replica that catches up.
    { nodes: 3, startOnly: 2, persistent, nicPeakBps: NIC_10G },
    async (cluster) => {
      const leader = await loadCatchupLog(cluster);
      const fresh = await cluster.spawnNode('n3');
      if (PROFILE_DIR !== undefined)
        await Promise.all([leader, fresh].map((n) => n.request({ op: 'profileStart' })));
      const done = fresh.request({ op: 'waitSeq', seq: CATCHUP_EVENTS, timeoutMs: 120_000 });
      const startedAt = nowNs();
      await cluster.dialAll();
      const reached = await done;
      if (reached.timedOut === true) throw new Error('the fresh replica did not catch up');
      if (PROFILE_DIR !== undefined) {
        const kind = persistent ? 'disk' : 'memory';
        await leader.request({
          op: 'profileStop',
          path: join(PROFILE_DIR, `catchup-${kind}-leader.cpuprofile`),
        });
        await fresh.request({
          op: 'profileStop',
          path: join(PROFILE_DIR, `catchup-${kind}-replica.cpuprofile`),
        });
      }
      return (CATCHUP_EVENTS * SIZE) / 1e6 / (ms(ns(reached.reachedNs) - startedAt) / 1000);
    },
  );
  add({
    id: persistent ? 'catchup.disk' : 'catchup.memory',
    group: 'catch-up of a fresh replica, 256 B events',
    label: persistent ? 'MB/s pulled, on disk' : 'MB/s pulled, in memory',
    kind: 'redex',
    system: `RedEX, 3 processes (1 catching up), ${persistent ? "persistent, fsync 'never'" : 'in-memory'}, nicPeakBps 10 Gbit/s`,
    value: mbs,
    unit: 'MB/s',
    better: 'higher',
    note: `${CATCHUP_EVENTS.toLocaleString('en')} events, connect order → last event held`,
  });
}

const HC_PROCESS = join(import.meta.dirname, 'peers', 'hypercore-process.ts');

async function hypercoreCatchup(disk: boolean): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'redex-bench-hc-'));
  const storage = (name: string) => (disk ? `disk:${join(dir, name)}` : 'ram');
  const spawn = (args: string[]) =>
    fork(HC_PROCESS, args, { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
  const firstMessage = (child: ReturnType<typeof spawn>) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      child.once('message', (m) => resolve(m as Record<string, unknown>));
      child.once('exit', (code) => reject(new Error(`hypercore process exited (${code})`)));
    });
  const writer = spawn(['writer', storage('writer'), String(HC_EVENTS), String(SIZE)]);
  let reader: ReturnType<typeof spawn> | null = null;
  try {
    const served = await firstMessage(writer);
    reader = spawn([
      'reader',
      storage('reader'),
      String(served.key),
      String(served.port),
      String(HC_EVENTS),
    ]);
    const result = await firstMessage(reader);
    const mbs = (HC_EVENTS * SIZE) / 1e6 / (Number(result.ms) / 1000);
    const version = disk ? 'hypercore 11, disk (RocksDB)' : 'hypercore 10, random-access-memory';
    add({
      id: disk ? 'catchup.disk' : 'catchup.memory',
      group: 'catch-up of a fresh replica, 256 B events',
      label: disk ? 'MB/s pulled, on disk' : 'MB/s pulled, in memory',
      kind: 'hypercore',
      system: `${version}, 2 processes, Noise secret stream over TCP`,
      value: mbs,
      unit: 'MB/s',
      better: 'higher',
      note: `scaled down to ${HC_EVENTS.toLocaleString('en')} blocks: hypercore replicates block by block, each with its Merkle proof, a few thousand 256 B blocks per second here (CPU-bound), so 1M would take minutes; connect → all blocks stored`,
    });
  } finally {
    for (const child of [writer, reader])
      if (child !== null && child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

try {
  if (wanted('throughput')) {
    await throughput(true);
    await throughput(false);
  }
  if (wanted('latency')) await latencies();
  if (wanted('failover')) await failover();
  // `catchup-redex` runs RedEX's catch-up rows alone (no hypercore peer), for before/after runs.
  const peersToo = wanted('catchup');
  if (peersToo || wanted('catchup-redex')) {
    await redexCatchup(true);
    if (peersToo) await hypercoreCatchup(true);
    await redexCatchup(false);
    if (peersToo) await hypercoreCatchup(false);
  }
} finally {
  killAllNodes();
}
report('replication', figures.map(figureRow), {
  events: EVENTS,
  rounds: ROUNDS,
  pacedEvents: PACED_EVENTS,
  ackedSamples: ACKED_SAMPLES,
  failoverRounds: FAILOVER_ROUNDS,
  catchupEvents: CATCHUP_EVENTS,
  hypercoreEvents: HC_EVENTS,
  figures,
});
