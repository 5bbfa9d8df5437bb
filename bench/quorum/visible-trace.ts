// `node --import tsx bench/quorum/visible-trace.ts` — where an event's time goes between a
// single append on the leader and its arrival at a tail on a replica, the path of bench:quorum's
// visible row (3 node processes, persistent, fsync 'never', 256 B, acks 'quorum', 10k/s). Each
// process records a timeline (bench/quorum/timeline.ts); this joins them by seq and splits every
// event's latency into the stages of the path:
//
//   append → announce   the leader's write of the group and its append announcement
//   announce → sent     the leader's step that answers the held request (the response frame)
//   sent → got          the frame's way to the replica and the replica's event loop reaching it
//   got → report        the replica's write and its tail report (a heartbeat to the leader)
//   report → commit     the first report's way to the leader and the leader's commit step
//   commit → told       the leader's frame that carries the commit to this replica leaving
//   told → got commit   that frame's way to the replica
//   got commit → shown  the replica's step and the tail's wake-up
//
// A stage is measured from the first record of its start to the first of its end, so the stages
// of one event add up to its latency (the commit may come from the other replica's report). Also:
// GC pauses that overlapped slow events, and each process's CPU over the round.
// Env: TRACE_EVENTS (per measured round, 10,000), TRACE_RATE (10,000/s), TRACE_ROUNDS (2).
// Timing-sensitive: run it under the shared benchmark lock.

import { BenchCluster, type NodeProcess, sleep } from '../cluster/cluster.js';
import { percentile } from '../report.js';
import { FIELDS, Kind } from './timeline.js';

const EVENTS = Number(process.env.TRACE_EVENTS ?? 10_000);
const RATE = Number(process.env.TRACE_RATE ?? 10_000);
const ROUNDS = Number(process.env.TRACE_ROUNDS ?? 2);
const SIZE = 256;

interface Timeline {
  readonly records: number[];
  readonly cpu: { user: number; system: number };
}

const low16 = (hexId: string): number => Number.parseInt(hexId.slice(-4), 16);

/** Time-ordered (time, value) pairs → for a seq, the first time a value above it was seen. */
class FirstAbove {
  readonly #times: number[] = [];
  readonly #maxes: number[] = [];
  add(time: number, value: number): void {
    const last = this.#maxes.at(-1) ?? Number.NEGATIVE_INFINITY;
    if (value <= last) return;
    this.#times.push(time);
    this.#maxes.push(value);
  }
  /** First time a value > seq was recorded, or NaN. */
  at(seq: number): number {
    let lo = 0;
    let hi = this.#maxes.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#maxes[mid]! > seq) hi = mid;
      else lo = mid + 1;
    }
    return lo < this.#times.length ? this.#times[lo]! : Number.NaN;
  }
}

/** First time each seq was carried by a response (first seq, count). */
function firstCarried(records: number[], kind: number, peer: number | null): Map<number, number> {
  const first = new Map<number, number>();
  for (let i = 0; i < records.length; i += FIELDS) {
    if (records[i + 1] !== kind || (peer !== null && records[i + 2] !== peer)) continue;
    const from = records[i + 3]!;
    for (let seq = from; seq < from + records[i + 4]!; seq++) {
      if (!first.has(seq)) first.set(seq, records[i]!);
    }
  }
  return first;
}

function byTime(records: number[]): number[] {
  const order: number[] = [];
  for (let i = 0; i < records.length; i += FIELDS) order.push(i);
  order.sort((a, b) => records[a]! - records[b]!);
  return order;
}

/** First time a frame of `kinds` (from/to `peer`, or any) carried a value above a seq. */
function firstAbove(
  records: number[],
  kinds: readonly number[],
  peer: number | null,
  field: number,
): FirstAbove {
  const out = new FirstAbove();
  for (const i of byTime(records)) {
    if (!kinds.includes(records[i + 1]!)) continue;
    if (peer !== null && records[i + 2] !== peer) continue;
    out.add(records[i]!, records[i + field]!);
  }
  return out;
}

const STAGES = [
  'append → announce',
  'announce → sent',
  'sent → got',
  'got → report',
  'report → commit',
  'commit → told',
  'told → got commit',
  'got commit → shown',
] as const;

interface Traced {
  readonly latency: number;
  readonly stages: number[];
  readonly start: number;
  readonly end: number;
}

