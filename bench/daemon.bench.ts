// `npm run bench:daemon` — RedEX as users call it: three `redex serve` processes on loopback
// (bench/daemon/serve-cluster.ts), a persistent channel with `fsync: 'always'` and
// `replication: { factor: 3, heartbeatMs: 100 }`, appended to over HTTP with `acks=quorum` (the
// answer comes once 2 of 3 nodes hold the events, each fsynced) through a keep-alive undici Pool,
// 256 B payloads. Beside it, in the same run, the same workload on
//
// - etcd (bench/daemon/etcd-cluster.ts): 3 members, `--heartbeat-interval=100
//   --election-timeout=1000`, puts through its HTTP/JSON gateway with the same Pool client (a put
//   is answered once committed on 2 of 3, WAL fsynced: the same promise);
// - NATS JetStream (bench/peers/nats-cluster.ts): an R3 file stream, `js.publish` through the NATS
//   client over TCP (PubAck once 2 of 3 stored it; nats-server 2.9 does not fsync per message).
//
// Rows: sequential writes (p50/p99), 64 closed-loop writers (writes/s, p50/p99), RedEX batches of
// 64 events per request (events/s), and failover (SIGKILL of the leader → first write accepted,
// fresh clusters). RedEX and etcd rounds alternate on clusters that run side by side, so their
// ratio comes from one stretch of the machine's load. Each figure carries its guarantee and its
// entry point; the summary only puts ratios between figures whose both are equal.
//
// Env: BENCH_DAEMON_SEQ (sequential samples per round, 1,000), BENCH_DAEMON_MS (measured ms per
// closed-loop round, 3,000), BENCH_DAEMON_ROUNDS (3), BENCH_DAEMON_BATCH_WRITERS (8),
// BENCH_FAILOVER_ROUNDS (3), BENCH_ONLY (systems redex, etcd, jetstream and/or parts load,
// failover, or single rows of the load part: sequential, writers, batch),
// BENCH_DAEMON_PROFILE=<dir> (every serve process of the load cluster runs with --cpu-prof, one
// directory per member).

import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import type { Pool } from 'undici';
import { b64, EtcdCluster, etcdVersion, findEtcd } from './daemon/etcd-cluster.js';
import {
  closedLoop,
  type LatencyResult,
  type PostSpec,
  pool,
  post,
  type RateResult,
  sequential,
  untilAccepted,
} from './daemon/http-load.js';
import { redexLeader } from './daemon/leader.js';
import { ServeCluster } from './daemon/serve-cluster.js';
import { failoverRound, withSession } from './peers/jetstream-session.js';
import { findNatsServer, natsServerVersion } from './peers/nats-cluster.js';
import { type Figure, figureRow, median, percentile, report, round3 } from './report.js';

const SEQ_SAMPLES = Number(process.env.BENCH_DAEMON_SEQ ?? 1_000);
const SEQ_WARMUP = Math.max(20, Math.round(SEQ_SAMPLES / 10));
const DURATION_MS = Number(process.env.BENCH_DAEMON_MS ?? 3_000);
const ROUNDS = Number(process.env.BENCH_DAEMON_ROUNDS ?? 3);
const WRITERS = 64;
const BATCH = 64;
const BATCH_WRITERS = Number(process.env.BENCH_DAEMON_BATCH_WRITERS ?? 8);
const FAILOVER_ROUNDS = Number(process.env.BENCH_FAILOVER_ROUNDS ?? 3);
const PROFILE_DIR = process.env.BENCH_DAEMON_PROFILE ?? '';
const SIZE = 256;
const CHANNEL = 'bench';
const ONLY = (process.env.BENCH_ONLY ?? '').split(',').filter((s) => s !== '');
const SYSTEMS = ['redex', 'etcd', 'jetstream'];
/** Rows of the load part, each also a part of its own (`load` names all three). */
const LOAD_ROWS = ['sequential', 'writers', 'batch'];
const PARTS = ['load', ...LOAD_ROWS, 'failover'];
/** BENCH_ONLY names systems, parts or both; an axis it does not name is not filtered. */
const choose = (axis: readonly string[], name: string): boolean => {
  const named = ONLY.filter((o) => axis.includes(o));
  return named.length === 0 || named.includes(name);
};
const wanted = (system: string): boolean => choose(SYSTEMS, system);
const wantedPart = (part: string): boolean => choose(PARTS, part);
const wantedRow = (row: string): boolean => wantedPart('load') || wantedPart(row);
const anyLoadRow = LOAD_ROWS.some(wantedRow);

