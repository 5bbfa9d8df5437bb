// `npm run bench:wire` — codec throughput on the replication hot path (issue 4 target: ≥ 1 GB/s
// decode of a 256 KiB SyncResponse of 1,000 events; decode copies no payload). The frame is
// exactly 262,144 bytes. Figures are medians over tinybench samples; MB/s is 10^6 bytes/s of
// frame. Small heartbeat and request rows show the per-message fixed cost.

import { Bench } from 'tinybench';
import {
  channelIdFromName,
  decodeAny,
  decodeHeartbeat,
  decodeResponse,
  encodeHeartbeat,
  encodeRequest,
  encodeResponse,
  type SyncResponse,
  type WireEvent,
} from '../src/wire/index.js';
import { type BenchRow, report } from './report.js';

const FRAME_BYTES = 256 * 1024;
const EVENT_COUNT = 1000;
const channelId = channelIdFromName('bench/wire');

function responseOf(frameBytes: number, count: number): SyncResponse {
  const payloadBytes = frameBytes - 63 - 12 * count;
  const base = Math.floor(payloadBytes / count);
  const events: WireEvent[] = [];
  for (let i = 0; i < count; i++) {
    // Spread the remainder so the frame is exactly frameBytes.
    const size = base + (i < payloadBytes - base * count ? 1 : 0);
    events.push({ seq: 1_000_000 + i, payload: new Uint8Array(size).fill(i & 0xff) });
  }
  return {
    kind: 'response',
    channelId,
    firstSeq: 1_000_000,
    leaderFirstRetainedSeq: 0,
    requestId: 0x0123_4567_89ab_cdefn,
    events,
  };
}

const response = responseOf(FRAME_BYTES, EVENT_COUNT);
const frame = encodeResponse(response);
if (frame.length !== FRAME_BYTES) throw new Error(`frame is ${frame.length} bytes`);
const heartbeat = {
  kind: 'heartbeat',
  channelId,
  tailSeq: 123_456,
  role: 0,
  wallClockMs: 1_764_115_200_000,
} as const;
const heartbeatFrame = encodeHeartbeat(heartbeat);
const request = {
  kind: 'request',
  channelId,
  sinceSeq: 42,
  chunkMax: 262_144,
  requestId: 7n,
  syncClass: 0,
} as const;

// Results land here so the optimizer cannot drop the work.
let sink: unknown;

const bench = new Bench({ name: 'wire', time: 2000, warmupTime: 500 });
bench
  .add('decode SyncResponse 256 KiB × 1000', () => {
    sink = decodeResponse(frame);
  })
  .add('decodeAny SyncResponse 256 KiB × 1000', () => {
    sink = decodeAny(frame);
  })
  .add('encode SyncResponse 256 KiB × 1000', () => {
    sink = encodeResponse(response);
  })
  .add('decode SyncHeartbeat', () => {
    sink = decodeHeartbeat(heartbeatFrame);
  })
  .add('encode SyncHeartbeat', () => {
    sink = encodeHeartbeat(heartbeat);
  })
  .add('encode SyncRequest', () => {
    sink = encodeRequest(request);
  });

await bench.run();
if (sink === undefined) throw new Error('benchmark produced nothing');

const sizes: Record<string, number> = {
  'decode SyncResponse 256 KiB × 1000': FRAME_BYTES,
  'decodeAny SyncResponse 256 KiB × 1000': FRAME_BYTES,
  'encode SyncResponse 256 KiB × 1000': FRAME_BYTES,
  'decode SyncHeartbeat': heartbeatFrame.length,
  'encode SyncHeartbeat': heartbeatFrame.length,
  'encode SyncRequest': 56,
};

const rows: BenchRow[] = bench.tasks.map((task) => {
  const result = task.result;
  if (result.state !== 'completed') throw new Error(`${task.name}: ${result.state}`);
  const p50Ms = result.latency.p50;
  const bytes = sizes[task.name]!;
  return {
    name: task.name,
    'ops/s (median)': Math.round(1000 / p50Ms),
    'MB/s (median)': Math.round(bytes / (p50Ms / 1000) / 1e6),
    'p50 µs': Number((p50Ms * 1000).toFixed(2)),
    'p99 µs': Number((result.latency.p99 * 1000).toFixed(2)),
    samples: result.latency.samplesCount,
  };
});

const decode = rows[0]!['MB/s (median)'] as number;
report('wire', rows, {
  frameBytes: FRAME_BYTES,
  eventCount: EVENT_COUNT,
  targetDecodeMBps: 1000,
  decodeMeetsTarget: decode >= 1000,
});