function analyse(
  leader: Timeline,
  leaderId: number,
  replicas: { id: number; timeline: Timeline }[],
  wallNs: number,
): void {
  const L = leader.records;
  const counts = new Map<number, number>();
  for (let i = 0; i < L.length; i += FIELDS)
    counts.set(L[i + 1]!, (counts.get(L[i + 1]!) ?? 0) + 1);
  const acked = counts.get(Kind.Acked) ?? 0;
  const per = (kind: number) => (((counts.get(kind) ?? 0) / acked) * 1000).toFixed(0);
  console.log(
    `  leader per 1,000 appends: ${per(Kind.Announce)} announcements; out ${per(Kind.SentResponse)} ` +
      `responses, ${per(Kind.SentHeartbeat)} heartbeats; in ${per(Kind.GotRequest)} requests, ` +
      `${per(Kind.GotHeartbeat)} heartbeats`,
  );
  const announce = firstAbove(L, [Kind.Announce], null, 3);
  // The leader's commit: the first frame out that carried it (responses: field 5, heartbeats: 4).
  const commitOut = new FirstAbove();
  for (const i of byTime(L)) {
    const kind = L[i + 1];
    if (kind === Kind.SentHeartbeat) commitOut.add(L[i]!, L[i + 4]!);
    if (kind === Kind.SentResponse) commitOut.add(L[i]!, L[i + 5]!);
  }
  const reportIn = firstAbove(L, [Kind.GotHeartbeat], null, 3);
  const traced: Traced[] = [];
  for (const replica of replicas) {
    const R = replica.timeline.records;
    const sent = firstCarried(L, Kind.SentResponse, replica.id);
    const got = firstCarried(R, Kind.GotResponse, leaderId);
    const report = firstAbove(R, [Kind.SentHeartbeat], leaderId, 3);
    const toldOut = new FirstAbove();
    const toldIn = new FirstAbove();
    for (const i of byTime(L)) {
      if (L[i + 2] !== replica.id) continue;
      if (L[i + 1] === Kind.SentHeartbeat) toldOut.add(L[i]!, L[i + 4]!);
      if (L[i + 1] === Kind.SentResponse) toldOut.add(L[i]!, L[i + 5]!);
    }
    for (const i of byTime(R)) {
      if (R[i + 2] !== leaderId) continue;
      if (R[i + 1] === Kind.GotHeartbeat) toldIn.add(R[i]!, R[i + 4]!);
      if (R[i + 1] === Kind.GotResponse) toldIn.add(R[i]!, R[i + 5]!);
    }
    for (let i = 0; i < R.length; i += FIELDS) {
      if (R[i + 1] !== Kind.Visible) continue;
      const seq = R[i + 3]!;
      const stamp = R[i + 4]!;
      const shown = R[i]!;
      // The report that made the commit: the first from any replica, but never before this
      // replica's own copy was reported when that came first.
      const marks = [
        stamp,
        announce.at(seq),
        sent.get(seq) ?? Number.NaN,
        got.get(seq) ?? Number.NaN,
        Math.min(report.at(seq), reportIn.at(seq)),
        commitOut.at(seq),
        toldOut.at(seq),
        toldIn.at(seq),
        shown,
      ];
      if (marks.some((m) => Number.isNaN(m))) continue;
      // Clamp so the stages stay non-negative and add up (the other replica's report can come
      // before this one's response arrived).
      for (let m = 1; m < marks.length; m++) marks[m] = Math.max(marks[m]!, marks[m - 1]!);
      traced.push({
        latency: shown - stamp,
        stages: marks.slice(1).map((m, k) => m - marks[k]!),
        start: stamp,
        end: shown,
      });
    }
  }
  if (traced.length === 0) {
    console.log('  nothing traced');
    return;
  }
  const ms = (ns: number) => (ns / 1e6).toFixed(3);
  const lat = traced.map((t) => t.latency);
  console.log(
    `  traced ${traced.length} (seq, replica) pairs: visible p50 ${ms(percentile(lat, 50))} ms, ` +
      `p99 ${ms(percentile(lat, 99))} ms, max ${ms(Math.max(...lat))} ms`,
  );
  const p99 = percentile(lat, 99);
  const slow = traced.filter((t) => t.latency >= p99);
  const p50 = percentile(lat, 50);
  const mid = traced.filter((t) => t.latency <= p50);
  console.log('  stage                 all p50   all p99 | slowest 1 %: mean  share | ≤ p50: mean');
  STAGES.forEach((name, k) => {
    const all = traced.map((t) => t.stages[k]!);
    const slowMean = slow.reduce((s, t) => s + t.stages[k]!, 0) / slow.length;
    const slowTotal = slow.reduce((s, t) => s + t.latency, 0) / slow.length;
    const midMean = mid.reduce((s, t) => s + t.stages[k]!, 0) / mid.length;
    console.log(
      `  ${name.padEnd(20)} ${ms(percentile(all, 50)).padStart(8)} ${ms(percentile(all, 99)).padStart(9)} |` +
        `${ms(slowMean).padStart(20)} ${((slowMean / slowTotal) * 100).toFixed(0).padStart(5)} % |` +
        `${ms(midMean).padStart(12)}`,
    );
  });
  // GC pauses: per process, and how many slow events had one inside their window.
  const all = [
    { name: 'leader', t: leader },
    ...replicas.map((r, i) => ({ name: `replica${i + 1}`, t: r.timeline })),
  ];
  const pauses: { start: number; end: number }[] = [];
  for (const { name, t } of all) {
    const gc: number[] = [];
    // perf_hooks' kinds: 1 scavenge (young generation), 4 mark-compact, 8 incremental marking.
    const byKind = new Map<number, number>();
    for (let i = 0; i < t.records.length; i += FIELDS) {
      if (t.records[i + 1] !== Kind.Gc) continue;
      gc.push(t.records[i + 3]!);
      byKind.set(t.records[i + 4]!, (byKind.get(t.records[i + 4]!) ?? 0) + t.records[i + 3]!);
      pauses.push({ start: t.records[i]!, end: t.records[i]! + t.records[i + 3]! });
    }
    const total = gc.reduce((s, d) => s + d, 0);
    console.log(
      `  ${name}: GC ${gc.length} pauses, ${ms(total)} ms in all (${((total / wallNs) * 100).toFixed(1)} % of the round), ` +
        `max ${ms(Math.max(0, ...gc))} ms; ms by kind ${[...byKind].map(([k, d]) => `${k}: ${ms(d)}`).join(', ')}`,
    );
  }
  const slowWithGc = slow.filter((t) => pauses.some((p) => p.end > t.start && p.start < t.end));
  const gcInSlow =
    slow.reduce(
      (s, t) =>
        s +
        pauses.reduce(
          (g, p) => g + Math.max(0, Math.min(p.end, t.end) - Math.max(p.start, t.start)),
          0,
        ),
      0,
    ) / slow.reduce((s, t) => s + t.latency, 0);
  console.log(
    `  slowest 1 %: ${slowWithGc.length} of ${slow.length} overlap a GC pause of some process; ` +
      `GC time inside their windows ${(gcInSlow * 100).toFixed(1)} % of their latency`,
  );
}