const GROUP = 'through the daemon: 3 nodes on loopback, 256 B';
/** Entry points and guarantees; equal strings are what makes two figures comparable. */
const HTTP_ENTRY = 'HTTP/1.1 JSON request to a server, keep-alive undici Pool';
const NATS_ENTRY = 'NATS client over TCP (@nats-io/jetstream)';
const QUORUM_FSYNCED = 'committed on 2 of 3, fsynced on each';
const QUORUM_NOT_FSYNCED = 'stored on 2 of 3, not fsynced per message';

const PAYLOAD = new Uint8Array(SIZE).fill(0x72);
const PAYLOAD_B64 = b64(PAYLOAD);
const spread = (values: number[], digits = 0): string =>
  `${Math.min(...values).toFixed(digits)}..${Math.max(...values).toFixed(digits)}`;

const figures: Figure[] = [];
function add(figure: Figure): void {
  const rounded = { ...figure, value: round3(figure.value) };
  figures.push(rounded);
  console.log(JSON.stringify(figureRow(rounded)));
}

// ---- the write requests -------------------------------------------------------------------

const channelSpec = {
  name: CHANNEL,
  file: { fsync: 'always' },
  replication: { factor: 3, heartbeatMs: 100 },
};

function redexAppend(acks = 'quorum', timeoutMs = 5_000): PostSpec {
  return {
    path: `/channels/${CHANNEL}/events?acks=${acks}&timeoutMs=${timeoutMs}`,
    contentType: 'application/json',
    body: JSON.stringify({ payload: PAYLOAD_B64 }),
    expect: [201],
  };
}

const redexBatch: PostSpec = {
  path: `/channels/${CHANNEL}/events?acks=quorum`,
  contentType: 'application/json',
  body: JSON.stringify({ events: Array.from({ length: BATCH }, () => PAYLOAD_B64) }),
  expect: [201],
};

/** One key per writer: etcd keeps every revision, distinct keys would only grow its index. */
function etcdPut(writer: number): PostSpec {
  return {
    path: '/v3/kv/put',
    contentType: 'application/json',
    body: JSON.stringify({ key: b64(`bench/${writer}`), value: PAYLOAD_B64 }),
    expect: [200],
  };
}

// ---- RedEX cluster helpers ----------------------------------------------------------------

/**
 * The leader, once an append that every replica acknowledges succeeds on it: the replica set is
 * connected. A leader can change right after start-up (a loaded machine misses heartbeats), so
 * it is looked up again until the append is taken.
 */
async function settledLeader(cluster: ServeCluster, timeoutMs = 60_000): Promise<string> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const name = await redexLeader(cluster, CHANNEL);
    const client = pool(cluster.member(name).url, 1);
    try {
      await post(client, redexAppend('all', 2_000));
      return name;
    } catch (error) {
      if (performance.now() > deadline) throw error;
    } finally {
      await client.close();
    }
  }
}

/**
 * The leader once 100 appends went through it in a row. A leadership handed back to the
 * channel's preferred member may land in the middle (NOT_LEADER): then the new leader is warmed
 * up from the start, at most five times.
 */
async function warmedLeader(cluster: ServeCluster, pools: Pool[]): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const name = await settledLeader(cluster);
    const client = pool(cluster.member(name).url, 1);
    pools.push(client);
    try {
      for (let i = 0; i < 100; i++) await post(client, redexAppend());
      return name;
    } catch (error) {
      if (attempt >= 5) throw error;
    }
  }
}

// ---- throughput and latency rows: RedEX and etcd, alternating rounds ----------------------

