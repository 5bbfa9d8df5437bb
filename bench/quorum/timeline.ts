// Inside one bench node process: a timeline of what the visible-latency path did, for
// bench/quorum/visible-trace.ts. Every replication frame in and out (kind, peer, seqs, commit),
// the leader's append announcements, garbage-collection pauses, each append's acknowledgement on
// the leader and each event's arrival at a tail on a replica, all stamped with
// `process.hrtime.bigint()` (CLOCK_MONOTONIC: comparable across the processes of the machine).
// Flat number arrays, so recording costs a few pushes per frame; decoding a frame is done here
// too (a response's seqs and commit), which the recording's own cost includes.

import { PerformanceObserver, performance } from 'node:perf_hooks';
import type { StartedMeshNode } from '../../src/cluster/start-node.js';
import type { RedexFile } from '../../src/log/redex-file.js';
import { decodeAny, decodeHeartbeatBatch } from '../../src/wire/codec.js';
import { DispatchCode } from '../../src/wire/types.js';

export const Kind = {
  SentResponse: 1,
  SentHeartbeat: 2,
  SentRequest: 3,
  GotResponse: 4,
  GotHeartbeat: 5,
  GotRequest: 6,
  Gc: 7,
  Announce: 8,
  Visible: 9,
  Acked: 10,
} as const;

/** Per record: time (ns), kind, peer (low 16 bits of its id), then three numbers by kind. */
export const FIELDS = 6;

const records: number[] = [];
const now = (): number => Number(process.hrtime.bigint());
let installed = false;
let recording = false;

function push(kind: number, peer: number, a: number, b: number, c: number, at = now()): void {
  if (recording) records.push(at, kind, peer, a, b, c);
}

/** One frame in or out: responses give (first seq, count, commit), heartbeats (tail, commit). */
function recordFrame(out: boolean, peer: bigint, frame: Uint8Array): void {
  if (!recording) return;
  const at = now();
  const who = Number(peer & 0xffffn);
  const code = frame[2];
  try {
    if (code === DispatchCode.HeartbeatBatch) {
      for (const hb of decodeHeartbeatBatch(frame)) {
        const kind = out ? Kind.SentHeartbeat : Kind.GotHeartbeat;
        push(kind, who, hb.tailSeq, hb.quorum?.commitSeq ?? -1, hb.role, at);
      }
      return;
    }
    if (
      code === undefined ||
      code < DispatchCode.SyncRequest ||
      code > DispatchCode.SyncHeartbeat
    ) {
      return;
    }
    const message = decodeAny(frame);
    if (message.kind === 'response') {
      const count = message.run?.count ?? message.events.length;
      const kind = out ? Kind.SentResponse : Kind.GotResponse;
      push(kind, who, message.firstSeq, count, message.quorum?.commitSeq ?? -1, at);
    } else if (message.kind === 'heartbeat') {
      const kind = out ? Kind.SentHeartbeat : Kind.GotHeartbeat;
      push(kind, who, message.tailSeq, message.quorum?.commitSeq ?? -1, message.role, at);
    } else if (message.kind === 'request') {
      push(out ? Kind.SentRequest : Kind.GotRequest, who, message.sinceSeq, 0, 0, at);
    }
  } catch {
    // Not ours to judge: the node counts its own malformed frames.
  }
}

/** Hooks the node once (transport, announcements, GC); records only between start and dump. */
export function installTimeline(node: StartedMeshNode, file: RedexFile): void {
  if (installed) return;
  installed = true;
  const transport = node.transport;
  const send = transport.send.bind(transport);
  transport.send = (to, frame) => {
    recordFrame(true, to, frame);
    return send(to, frame);
  };
  transport.onFrame((from, frame) => recordFrame(false, from, frame));
  const runtime = node.replicator.channel(file.name)?.handle?.runtime as unknown as
    | { notifyAppended(): void }
    | undefined;
  if (runtime !== undefined) {
    const notify = runtime.notifyAppended.bind(runtime);
    runtime.notifyAppended = () => {
      push(Kind.Announce, 0, file.nextSeq, 0, 0);
      notify();
    };
  }
  // performance.now() is on another origin than hrtime: one offset converts.
  const offsetNs = now() - performance.now() * 1e6;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const at = Math.round(offsetNs + entry.startTime * 1e6);
      const detail = (entry as { detail?: { kind?: number } }).detail;
      push(Kind.Gc, 0, Math.round(entry.duration * 1e6), detail?.kind ?? 0, 0, at);
    }
  }).observe({ entryTypes: ['gc'] });
}

export function startTimeline(): void {
  records.length = 0;
  recording = true;
}

export function dumpTimeline(): { records: number[]; cpu: NodeJS.CpuUsage } {
  recording = false;
  const copy = records.slice();
  records.length = 0;
  return { records: copy, cpu: process.cpuUsage() };
}

/** A replica: records each committed event's arrival at a tail from `fromSeq` (seq, stamp). */
export async function timelineTail(
  file: RedexFile,
  fromSeq: number,
  count: number,
  timeoutMs: number,
): Promise<{ seen: number }> {
  const signal = AbortSignal.timeout(timeoutMs);
  let seen = 0;
  try {
    for await (const event of file.tail({ fromSeq, signal })) {
      const view = new DataView(
        event.payload.buffer,
        event.payload.byteOffset,
        event.payload.byteLength,
      );
      push(Kind.Visible, 0, event.seq, Number(view.getBigUint64(0, true)), 0);
      if (++seen >= count) break;
    }
  } catch (error) {
    if (!signal.aborted) throw error;
  }
  return { seen };
}

/**
 * The leader: single appends paced at `rate` (as quorumPaced: what is due every millisecond),
 * stamped with hrtime; each acknowledgement recorded as (seq, stamp).
 */
export async function timelinePaced(
  file: RedexFile,
  rate: number,
  count: number,
  size: number,
): Promise<{ failed: number; achievedRate: number }> {
  const started = performance.now();
  let sent = 0;
  let outstanding = 0;
  let failed = 0;
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  while (sent < count) {
    const due = Math.min(count, Math.floor(((performance.now() - started) / 1000) * rate));
    while (sent < due) {
      const payload = new Uint8Array(Math.max(size, 8)).fill(0x70);
      const stamp = now();
      new DataView(payload.buffer).setBigUint64(0, BigInt(stamp), true);
      outstanding++;
      file.append(payload, { acks: 'quorum' }).then(
        (seq) => {
          push(Kind.Acked, 0, seq, stamp, 0);
          outstanding--;
        },
        () => {
          failed++;
          outstanding--;
        },
      );
      sent++;
    }
    await sleep(1);
  }
  const achievedRate = count / ((performance.now() - started) / 1000);
  while (outstanding > 0) await sleep(1);
  return { failed, achievedRate };
}
