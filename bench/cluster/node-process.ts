// One RedEX node in its own process, driven by the benchmark harness over the IPC channel
// (`child_process.fork`). The harness (bench/cluster/cluster.ts) starts three of these, tells each
// where the others listen, and then sends commands: load the leader, wait on a replica until a seq
// is present, measure tail latency, acknowledged appends, failover write attempts, and the
// bench:quorum loops (quorum-ops.ts: timed inside this process, so the IPC hop is in no figure).
// Every reply carries the request's `id`. Times are `process.hrtime.bigint()` values,
// CLOCK_MONOTONIC on Linux, so they compare across the processes of one machine.
//
// Diagnostics, used to find what the latency gap to its target was made of (docs/BENCHMARKS.md):
// `stats` (transport and runtime counters, CPU time), `profileStart`/`profileStop` (a CPU profile
// of a window, through the inspector, without start-up), `trace`/`traceDump` (per response frame:
// append → send on the leader, append → arrival on a replica).
//
// The process exits when the harness says `stop`, when the IPC channel closes (the harness died),
// or when it is killed (the failover benchmark SIGKILLs the leader).

import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { type StartedMeshNode, startMeshNode } from '../../src/cluster/start-node.js';
import type { RedexFile } from '../../src/log/redex-file.js';
import type { ReplicationConfigInput } from '../../src/replication/config.js';
import { Role } from '../../src/wire/types.js';
import {
  dumpTimeline,
  installTimeline,
  startTimeline,
  timelinePaced,
  timelineTail,
} from '../quorum/timeline.js';
import { quorumBatches, quorumPaced, quorumSequential, quorumWriters } from './quorum-ops.js';

export interface StartCommand {
  readonly op: 'start';
  readonly name: string;
  readonly certsDir: string;
  readonly members: readonly string[];
  readonly channel: string;
  /** Absent: the channel is in memory. */
  readonly dataDir?: string;
  readonly fsync?: 'never' | 'always' | { readonly intervalMs: number };
  readonly replication: ReplicationConfigInput;
  readonly nicPeakBps?: number;
}

export type Command =
  | StartCommand
  | { readonly op: 'dial'; readonly peers: readonly { host: string; port: number }[] }
  | { readonly op: 'status' }
  | { readonly op: 'load'; readonly count: number; readonly batch: number; readonly size: number }
  | { readonly op: 'waitSeq'; readonly seq: number; readonly timeoutMs: number }
  | {
      readonly op: 'latencyTail';
      readonly fromSeq: number;
      readonly count: number;
      /** Ends the tail early (what it has, `timedOut: true`), e.g. when a round lost its leader. */
      readonly timeoutMs?: number;
    }
  | {
      readonly op: 'paced';
      readonly rate: number;
      readonly count: number;
      readonly size: number;
    }
  | {
      readonly op: 'acked';
      readonly samples: number;
      readonly size: number;
      readonly count: number;
    }
  | { readonly op: 'writeLoop'; readonly size: number; readonly timeoutMs: number }
  | {
      readonly op: 'quorumBatches';
      readonly batch: number;
      readonly inFlight: number;
      readonly durationMs: number;
      readonly size: number;
    }
  | {
      readonly op: 'quorumWriters';
      readonly writers: number;
      readonly durationMs: number;
      readonly size: number;
    }
  | { readonly op: 'quorumSequential'; readonly samples: number; readonly size: number }
  | {
      readonly op: 'quorumPaced';
      readonly rate: number;
      readonly count: number;
      readonly size: number;
    }
  | { readonly op: 'stats' }
  // bench/quorum/visible-trace.ts: a timeline of the visible-latency path (bench/quorum/timeline.ts).
  | { readonly op: 'timelineStart' }
  | { readonly op: 'timelineDump' }
  | {
      readonly op: 'timelineTail';
      readonly fromSeq: number;
      readonly count: number;
      readonly timeoutMs: number;
    }
  | {
      readonly op: 'timelinePaced';
      readonly rate: number;
      readonly count: number;
      readonly size: number;
    }
  | { readonly op: 'trace' }
  | { readonly op: 'traceDump' }
  | { readonly op: 'profileStart' }
  | { readonly op: 'profileStop'; readonly path: string }
  | { readonly op: 'stop' };

export type Request = Command & { readonly id: number };

export interface StatusReply {
  readonly role: Role;
  readonly nextSeq: number;
  readonly connected: number;
}

let node: StartedMeshNode | null = null;
const traceSent: number[] = [];
const traceArrived: number[] = [];
const traceNotify: number[] = [];
const traceNotifyToSend: number[] = [];
let file: RedexFile | null = null;

const now = (): bigint => process.hrtime.bigint();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function reply(id: number, body: Record<string, unknown>): void {
  process.send?.({ id, ...body }, (error: Error | null) => {
    if (error !== null) process.exit(1);
  });
}

function theFile(): RedexFile {
  if (file === null) throw new Error('node not started');
  return file;
}

function role(): Role {
  return node?.replicator.channel(theFile().name)?.role ?? Role.Idle;
}