interface Clients {
  readonly seq: Pool;
  readonly many: Pool;
}

interface Side {
  readonly kind: 'redex' | 'etcd';
  readonly system: string;
  /** Pools on the current leader (looked up again after a leader change). */
  readonly connect: () => Promise<Clients>;
  readonly write: (writer: number) => PostSpec;
  clients: Clients | null;
  /** Rounds run again because a request failed (a leader change under load). */
  retried: number;
}

const ATTEMPTS = 3;

/** Runs `body` on the side's pools; on a failed request, reconnects to the leader and retries. */
async function measure<T>(side: Side, body: (clients: Clients) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    side.clients ??= await side.connect();
    try {
      return await body(side.clients);
    } catch (error) {
      if (attempt >= ATTEMPTS) throw error;
      console.log(`${side.kind}: ${String(error).slice(0, 200)}; leader looked up again`);
      side.retried++;
      const stale = side.clients;
      side.clients = null;
      await Promise.all([stale.seq.close(), stale.many.close()]);
    }
  }
}

interface SideResults {
  seq: LatencyResult[];
  many: RateResult[];
  batch: RateResult[];
}

function addLatencyRows(
  side: Side,
  id: string,
  label: string,
  results: readonly LatencyResult[],
  note: string,
): void {
  for (const p of [50, 99] as const) {
    const values = results.map((r) => (p === 50 ? r.p50Ms : r.p99Ms));
    add({
      id: `${id}.p${p}`,
      group: GROUP,
      label: `${label}, p${p}`,
      kind: side.kind,
      system: side.system,
      value: median(values),
      unit: 'ms',
      better: 'lower',
      note: `${note}; median of ${results.length} rounds, ${spread(values, 2)} ms`,
      entry: HTTP_ENTRY,
      guarantee: QUORUM_FSYNCED,
    });
  }
}

