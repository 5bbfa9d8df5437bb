// Thousands of channels (`npm run bench:channels`): three node processes on loopback (mutual TLS,
// like bench/cluster/), each opening the same N replicated channels; then the idle cost of
// keeping them replicated, and the failover of every channel one SIGKILLed node led.
//
// Per N it reports: open time (slowest node), time until every channel has an agreed leader,
// idle CPU % of one core per node (process.cpuUsage over the window), RSS, mesh frames sent per
// second per node, heartbeats carried per frame, spurious elections (pre-votes started while
// idle, summed over nodes; a planned leadership transfer is not one), leaders per node, and
// failover time (SIGKILL → every channel the dead node led has a new leader on a survivor).
//
// Environment: BENCH_CHANNELS (comma list, default "100,1000,10000"), BENCH_IDLE_S (idle window,
// default 20), BENCH_IDLE_WAIT_S (wait between settling and the window, default 2; the preferred
// members take their channels back meanwhile), BENCH_HEARTBEAT_MS (default 500, the production default), BENCH_PERSISTENT ("0"
// for in-memory channels; default persistent, fsync never), BENCH_COALESCE ("0": one frame per heartbeat,
// one timer per channel, the behaviour before), BENCH_NODE_BEATS ("0": every heartbeat every period,
// every channel's full tick, the behaviour before node beats), BENCH_OPEN_CONCURRENCY (default 64;
// the children run with UV_THREADPOOL_SIZE=64 unless set), BENCH_CPU_PROF (a directory: the
// surviving children write V8 CPU profiles there when they stop), BENCH_FAILOVER_PROF (a directory:
// the survivors profile the failover window only, from the SIGKILL until every channel is taken
// over or the wait ends, into failover-<node>.cpuprofile; their election tallies, timelines
// (bench/channels/failover-watch.ts) and CPU in the window follow on stderr in any case),
// BENCH_IDLE_PROF (a directory: every node profiles the idle window only, into idle-<node>.cpuprofile),
// BENCH_OPEN_PROF (a directory: every node profiles its open only, into open-<node>-<N>.cpuprofile).

import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initCa, issueNodeCert } from '../src/mesh/certs.js';
import type { ChannelsCommand } from './channels/channel-node.js';

const COUNTS = (process.env.BENCH_CHANNELS ?? '100,1000,10000')
  .split(',')
  .map((s) => Number(s.trim()))
  .filter((n) => Number.isSafeInteger(n) && n > 0);
const IDLE_S = Number(process.env.BENCH_IDLE_S ?? 20);
const IDLE_WAIT_S = Number(process.env.BENCH_IDLE_WAIT_S ?? 2);
const HEARTBEAT_MS = Number(process.env.BENCH_HEARTBEAT_MS ?? 500);
const PERSISTENT = process.env.BENCH_PERSISTENT !== '0';
const COALESCE = process.env.BENCH_COALESCE !== '0';
const NODE_BEATS = process.env.BENCH_NODE_BEATS !== '0';
const CONCURRENCY = Number(process.env.BENCH_OPEN_CONCURRENCY ?? 64);
/** How long the nodes get to close their channels at the end of a row before they are killed. */
const STOP_WAIT_MS = 30_000;
const CPU_PROF_DIR = process.env.BENCH_CPU_PROF;
const FAILOVER_PROF_DIR = process.env.BENCH_FAILOVER_PROF;
const IDLE_PROF_DIR = process.env.BENCH_IDLE_PROF;
const OPEN_PROF_DIR = process.env.BENCH_OPEN_PROF;
const CHILD = join(import.meta.dirname, 'channels', 'channel-node.ts');

type Reply = Record<string, unknown> & { ok: boolean; error?: string };
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

class Child {
  readonly name: string;
  readonly process: ChildProcess;
  port = 0;
  #next = 1;
  #exit: string | null = null;
  readonly #waiting = new Map<number, (reply: Reply) => void>();

