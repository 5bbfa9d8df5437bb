// `npm run bench:jetstream` — the NATS JetStream side of the replication figures: a three-server
// cluster on loopback (bench/peers/nats-cluster.ts: Debian nats-server, cluster routes over mutual
// TLS) with an R3 file stream, driven by the `@nats-io/transport-node` + `@nats-io/jetstream`
// client from this process over plain TCP. Same payloads (256 B) and the same schedules as
// bench:replication:
//
// - throughput: BENCH_JS_EVENTS messages, published (1) as core NATS publishes into the stream
//   subject, flushed every 1,000 (the fastest way in; JetStream still stores and replicates every
//   one), and (2) a quarter as many as acknowledged `js.publish` calls with up to 1,024 in
//   flight (the client tops out at a few thousand per second here); the figure is
//   messages over the time from the first publish until the stream holds the last one and the
//   leader reports both replicas current with lag 0;
// - publish → consumer-visible latency at 10k messages/s: core publishes stamped with hrtime,
//   received by an ordered consumer (JetStream has no client read from a chosen replica; a
//   consumer sees a message once the stream committed it on a quorum);
// - acknowledged publish latency: sequential `await js.publish()` (the PubAck comes after a quorum
//   of 2 of 3 stored it: the counterpart of RedEX's append + waitForReplicas(count 1));
// - failover: SIGKILL the stream leader's server; a client connected to the two others publishes
//   until one is acknowledged (median of fresh clusters).
//
// Skipped, with a message and an empty result, when `nats-server` is not installed.

import { DeliverPolicy } from '@nats-io/jetstream';
import { failoverRound, type Session, STREAM, withSession } from './peers/jetstream-session.js';
import { findNatsServer, natsServerVersion } from './peers/nats-cluster.js';
import { type Figure, figureRow, median, percentile, report, round3 } from './report.js';

const EVENTS = Number(process.env.BENCH_JS_EVENTS ?? 100_000);
const ACKED_WINDOW = 1024;
const ROUNDS = Number(process.env.BENCH_REPL_ROUNDS ?? 3);
const RATE = 10_000;
const PACED_EVENTS = Number(process.env.BENCH_PACED_EVENTS ?? 20_000);
const ACKED_SAMPLES = Number(process.env.BENCH_ACKED_SAMPLES ?? 2_000);
/** Discarded before the measured latency figures (as in bench:replication). */
const WARMUP_EVENTS = 5_000;
const ACKED_WARMUP = 200;
const FAILOVER_ROUNDS = Number(process.env.BENCH_FAILOVER_ROUNDS ?? 3);
const SIZE = 256;
const ONLY = (process.env.BENCH_ONLY ?? '').split(',').filter((s) => s !== '');
const wanted = (part: string): boolean => ONLY.length === 0 || ONLY.includes(part);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const nowNs = (): bigint => process.hrtime.bigint();
const spread = (values: number[], digits = 0): string =>
  `${Math.min(...values).toFixed(digits)}..${Math.max(...values).toFixed(digits)}`;

const figures: Figure[] = [];
function add(figure: Figure): void {
  const rounded = { ...figure, value: round3(figure.value) };
  figures.push(rounded);
  console.log(JSON.stringify(figureRow(rounded)));
}

/** Until the stream holds `lastSeq` and both replicas are current with no lag. */
async function waitReplicated(session: Session, lastSeq: number): Promise<void> {
  const deadline = performance.now() + 120_000;
  for (;;) {
    const info = await session.jsm.streams.info(STREAM);
    const replicas = info.cluster?.replicas ?? [];
    const synced = replicas.length === 2 && replicas.every((r) => r.current && (r.lag ?? 0) === 0);
    if (info.state.last_seq >= lastSeq && synced) return;
    if (performance.now() > deadline) throw new Error(`stream stuck at ${info.state.last_seq}`);
    await sleep(2);
  }
}

async function throughputRound(session: Session, acked: boolean): Promise<number> {
  // Acknowledged publishes run at a few thousand per second here: a quarter as many keeps the
  // suite's time bounded (the figure is a rate).
  const count = acked ? Math.ceil(EVENTS / 4) : EVENTS;
  const payload = new Uint8Array(SIZE).fill(0x6a);
  const base = (await session.jsm.streams.info(STREAM)).state.last_seq;
  const started = performance.now();
  if (acked) {
    let inflight: Promise<unknown>[] = [];
    for (let i = 0; i < count; i++) {
      inflight.push(session.js.publish('bench.tp', payload));
      if (inflight.length >= ACKED_WINDOW) {
        await Promise.all(inflight);
        inflight = [];
      }
    }
    await Promise.all(inflight);
  } else {
    for (let i = 0; i < count; i++) {
      session.nc.publish('bench.tp', payload);
      if (i % 1000 === 999) await session.nc.flush();
    }
    await session.nc.flush();
  }
  await waitReplicated(session, base + count);
  return count / ((performance.now() - started) / 1000);
}