async function throughputRows(etcdBinary: string | null): Promise<void> {
  const profiling = PROFILE_DIR === '' ? {} : { nodeArgs: profileArgs() };
  const redexCluster = wanted('redex')
    ? await ServeCluster.start({ channels: [channelSpec], ...profiling })
    : null;
  const etcdCluster =
    etcdBinary !== null && wanted('etcd') ? await EtcdCluster.start(etcdBinary) : null;
  const sides: Side[] = [];
  try {
    if (redexCluster !== null) {
      sides.push({
        kind: 'redex',
        system:
          "RedEX redex serve ×3, persistent, fsync 'always', factor 3; POST …/events?acks=quorum",
        connect: async () => {
          const leader = redexCluster.member(await settledLeader(redexCluster));
          return { seq: pool(leader.url, 1), many: pool(leader.url, WRITERS) };
        },
        write: () => redexAppend(),
        clients: null,
        retried: 0,
      });
    }
    if (etcdCluster !== null) {
      sides.push({
        kind: 'etcd',
        system: `${etcdVersion(etcdBinary!)} ×3, peers over mutual TLS; POST /v3/kv/put to the leader`,
        connect: async () => {
          const leader = await etcdCluster.leader();
          return { seq: pool(leader.url, 1), many: pool(leader.url, WRITERS) };
        },
        write: etcdPut,
        clients: null,
        retried: 0,
      });
    }
    const results = new Map<Side, SideResults>(
      sides.map((s) => [s, { seq: [], many: [], batch: [] }]),
    );
    for (let round = 0; round < ROUNDS; round++) {
      for (const side of wantedRow('sequential') ? sides : []) {
        const r = results.get(side)!;
        r.seq.push(
          await measure(side, (c) =>
            sequential(c.seq, () => side.write(0), SEQ_WARMUP, SEQ_SAMPLES),
          ),
        );
        console.log(`round ${round + 1} ${side.kind} sequential`, r.seq.at(-1));
      }
      for (const side of wantedRow('writers') ? sides : []) {
        const r = results.get(side)!;
        r.many.push(
          await measure(side, (c) =>
            closedLoop(c.many, (w) => side.write(w), WRITERS, DURATION_MS),
          ),
        );
        console.log(`round ${round + 1} ${side.kind} ${WRITERS} writers`, r.many.at(-1));
      }
      const redexSide = sides.find((s) => s.kind === 'redex');
      if (redexSide !== undefined && wantedRow('batch')) {
        const r = results.get(redexSide)!;
        r.batch.push(
          await measure(redexSide, (c) =>
            closedLoop(c.many, () => redexBatch, BATCH_WRITERS, DURATION_MS),
          ),
        );
        console.log(`round ${round + 1} redex batches`, r.batch.at(-1));
      }
    }
    for (const side of sides) {
      const r = results.get(side)!;
      const writes = side.kind === 'redex' ? 'appends' : 'puts';
      const again =
        side.retried === 0 ? '' : `; ${side.retried} round(s) run again after a failed request`;
      if (r.seq.length > 0)
        addLatencyRows(
          side,
          'daemon.sequential',
          'sequential writes, 1 connection',
          r.seq,
          `${SEQ_SAMPLES.toLocaleString('en')} sequential ${writes} per round after ${SEQ_WARMUP} discarded${again}`,
        );
      const rates = r.many.map((x) => x.requestsPerSecond);
      if (rates.length > 0)
        add({
          id: 'daemon.writers64',
          group: GROUP,
          label: `${WRITERS} concurrent writers, writes/s`,
          kind: side.kind,
          system: side.system,
          value: median(rates),
          unit: 'events/s',
          better: 'higher',
          note: `${WRITERS} closed-loop writers on ${WRITERS} connections, ${DURATION_MS} ms per round; median of ${r.many.length} rounds, ${spread(rates)}${again}`,
          entry: HTTP_ENTRY,
          guarantee: QUORUM_FSYNCED,
        });
      if (rates.length > 0)
        addLatencyRows(
          side,
          'daemon.writers64',
          `${WRITERS} concurrent writers, latency`,
          r.many,
          `${WRITERS} closed-loop writers`,
        );
      if (r.batch.length > 0) {
        const events = r.batch.map((x) => x.requestsPerSecond * BATCH);
        add({
          id: 'daemon.batch64',
          group: GROUP,
          label: `batches of ${BATCH} events per request, events/s`,
          kind: side.kind,
          system: `${side.system}; {"events":[…${BATCH}]}`,
          value: median(events),
          unit: 'events/s',
          better: 'higher',
          note: `${BATCH_WRITERS} closed-loop writers, ${DURATION_MS} ms per round; median of ${events.length} rounds, ${spread(events)}; request p50 ${median(r.batch.map((x) => x.p50Ms)).toFixed(2)} ms${again}`,
          entry: HTTP_ENTRY,
          guarantee: QUORUM_FSYNCED,
        });
      }
    }
  } finally {
    await Promise.all(sides.map((side) => side.clients?.seq.close()));
    await Promise.all(sides.map((side) => side.clients?.many.close()));
    await redexCluster?.close();
    await etcdCluster?.close();
  }
}

/**
 * `--cpu-prof` for every member, one directory each (Node names the files by pid and thread: the
 * tsx loader's worker thread writes its own profile beside the main thread's).
 */
function profileArgs(): Record<number, string[]> {
  return Object.fromEntries(
    ['a', 'b', 'c'].map((letter, i) => [
      i,
      ['--cpu-prof', `--cpu-prof-dir=${join(PROFILE_DIR, `node-${letter}`)}`],
    ]),
  );
}

// ---- failover -----------------------------------------------------------------------------

async function redexFailoverRound(): Promise<number> {
  const cluster = await ServeCluster.start({ channels: [channelSpec] });
  const pools: Pool[] = [];
  try {
    const leaderName = await warmedLeader(cluster, pools);
    const survivors = cluster.members
      .filter((m) => m.name !== leaderName)
      .map((m) => pool(m.url, 1));
    pools.push(...survivors);
    const killedAt = process.hrtime.bigint();
    // Not awaited, as for etcd and JetStream: the clock runs from the signal.
    void cluster.kill(leaderName);
    // Alternating between the survivors: whichever was elected takes the write (the other
    // answers 421 NOT_LEADER at once, or 503 while nobody leads).
    let attempt = 0;
    return await untilAccepted(killedAt, () =>
      post(survivors[attempt++ % survivors.length]!, redexAppend('quorum', 500), 1_000),
    );
  } finally {
    await Promise.all(pools.map((p) => p.close()));
    await cluster.close();
  }
}