function stampedPayload(size: number): Uint8Array {
  const payload = new Uint8Array(Math.max(size, 8)).fill(0x72);
  new DataView(payload.buffer).setBigUint64(0, now(), true);
  return payload;
}

async function start(command: StartCommand): Promise<Record<string, unknown>> {
  node = await startMeshNode({
    name: command.name,
    certsDir: command.certsDir,
    members: command.members.map((name) => ({ name })),
    ...(command.dataDir === undefined ? {} : { dataDir: command.dataDir }),
    ...(command.nicPeakBps === undefined ? {} : { nicPeakBps: command.nicPeakBps }),
    // Heartbeats under the 100 ms production floor are not used by the benchmarks.
  });
  file = await node.redex.openFile(command.channel, {
    replication: command.replication,
    tailBufferSize: 1 << 20,
    ...(command.dataDir === undefined ? {} : { persistent: true, fsync: command.fsync ?? 'never' }),
  });
  return {
    nodeId: node.nodeId.toString(16),
    host: node.address.host,
    port: node.address.port,
  };
}

/** Appends `count` events of `size` bytes in batches, as fast as the leader takes them. */
async function load(count: number, batch: number, size: number): Promise<Record<string, unknown>> {
  const target = theFile();
  const payload = new Uint8Array(size).fill(0x6c);
  const payloads = Array.from({ length: batch }, () => payload);
  const started = now();
  // A few writers in flight so a persistent file can group-commit while the previous write runs.
  let remaining = count;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (remaining > 0) {
        const n = Math.min(batch, remaining);
        remaining -= n;
        await target.appendBatch(n === batch ? payloads : payloads.slice(0, n));
      }
    }),
  );
  return { startedNs: started.toString(), endedNs: now().toString(), nextSeq: target.nextSeq };
}

async function waitSeq(seq: number, timeoutMs: number): Promise<Record<string, unknown>> {
  const target = theFile();
  const deadline = performance.now() + timeoutMs;
  const openedNs = now();
  while (target.nextSeq < seq) {
    if (performance.now() > deadline) {
      return { timedOut: true, nextSeq: target.nextSeq, openedNs: openedNs.toString() };
    }
    await sleep(1);
  }
  return { reachedNs: now().toString(), nextSeq: target.nextSeq, openedNs: openedNs.toString() };
}

/** Tails from `fromSeq` and records, per event, now − the stamp in its first 8 bytes (ns). */
async function latencyTail(
  fromSeq: number,
  count: number,
  timeoutMs?: number,
): Promise<Record<string, unknown>> {
  const signal = timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs);
  const tail = theFile().tail({ fromSeq, ...(signal === undefined ? {} : { signal }) });
  const samples: number[] = [];
  try {
    for await (const event of tail) {
      const stamp = new DataView(
        event.payload.buffer,
        event.payload.byteOffset,
        event.payload.byteLength,
      ).getBigUint64(0, true);
      samples.push(Number(now() - stamp));
      if (samples.length >= count) break;
    }
  } catch (error) {
    if (signal?.aborted !== true) throw error;
    return { samples, timedOut: true };
  }
  return { samples };
}

/** Single appends at a fixed rate (a timer every ms appends what is due), stamped with hrtime. */
async function paced(rate: number, count: number, size: number): Promise<Record<string, unknown>> {
  const target = theFile();
  const started = performance.now();
  let sent = 0;
  let behindMax = 0;
  while (sent < count) {
    const due = Math.min(count, Math.floor(((performance.now() - started) / 1000) * rate));
    behindMax = Math.max(behindMax, due - sent);
    const writes: Promise<number>[] = [];
    while (sent < due) {
      // The row measures leader append → replica visible, not the acknowledgement.
      writes.push(target.append(stampedPayload(size), { acks: 'leader' }));
      sent++;
    }
    await Promise.all(writes);
    await sleep(1);
  }
  const elapsedS = (performance.now() - started) / 1000;
  return { achievedRate: count / elapsedS, behindMax };
}

/** Sequential `append` + `waitForReplicas(seq, { count })`: one latency sample per event (ns). */
async function acked(
  samples: number,
  size: number,
  count: number,
): Promise<Record<string, unknown>> {
  const target = theFile();
  const payload = new Uint8Array(size).fill(0x61);
  const latencies: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = now();
    // Resolves once committed (a majority: leader + 1 of 2), then the count asked for.
    const seq = await target.append(payload, { acks: 'quorum' });
    await target.waitForReplicas(seq, { count, timeoutMs: 10_000 });
    latencies.push(Number(now() - t0));
  }
  return { samples: latencies };
}

/** Tries an append every millisecond until one is accepted; reports when. */
async function writeLoop(size: number, timeoutMs: number): Promise<Record<string, unknown>> {
  const target = theFile();
  const payload = new Uint8Array(size).fill(0x66);
  const deadline = performance.now() + timeoutMs;
  let attempts = 0;
  while (performance.now() < deadline) {
    attempts++;
    if (role() === Role.Leader) {
      try {
        const seq = await target.append(payload);
        return { acceptedNs: now().toString(), seq, attempts };
      } catch {
        // lost the role between the check and the append: try again
      }
    }
    await sleep(1);
  }
  return { timedOut: true, attempts };
}