async function throughput(binary: string, version: string): Promise<void> {
  await withSession(binary, async (session) => {
    for (const acked of [false, true]) {
      await throughputRound(session, acked); // warm-up
      const rates: number[] = [];
      for (let round = 0; round < ROUNDS; round++)
        rates.push(await throughputRound(session, acked));
      const rate = median(rates);
      const how = acked ? `js.publish, ${ACKED_WINDOW} in flight` : 'core publish, flush per 1,000';
      const system = `JetStream (${version}), 3 servers, R3 file stream; ${how}`;
      const group = '3-node replication over TLS, 256 B';
      add({
        id: 'replication.throughput',
        group,
        label: 'fully replicated events/s',
        kind: 'jetstream',
        system,
        value: rate,
        unit: 'events/s',
        better: 'higher',
        note: `median of ${ROUNDS} rounds of ${(acked ? Math.ceil(EVENTS / 4) : EVENTS).toLocaleString('en')} messages; ${spread(rates)}`,
      });
      add({
        id: 'replication.throughput.mbs',
        group,
        label: 'fully replicated payload MB/s',
        kind: 'jetstream',
        system,
        value: (rate * SIZE) / 1e6,
        unit: 'MB/s',
        better: 'higher',
      });
    }
  });
}

async function latencies(binary: string, version: string): Promise<void> {
  await withSession(binary, async (session) => {
    const group = '3-node replication over TLS, 256 B';
    const system = `JetStream (${version}), 3 servers, R3 file stream`;
    // Paced publishes → an ordered consumer.
    const consumer = await session.js.consumers.get(STREAM, {
      filter_subjects: 'bench.lat',
      deliver_policy: DeliverPolicy.New,
    });
    const messages = await consumer.consume();
    const all: number[] = [];
    const total = WARMUP_EVENTS + PACED_EVENTS;
    const received = (async () => {
      for await (const message of messages) {
        const data = message.data;
        const stamp = new DataView(data.buffer, data.byteOffset, data.byteLength).getBigUint64(
          0,
          true,
        );
        all.push(Number(nowNs() - stamp));
        if (all.length >= total) break;
      }
    })();
    await sleep(200);
    const started = performance.now();
    let sent = 0;
    while (sent < total) {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * RATE));
      while (sent < due) {
        const payload = new Uint8Array(SIZE).fill(0x6a);
        new DataView(payload.buffer).setBigUint64(0, nowNs(), true);
        session.nc.publish('bench.lat', payload);
        sent++;
      }
      await sleep(1);
    }
    const achieved = total / ((performance.now() - started) / 1000);
    await Promise.race([received, sleep(30_000)]);
    messages.stop();
    if (all.length < total) {
      throw new Error(`the consumer got ${all.length} of ${total} messages`);
    }
    // The first WARMUP_EVENTS warm the path up (JIT, consumer buffers) and are discarded.
    const samples = all.slice(WARMUP_EVENTS);
    for (const p of [50, 99] as const) {
      add({
        id: `replication.visible.p${p}`,
        group,
        label: `leader append → replica visible, p${p} at 10k events/s`,
        kind: 'jetstream',
        system: `${system}; core publish → ordered consumer`,
        value: percentile(samples, p) / 1e6,
        unit: 'ms',
        better: 'lower',
        note: `${PACED_EVENTS.toLocaleString('en')} messages (after ${WARMUP_EVENTS.toLocaleString('en')} discarded) at ${Math.round(achieved).toLocaleString('en')}/s; visible = delivered to a consumer`,
      });
    }
    // Sequential acknowledged publishes.
    const payload = new Uint8Array(SIZE).fill(0x6b);
    for (let i = 0; i < ACKED_WARMUP; i++) await session.js.publish('bench.ack', payload);
    const acked: number[] = [];
    for (let i = 0; i < ACKED_SAMPLES; i++) {
      const t0 = nowNs();
      await session.js.publish('bench.ack', payload);
      acked.push(Number(nowNs() - t0));
    }
    for (const p of [50, 99] as const) {
      add({
        id: `replication.acked.p${p}`,
        group,
        label: `acknowledged append (1 replica + leader), p${p}`,
        kind: 'jetstream',
        system: `${system}; sequential js.publish (PubAck after a quorum of 2)`,
        value: percentile(acked, p) / 1e6,
        unit: 'ms',
        better: 'lower',
        note: `${ACKED_SAMPLES.toLocaleString('en')} sequential publishes`,
      });
    }
  });
}

async function failover(binary: string, version: string): Promise<void> {
  const times: number[] = [];
  for (let round = 0; round < FAILOVER_ROUNDS; round++) times.push(await failoverRound(binary));
  add({
    id: 'failover',
    group: 'failover',
    label: 'leader SIGKILL → first write accepted by the new leader',
    kind: 'jetstream',
    system: `JetStream (${version}), 3 servers, R3 file stream; stream leader's server killed`,
    value: median(times),
    unit: 'ms',
    better: 'lower',
    note: `median of ${FAILOVER_ROUNDS} fresh clusters; ${spread(times)} ms`,
  });
}

const binary = findNatsServer();
if (binary === null) {
  const message =
    'bench:jetstream SKIPPED: nats-server is not installed (apt-get install -y nats-server, or set NATS_SERVER=/path/to/nats-server)';
  console.log(message);
  report('jetstream', [], { skipped: message, figures: [] });
} else {
  const version = natsServerVersion(binary).replace(/^nats-server:\s*/, 'nats-server ');
  if (wanted('throughput')) await throughput(binary, version);
  if (wanted('latency')) await latencies(binary, version);
  if (wanted('failover')) await failover(binary, version);
  report('jetstream', figures.map(figureRow), {
    nats: version,
    events: EVENTS,
    rounds: ROUNDS,
    pacedEvents: PACED_EVENTS,
    ackedSamples: ACKED_SAMPLES,
    failoverRounds: FAILOVER_ROUNDS,
    figures,
  });
}
