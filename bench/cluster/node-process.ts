// One RedEX node in its own process, driven by the benchmark harness over the IPC channel
// (`child_process.fork`). The harness (bench/cluster/cluster.ts) starts three of these, tells each
// where the others listen, and then sends commands: load the leader, wait on a replica until a seq
// is present, measure tail latency, acknowledged appends, failover write attempts. Every reply
// carries the request's `id`. Times are `process.hrtime.bigint()` values, CLOCK_MONOTONIC on Linux,
// so they compare across the processes of one machine.
//
// The process exits when the harness says `stop`, when the IPC channel closes (the harness died),
// or when it is killed (the failover benchmark SIGKILLs the leader).

import type { RedexFile } from '../../src/log/redex-file.js';
import { type StartedMeshNode, startMeshNode } from '../../src/mesh/start-node.js';
import type { ReplicationConfigInput } from '../../src/replication/config.js';
import { Role } from '../../src/wire/types.js';

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
  | { readonly op: 'latencyTail'; readonly fromSeq: number; readonly count: number }
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
  | { readonly op: 'stop' };

export type Request = Command & { readonly id: number };

export interface StatusReply {
  readonly role: Role;
  readonly nextSeq: number;
  readonly connected: number;
}

let node: StartedMeshNode | null = null;
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
  return node?.redex.replication?.channel(theFile().name)?.role ?? Role.Idle;
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
async function latencyTail(fromSeq: number, count: number): Promise<Record<string, unknown>> {
  const tail = theFile().tail({ fromSeq });
  const samples: number[] = [];
  for await (const event of tail) {
    const stamp = new DataView(
      event.payload.buffer,
      event.payload.byteOffset,
      event.payload.byteLength,
    ).getBigUint64(0, true);
    samples.push(Number(now() - stamp));
    if (samples.length >= count) break;
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
      writes.push(target.append(stampedPayload(size)));
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
    const seq = await target.append(payload);
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
      return latencyTail(request.fromSeq, request.count);
    case 'paced':
      return paced(request.rate, request.count, request.size);
    case 'acked':
      return acked(request.samples, request.size, request.count);
    case 'writeLoop':
      return writeLoop(request.size, request.timeoutMs);
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