// A CPU profile of a window of the benchmark (not of start-up), through the inspector.
let profiler: Session | null = null;

async function profileStart(): Promise<void> {
  profiler = new Session();
  profiler.connect();
  await profiler.post('Profiler.enable');
  await profiler.post('Profiler.setSamplingInterval', { interval: 200 });
  await profiler.post('Profiler.start');
}

async function profileStop(path: string): Promise<void> {
  if (profiler === null) throw new Error('no profile running');
  const { profile } = await profiler.post('Profiler.stop');
  writeFileSync(path, JSON.stringify(profile));
  profiler.disconnect();
  profiler = null;
}

async function stop(): Promise<void> {
  const started = node;
  node = null;
  file = null;
  await started?.close();
}

async function handle(request: Request): Promise<Record<string, unknown>> {
  switch (request.op) {
    case 'start':
      return start(request);
    case 'dial': {
      if (node === null) throw new Error('node not started');
      const self = node;
      for (const peer of request.peers) {
        if (peer.port !== self.address.port) self.transport.addPeer(peer);
      }
      return {};
    }
    case 'status': {
      const status: StatusReply = {
        role: role(),
        nextSeq: theFile().nextSeq,
        connected: node?.transport.connectedPeers().length ?? 0,
      };
      return { ...status };
    }
    case 'load':
      return load(request.count, request.batch, request.size);
    case 'waitSeq':
      return waitSeq(request.seq, request.timeoutMs);
    case 'latencyTail':
      return latencyTail(request.fromSeq, request.count, request.timeoutMs);
    case 'paced':
      return paced(request.rate, request.count, request.size);
    case 'acked':
      return acked(request.samples, request.size, request.count);
    case 'writeLoop':
      return writeLoop(request.size, request.timeoutMs);
    case 'quorumBatches':
      return {
        ...(await quorumBatches(
          theFile(),
          request.batch,
          request.inFlight,
          request.durationMs,
          request.size,
        )),
      };
    case 'quorumWriters':
      return {
        ...(await quorumWriters(theFile(), request.writers, request.durationMs, request.size)),
      };
    case 'quorumSequential':
      return quorumSequential(theFile(), request.samples, request.size);
    case 'quorumPaced':
      return quorumPaced(theFile(), request.rate, request.count, request.size);
    case 'trace': {
      if (node === null) throw new Error('node not started');
      const transport = node.transport;
      const send = transport.send.bind(transport);
      const stampOf = (frame: Uint8Array) =>
        frame.length >= 83 && frame[2] === 0x21
          ? new DataView(frame.buffer, frame.byteOffset + 75, 8).getBigUint64(0, true)
          : null;
      transport.send = (to, frame) => {
        const stamp = stampOf(frame);
        if (stamp !== null) {
          traceSent.push(Number(now() - stamp));
          const last = traceNotify.at(-1);
          if (last !== undefined) traceNotifyToSend.push(Number(now()) - last);
        }
        return send(to, frame);
      };
      const handle = node.replicator.channel(theFile().name)?.handle ?? null;
      if (handle !== null) {
        const runtime = handle.runtime as unknown as { notifyAppended(): void };
        const notify = runtime.notifyAppended.bind(runtime);
        runtime.notifyAppended = () => {
          traceNotify.push(Number(now()));
          notify();
        };
      }
      transport.onFrame((_from, frame) => {
        const stamp = stampOf(frame);
        if (stamp !== null) traceArrived.push(Number(now() - stamp));
      });
      return {};
    }
    case 'timelineStart':
      if (node === null) throw new Error('node not started');
      installTimeline(node, theFile());
      startTimeline();
      return {};
    case 'timelineDump':
      return { ...dumpTimeline() };
    case 'timelineTail':
      return timelineTail(theFile(), request.fromSeq, request.count, request.timeoutMs);
    case 'timelinePaced':
      return timelinePaced(theFile(), request.rate, request.count, request.size);
    case 'traceDump':
      return { sent: traceSent, arrived: traceArrived, notifyToSend: traceNotifyToSend };
    case 'stats': {
      if (node === null) throw new Error('node not started');
      const handle = node.replicator.channel(theFile().name)?.handle ?? null;
      const { drops: _d, ...transport } = node.transport.stats();
      const { drops: _r, ...runtime } = handle?.runtime.stats ?? { drops: null };
      return { transport, runtime, cpu: process.cpuUsage() };
    }
    case 'profileStart':
      await profileStart();
      return {};
    case 'profileStop':
      await profileStop(request.path);
      return {};
    case 'stop':
      await stop();
      return {};
  }
}

process.on('message', (message: Request) => {
  handle(message).then(
    (body) => {
      reply(message.id, { ok: true, ...body });
      if (message.op === 'stop') process.disconnect();
    },
    (error: unknown) =>
      reply(message.id, {
        ok: false,
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      }),
  );
});
// The harness went away: nothing else will stop this process.
process.on('disconnect', () => {
  void stop().finally(() => process.exit(0));
});