async function etcdFailoverRound(binary: string): Promise<number> {
  const cluster = await EtcdCluster.start(binary);
  let client: Pool | null = null;
  try {
    const leader = await cluster.leader();
    const survivor = cluster.members.find((m) => m !== leader)!;
    client = pool(survivor.url, 1);
    for (let i = 0; i < 100; i++) await post(client, etcdPut(0));
    const killedAt = process.hrtime.bigint();
    void cluster.kill(leader);
    const c = client;
    return await untilAccepted(killedAt, () => post(c, etcdPut(0), 1_000));
  } finally {
    await client?.close();
    await cluster.close();
  }
}

async function failoverRows(etcdBinary: string | null, nats: string | null): Promise<void> {
  const runs: {
    kind: Figure['kind'];
    system: string;
    entry: string;
    guarantee: string;
    round: () => Promise<number>;
  }[] = [];
  if (wanted('redex'))
    runs.push({
      kind: 'redex',
      system:
        "RedEX redex serve ×3, heartbeatMs 100, fsync 'always'; client alternates between the survivors",
      entry: HTTP_ENTRY,
      guarantee: QUORUM_FSYNCED,
      round: redexFailoverRound,
    });
  if (etcdBinary !== null && wanted('etcd'))
    runs.push({
      kind: 'etcd',
      system: `${etcdVersion(etcdBinary)} ×3, heartbeat 100 ms, election timeout 1,000 ms; client on a survivor`,
      entry: HTTP_ENTRY,
      guarantee: QUORUM_FSYNCED,
      round: () => etcdFailoverRound(etcdBinary),
    });
  if (nats !== null && wanted('jetstream'))
    runs.push({
      kind: 'jetstream',
      system: `JetStream (${natsServerVersion(nats).replace(/^nats-server:\s*/, 'nats-server ')}) ×3, R3 file stream; client on the survivors`,
      entry: NATS_ENTRY,
      guarantee: QUORUM_NOT_FSYNCED,
      round: () => failoverRound(nats),
    });
  const times = new Map(runs.map((r) => [r, [] as number[]]));
  for (let round = 0; round < FAILOVER_ROUNDS; round++) {
    for (const run of runs) {
      const ms = await run.round();
      times.get(run)!.push(ms);
      console.log(`failover round ${round + 1} ${run.kind}: ${ms.toFixed(0)} ms`);
    }
  }
  for (const run of runs) {
    const values = times.get(run)!;
    add({
      id: 'daemon.failover',
      group: GROUP,
      label: 'leader SIGKILL → first write accepted',
      kind: run.kind,
      system: run.system,
      value: median(values),
      unit: 'ms',
      better: 'lower',
      note: `median of ${values.length} fresh clusters; ${spread(values)} ms`,
      entry: run.entry,
      guarantee: run.guarantee,
    });
  }
}

// ---- JetStream: the same workload through its client ----------------------------------------