  constructor(name: string) {
    this.name = name;
    this.process = fork(CHILD, [], {
      execArgv: [
        '--import',
        'tsx',
        ...(CPU_PROF_DIR === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF_DIR}`]),
      ],
      // Opens wait on fsyncs; libuv's default 4 threads would serialize them whatever the concurrency.
      env: { ...process.env, UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? '64' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.process.on('message', (message: Reply & { id: number }) => {
      this.#waiting.get(message.id)?.(message);
      this.#waiting.delete(message.id);
    });
    this.process.on('exit', (code, signal) => {
      this.#exit = `exited (code ${code}, signal ${signal})`;
      for (const resolve of this.#waiting.values()) resolve({ ok: false, error: this.#exit });
      this.#waiting.clear();
    });
  }

  get alive(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  async ask(command: ChannelsCommand): Promise<Reply> {
    // A message to a child that already exited would wait for a reply forever.
    if (this.#exit !== null) throw new Error(`${this.name} ${command.op}: ${this.#exit}`);
    const id = this.#next++;
    const reply = await new Promise<Reply>((resolve) => {
      this.#waiting.set(id, resolve);
      this.process.send({ id, ...command });
    });
    if (!reply.ok) throw new Error(`${this.name} ${command.op}: ${reply.error}`);
    return reply;
  }
}

interface Sample {
  cpu: { user: number; system: number };
  rss: number;
  framesOut: number;
  heartbeats: { heartbeatsQueued: number; heartbeatFrames: number };
  counters: {
    candidate: number;
    leader: number;
    lost: number;
    preVotes: number;
    transfers: number;
  };
  steps: { fullTicks: number; heartbeatsIn: number };
  atMs: number;
}

interface Row {
  channels: number;
  openMs: number;
  settleMs: number;
  /** Channels each node leads once every channel has an agreed leader, and after the idle window. */
  leadersPerNode: number[];
  leadersAfterIdle: number[];
  idleCpuPct: number[];
  /** Idle CPU per channel per heartbeat period, µs, per node. */
  cpuUsPerChannelPeriod: number[];
  /** Channel steps (full ticks and inbound heartbeats) per channel per period, per node. */
  stepsPerChannelPeriod: number[];
  /** Of those, full ticks per channel per period, per node. */
  fullTicksPerChannelPeriod: number[];
  /** Heartbeats sent per channel per period, per node (node beats stand for the rest). */
  heartbeatsOutPerChannelPeriod: number[];
  /** Leadership transfers started during the idle window (the preferred member taking back). */
  idleTransfers: number;
  rssMb: number[];
  framesPerS: number[];
  heartbeatsPerFrame: number;
  spuriousElections: number;
  failoverMs: number | null;
  failedOverChannels: number;
}

/** `after − before` for each numeric field, nested records included. */
/** Each node's election tallies gained between two samples, on one stderr line. */
function reportElections(label: string, before: readonly object[], after: readonly object[]): void {
  // The children's samples carry their election tallies under `elections`.
  const electionsOf = (sample: object | undefined) =>
    (sample as { elections?: Record<string, unknown> } | undefined)?.elections;
  const during = after.map((sample, i) =>
    tallyDifference(electionsOf(sample) ?? {}, electionsOf(before[i])),
  );
  process.stderr.write(`${label}: ${during.map((e) => JSON.stringify(e)).join(' ')}\n`);
}

/** Starts a CPU profile in each of `nodes` when a profile directory is set. */
async function startProfiles(nodes: readonly Child[], dir: string | undefined): Promise<void> {
  if (dir === undefined) return;
  await Promise.all(nodes.map((c) => c.ask({ op: 'profile-start' })));
}

/** Stops them: `<window>-<node>-<count>.cpuprofile` in `dir`. */
async function stopProfiles(
  nodes: readonly Child[],
  dir: string | undefined,
  window: string,
  count: number,
): Promise<void> {
  if (dir === undefined) return;
  await Promise.all(
    nodes.map((c) =>
      c.ask({ op: 'profile-stop', path: join(dir, `${window}-${c.name}-${count}.cpuprofile`) }),
    ),
  );
}

function tallyDifference(
  after: Record<string, unknown>,
  before: Record<string, unknown> | undefined,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(after)) {
    const was = before?.[key];
    if (typeof value === 'number') out[key] = value - (typeof was === 'number' ? was : 0);
    else if (typeof value === 'object' && value !== null)
      out[key] = tallyDifference(
        value as Record<string, unknown>,
        was as Record<string, unknown> | undefined,
      );
  }
  return out;
}

async function run(count: number): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), 'redex-bench-channels-'));
  const names = ['n1', 'n2', 'n3'];
  const children: Child[] = [];
  try {
    await initCa(join(dir, 'certs'));
    for (const name of names) await issueNodeCert(join(dir, 'certs'), name);
    for (const name of names) {
      const child = new Child(name);
      children.push(child);
      const started = await child.ask({
        op: 'start',
        name,
        certsDir: join(dir, 'certs'),
        members: names,
        coalesce: COALESCE,
        nodeBeats: NODE_BEATS,
        ...(PERSISTENT ? { dataDir: join(dir, `data-${name}`) } : {}),
      });
      child.port = Number(started.port);
    }
    const peers = children.map((c) => ({ host: '127.0.0.1', port: c.port }));
    await Promise.all(children.map((c) => c.ask({ op: 'dial', peers })));
    // Connected before the opens: thousands of channels opening at once can starve the handshakes.
    const dialStart = performance.now();
    for (;;) {
      const roles = await Promise.all(children.map((c) => c.ask({ op: 'roles' })));
      if (roles.every((r) => Number(r.connected) === names.length - 1)) break;
      if (performance.now() - dialStart > 30_000) throw new Error('peers not connected in 30 s');
      await sleep(50);
    }

    await startProfiles(children, OPEN_PROF_DIR);
    const opened = await Promise.all(
      children.map((c) =>
        c.ask({ op: 'open', count, heartbeatMs: HEARTBEAT_MS, concurrency: CONCURRENCY }),
      ),
    );
    await stopProfiles(children, OPEN_PROF_DIR, 'open', count);
    const openMs = Math.max(...opened.map((r) => Number(r.openMs)));
    // Where each node's open went: its own CPU against the wall time (the rest is waiting).
    process.stderr.write(
      `open per node: ${opened.map((r, i) => `${children[i]?.name} ${(Number(r.openMs) / 1000).toFixed(2)} s wall, ${(Number(r.cpuMs) / 1000).toFixed(2)} s CPU`).join('; ')}\n`,
    );

    const settleStart = performance.now();
    const settleLimitMs = 60_000 + count * 10;
    let leadersPerNode: number[] = [];
    let lastProgress = settleStart;
    for (;;) {
      const roles = await Promise.all(children.map((c) => c.ask({ op: 'roles' })));
      leadersPerNode = roles.map((r) => Number(r.leader));
      const leaders = leadersPerNode.reduce((sum, n) => sum + n, 0);
      if (leaders === count && roles.every((r) => Number(r.agreed) === count)) break;
      // A long election shows where it is (stderr, every 5 s).
      if (performance.now() - lastProgress > 5_000) {
        lastProgress = performance.now();
        const s = ((lastProgress - settleStart) / 1000).toFixed(0);
        const tally = roles.map(
          (r) =>
            `${r.leader}L/${r.replica}R/${r.candidate}C/${r.agreed}A ${r.connected} up (timeouts: idle ${r.idleTimeouts}, handshake ${r.handshakeTimeouts})`,
        );
        process.stderr.write(`settling ${s} s: ${tally.join('  ')}\n`);
        if (process.env.BENCH_PROBE !== undefined) {
          const index = Number(process.env.BENCH_PROBE);
          const probes = await Promise.all(children.map((c) => c.ask({ op: 'probe', index })));
          for (const probe of probes) process.stderr.write(`probe ${JSON.stringify(probe)}\n`);
        }
      }
      if (performance.now() - settleStart > settleLimitMs) {
        throw new Error(`not settled after ${settleLimitMs} ms: ${JSON.stringify(roles)}`);
      }
      await sleep(100);
    }
    const settleMs = performance.now() - settleStart;
    const tallies = await Promise.all(children.map((c) => c.ask({ op: 'sample' })));
    process.stderr.write(
      `settled in ${(settleMs / 1000).toFixed(1)} s; elections per node since the start: ${tallies.map((t) => JSON.stringify(t.elections)).join(' ')}\n`,
    );

    // Idle: a few periods for the last announcements to drain, and until the preferred members
    // took their channels back (no transfer started for 4 periods; at most 2 minutes), then the
    // measured window.
    await sleep(Math.max(IDLE_WAIT_S * 1000, 4 * HEARTBEAT_MS));
    const quietStart = performance.now();
    let transfersSeen = -1;
    for (;;) {
      const samples = (await Promise.all(
        children.map((c) => c.ask({ op: 'sample' })),
      )) as unknown as Sample[];
      const transfers = samples.reduce((sum, s) => sum + s.counters.transfers, 0);
      if (transfers === transfersSeen || performance.now() - quietStart > 120_000) break;
      if (transfersSeen >= 0) {
        process.stderr.write(`transfers back to preferred members: ${transfers}\n`);
      }
      transfersSeen = transfers;
      await sleep(4 * HEARTBEAT_MS);
    }
    await startProfiles(children, IDLE_PROF_DIR);
    const before = (await Promise.all(
      children.map((c) => c.ask({ op: 'sample' })),
    )) as unknown as Sample[];
    await sleep(IDLE_S * 1000);
    const after = (await Promise.all(
      children.map((c) => c.ask({ op: 'sample' })),
    )) as unknown as Sample[];
    await stopProfiles(children, IDLE_PROF_DIR, 'idle', count);
    const idleCpuPct: number[] = [];
    const cpuUsPerChannelPeriod: number[] = [];
    const stepsPerChannelPeriod: number[] = [];
    const fullTicksPerChannelPeriod: number[] = [];
    const heartbeatsOutPerChannelPeriod: number[] = [];
    let idleTransfers = 0;
    const framesPerS: number[] = [];
    let spuriousElections = 0;
    let heartbeats = 0;
    let frames = 0;
    for (let i = 0; i < children.length; i++) {
      const a = before[i] as Sample;
      const b = after[i] as Sample;
      const windowMs = b.atMs - a.atMs;
      const cpuUs = b.cpu.user + b.cpu.system - a.cpu.user - a.cpu.system;
      idleCpuPct.push((cpuUs / 1000 / windowMs) * 100);
      const periods = windowMs / HEARTBEAT_MS;
      cpuUsPerChannelPeriod.push(cpuUs / count / periods);
      const steps =
        b.steps.fullTicks - a.steps.fullTicks + b.steps.heartbeatsIn - a.steps.heartbeatsIn;
      stepsPerChannelPeriod.push(steps / count / periods);
      fullTicksPerChannelPeriod.push((b.steps.fullTicks - a.steps.fullTicks) / count / periods);
      const sent = b.heartbeats.heartbeatsQueued - a.heartbeats.heartbeatsQueued;
      heartbeatsOutPerChannelPeriod.push(sent / count / periods);
      idleTransfers += b.counters.transfers - a.counters.transfers;
      framesPerS.push(((b.framesOut - a.framesOut) / windowMs) * 1000);
      spuriousElections += b.counters.preVotes - a.counters.preVotes;
      heartbeats += b.heartbeats.heartbeatsQueued - a.heartbeats.heartbeatsQueued;
      frames += b.heartbeats.heartbeatFrames - a.heartbeats.heartbeatFrames;
    }
    if (spuriousElections > 0) {
      reportElections('elections in the idle window per node', before, after);
    }
    const rssMb = after.map((s) => s.rss / 2 ** 20);
    const leadersAfterIdle = (await Promise.all(children.map((c) => c.ask({ op: 'roles' })))).map(
      (r) => Number(r.leader),
    );

    // Failover: SIGKILL the first node; time until survivors lead everything it led.
    const victim = children[0] as Child;
    const led = (await victim.ask({ op: 'led' })).names as string[];
    const survivors = children.slice(1);
    await startProfiles(survivors, FAILOVER_PROF_DIR);
    const talliesBefore = await Promise.all(survivors.map((c) => c.ask({ op: 'sample' })));
    await Promise.all(survivors.map((c) => c.ask({ op: 'failover-watch', names: led })));
    const killedAt = performance.now();
    victim.process.kill('SIGKILL');
    let failoverMs: number | null = null;
    let lastFailoverReport = killedAt;
    while (performance.now() - killedAt < 30_000 + count * 5) {
      const answers = await Promise.all(survivors.map((c) => c.ask({ op: 'failover-led' })));
      const taken = answers.reduce((sum, r) => sum + Number(r.led), 0);
      if (taken >= led.length) {
        failoverMs = performance.now() - killedAt;
        break;
      }
      if (performance.now() - lastFailoverReport > 5_000) {
        lastFailoverReport = performance.now();
        const s = ((lastFailoverReport - killedAt) / 1000).toFixed(0);
        process.stderr.write(`failover ${s} s: ${taken}/${led.length} taken over\n`);
      }
      await sleep(25);
    }
    // The survivors' elections during the failover (differences of the tallies since the start).
    const talliesAfter = await Promise.all(survivors.map((c) => c.ask({ op: 'sample' })));
    reportElections('failover elections per survivor', talliesBefore, talliesAfter);
    // Each survivor's timeline (ms since the kill; failover-watch.ts) and CPU in the window.
    for (const [i, c] of survivors.entries()) {
      const { report } = await c.ask({ op: 'failover-report' });
      const a = talliesBefore[i] as unknown as Sample;
      const b = talliesAfter[i] as unknown as Sample;
      const cpuMs = (b.cpu.user + b.cpu.system - a.cpu.user - a.cpu.system) / 1000;
      const windowMs = b.atMs - a.atMs;
      const cpu = `CPU ${cpuMs.toFixed(0)} ms in ${windowMs.toFixed(0)} ms (${((100 * cpuMs) / windowMs).toFixed(0)} % of a core)`;
      process.stderr.write(`failover timeline ${c.name}: ${cpu} ${JSON.stringify(report)}\n`);
    }
    await stopProfiles(survivors, FAILOVER_PROF_DIR, 'failover', count);
    return {
      channels: count,
      openMs,
      settleMs,
      leadersPerNode,
      leadersAfterIdle,
      idleCpuPct,
      cpuUsPerChannelPeriod,
      stepsPerChannelPeriod,
      fullTicksPerChannelPeriod,
      heartbeatsOutPerChannelPeriod,
      idleTransfers,
      rssMb,
      framesPerS,
      heartbeatsPerFrame: frames === 0 ? 0 : heartbeats / frames,
      spuriousElections,
      failoverMs,
      failedOverChannels: led.length,
    };
  } finally {
    // Closing thousands of channels on a starved node can take minutes; the row is measured by
    // then, so the nodes get a bounded time to stop and are killed after it.
    const stopped = Promise.all(
      children.filter((c) => c.alive).map((c) => c.ask({ op: 'stop' }).catch(() => {})),
    );
    const inTime = await Promise.race([
      stopped.then(() => true),
      sleep(STOP_WAIT_MS).then(() => false),
    ]);
    if (!inTime) process.stderr.write(`nodes not stopped after ${STOP_WAIT_MS / 1000} s: killed\n`);
    for (const child of children) if (child.alive) child.process.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

const fmt = (values: number[], digits = 1) => values.map((v) => v.toFixed(digits)).join(' / ');

console.log(
  `# many channels: heartbeat ${HEARTBEAT_MS} ms, idle window ${IDLE_S} s, ${PERSISTENT ? 'persistent (fsync never)' : 'in memory'}, open concurrency ${CONCURRENCY}, coalesced heartbeats ${COALESCE ? 'on' : 'off'}, node beats ${COALESCE && NODE_BEATS ? 'on' : 'off'}`,
);
const rows: Row[] = [];
for (const count of COUNTS) {
  const row = await run(count);
  rows.push(row);
  console.log(
    [
      `N=${row.channels}`,
      `open ${(row.openMs / 1000).toFixed(2)} s`,
      `settle ${(row.settleMs / 1000).toFixed(2)} s`,
      `leaders ${row.leadersPerNode.join(' / ')} (after idle ${row.leadersAfterIdle.join(' / ')})`,
      `idle CPU % ${fmt(row.idleCpuPct)}`,
      `CPU µs/channel/period ${fmt(row.cpuUsPerChannelPeriod)}`,
      `steps/channel/period ${fmt(row.stepsPerChannelPeriod, 2)}`,
      `full ticks/channel/period ${fmt(row.fullTicksPerChannelPeriod, 3)}`,
      `heartbeats out/channel/period ${fmt(row.heartbeatsOutPerChannelPeriod, 3)}`,
      `idle transfers ${row.idleTransfers}`,
      `RSS MB ${fmt(row.rssMb, 0)}`,
      `frames/s ${fmt(row.framesPerS)}`,
      `heartbeats/frame ${row.heartbeatsPerFrame.toFixed(0)}`,
      `spurious elections ${row.spuriousElections}`,
      `failover ${row.failoverMs === null ? 'TIMEOUT' : `${row.failoverMs.toFixed(0)} ms`} (${row.failedOverChannels} channels)`,
    ].join(' | '),
  );
}
console.log(
  JSON.stringify({ heartbeatMs: HEARTBEAT_MS, idleS: IDLE_S, persistent: PERSISTENT, rows }),
);
process.exit(0);