const cluster = await BenchCluster.start({
  persistent: true,
  fsync: 'never',
  nicPeakBps: 1.25e9,
  replication: { heartbeatMs: 500 },
});
try {
  const leader: NodeProcess = await cluster.waitForLeader();
  const replicas = cluster.alive.filter((n) => n !== leader);
  const round = async (count: number, record: boolean) => {
    const base = (await leader.status()).nextSeq;
    const members = [leader, ...replicas];
    if (record) await Promise.all(members.map((n) => n.request({ op: 'timelineStart' })));
    const cpuBefore = await Promise.all(members.map((n) => n.request({ op: 'stats' })));
    const tails = replicas.map((r) =>
      r.request({ op: 'timelineTail', fromSeq: base, count, timeoutMs: 30_000 }),
    );
    await sleep(50);
    const started = process.hrtime.bigint();
    const paced = await leader.request({ op: 'timelinePaced', rate: RATE, count, size: SIZE });
    await Promise.all(tails);
    const wallNs = Number(process.hrtime.bigint() - started);
    if (!record) return;
    const dumps = (await Promise.all(
      members.map((n) => n.request({ op: 'timelineDump' })),
    )) as unknown as Timeline[];
    console.log(
      `round: ${count} appends at ${Math.round(Number(paced.achievedRate))}/s, ${paced.failed} failed`,
    );
    members.forEach((_n, i) => {
      const before = cpuBefore[i]!.cpu as { user: number; system: number };
      const after = dumps[i]!.cpu;
      const busy = (after.user + after.system - before.user - before.system) * 1000;
      console.log(
        `  ${i === 0 ? 'leader' : `replica${i}`}: busy ${((busy / wallNs) * 100).toFixed(0)} % of a core, ` +
          `${(busy / 1e6 / (count / 1000)).toFixed(1)} ms CPU per 1,000 appends`,
      );
    });
    analyse(
      dumps[0]!,
      low16(leader.nodeId),
      replicas.map((r, i) => ({ id: low16(r.nodeId), timeline: dumps[i + 1]! })),
      wallNs,
    );
  };
  await round(3_000, false);
  for (let r = 0; r < ROUNDS; r++) await round(EVENTS, true);
} finally {
  await cluster.close();
}