async function jetstreamRows(binary: string): Promise<void> {
  const version = natsServerVersion(binary).replace(/^nats-server:\s*/, 'nats-server ');
  const system = `JetStream (${version}) ×3, R3 file stream; js.publish`;
  await withSession(binary, async (session) => {
    const js = jetstream(session.nc);
    const seq: LatencyResult[] = [];
    const many: RateResult[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < SEQ_WARMUP; i++) await js.publish('bench.seq', PAYLOAD);
      const latencies: number[] = [];
      for (let i = 0; i < SEQ_SAMPLES; i++) {
        const t0 = process.hrtime.bigint();
        await js.publish('bench.seq', PAYLOAD);
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      seq.push({
        p50Ms: percentile(latencies, 50),
        p99Ms: percentile(latencies, 99),
        count: latencies.length,
      });
      many.push(await publishLoop(js));
      console.log(`round ${round + 1} jetstream`, seq.at(-1), many.at(-1));
    }
    const base = {
      group: GROUP,
      kind: 'jetstream' as const,
      system,
      entry: NATS_ENTRY,
      guarantee: QUORUM_NOT_FSYNCED,
    };
    for (const p of [50, 99] as const) {
      const values = seq.map((r) => (p === 50 ? r.p50Ms : r.p99Ms));
      add({
        ...base,
        id: `daemon.sequential.p${p}`,
        label: `sequential writes, 1 connection, p${p}`,
        value: median(values),
        unit: 'ms',
        better: 'lower',
        note: `${SEQ_SAMPLES.toLocaleString('en')} sequential publishes per round; median of ${ROUNDS} rounds, ${spread(values, 2)} ms`,
      });
    }
    const rates = many.map((r) => r.requestsPerSecond);
    add({
      ...base,
      id: 'daemon.writers64',
      label: `${WRITERS} concurrent writers, writes/s`,
      value: median(rates),
      unit: 'events/s',
      better: 'higher',
      note: `${WRITERS} closed-loop publishers on one connection, ${DURATION_MS} ms per round; median of ${ROUNDS} rounds, ${spread(rates)}`,
    });
    for (const p of [50, 99] as const) {
      const values = many.map((r) => (p === 50 ? r.p50Ms : r.p99Ms));
      add({
        ...base,
        id: `daemon.writers64.p${p}`,
        label: `${WRITERS} concurrent writers, latency, p${p}`,
        value: median(values),
        unit: 'ms',
        better: 'lower',
        note: `median of ${ROUNDS} rounds, ${spread(values, 2)} ms`,
      });
    }
  });
}

/** 64 closed-loop `js.publish` callers on the session's connection (the NATS client multiplexes). */
async function publishLoop(js: ReturnType<typeof jetstream>): Promise<RateResult> {
  const warmupEnd = performance.now() + DURATION_MS / 4;
  const end = warmupEnd + DURATION_MS;
  const latencies: number[] = [];
  let from = Number.POSITIVE_INFINITY;
  let to = 0;
  await Promise.all(
    Array.from({ length: WRITERS }, async () => {
      for (;;) {
        const started = performance.now();
        if (started >= end) return;
        const t0 = process.hrtime.bigint();
        await js.publish('bench.many', PAYLOAD);
        if (started >= warmupEnd) {
          latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
          from = Math.min(from, started);
          to = Math.max(to, performance.now());
        }
      }
    }),
  );
  return {
    requestsPerSecond: latencies.length / Math.max(1e-3, (to - from) / 1000),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    count: latencies.length,
  };
}

// ---- main ----------------------------------------------------------------------------------

const etcdBinary = findEtcd();
const nats = findNatsServer();
const skipped: string[] = [];
if (etcdBinary === null) {
  skipped.push(
    'bench:daemon etcd rows SKIPPED: etcd is not installed (apt-get install -y etcd-server, or set ETCD=/path/to/etcd)',
  );
}
if (nats === null) {
  skipped.push(
    'bench:daemon JetStream rows SKIPPED: nats-server is not installed (apt-get install -y nats-server, or set NATS_SERVER=/path/to/nats-server)',
  );
}
for (const line of skipped) console.log(line);
if (anyLoadRow && (wanted('redex') || wanted('etcd'))) await throughputRows(etcdBinary);
if (anyLoadRow && nats !== null && wanted('jetstream')) await jetstreamRows(nats);
if (wantedPart('failover')) await failoverRows(etcdBinary, nats);
report('daemon', figures.map(figureRow), {
  ...(skipped.length === 0 ? {} : { skipped: skipped.join(' ') }),
  sequentialSamples: SEQ_SAMPLES,
  durationMs: DURATION_MS,
  rounds: ROUNDS,
  batchWriters: BATCH_WRITERS,
  failoverRounds: FAILOVER_ROUNDS,
  figures,
});
