// `npm run bench:log` — throughput and latency of the in-memory log (issue 2 targets:
// ≥ 1M single 32-byte appends/s, ≥ 5M events/s in batches of 64, ≤ 48 bytes per event beyond
// the payload at 1M events). Each timed iteration appends many events so timer cost is amortized;
// results are medians over iterations. Run with --expose-gc (the npm script does).

import { Bench } from 'tinybench';
import { Redex } from '../src/log/redex.js';
import type { RedexFile } from '../src/log/redex-file.js';
import { type BenchRow, median, percentile, report } from './report.js';

const APPENDS_PER_ITERATION = 1000;
const BATCHES_PER_ITERATION = 100;
const BATCH_SIZE = 64;
const MEMORY_EVENTS = 1_000_000;
const LATENCY_SAMPLES = 20_000;

const redex = new Redex();

async function freshFile(name: string): Promise<RedexFile> {
  // maxEvents 0: each iteration's sweep empties the file, so memory stays flat however long it runs.
  return redex.openFile(name, { retention: { maxEvents: 0 } });
}

function payloadOf(size: number): Uint8Array {
  return new Uint8Array(size).fill(0x61);
}

async function throughput(): Promise<BenchRow[]> {
  const bench = new Bench({ name: 'log', time: 1500, warmupTime: 300 });
  for (const size of [32, 256, 1024]) {
    const file = await freshFile(`bench/single-${size}`);
    const payload = payloadOf(size);
    bench.add(`append ${size} B`, async () => {
      for (let i = 0; i < APPENDS_PER_ITERATION; i++) await file.append(payload);
      await file.sweepRetention();
    });
  }
  const batchFile = await freshFile('bench/batch');
  const batch = Array.from({ length: BATCH_SIZE }, () => payloadOf(64));
  bench.add(`appendBatch ${BATCH_SIZE} × 64 B`, async () => {
    for (let i = 0; i < BATCHES_PER_ITERATION; i++) await batchFile.appendBatch(batch);
    await batchFile.sweepRetention();
  });
  await bench.run();
  return bench.tasks.map((task) => {
    const result = task.result;
    if (result.state !== 'completed') throw new Error(`${task.name}: ${result.state}`);
    const eventsPerIteration = task.name.startsWith('appendBatch')
      ? BATCHES_PER_ITERATION * BATCH_SIZE
      : APPENDS_PER_ITERATION;
    const medianMs = result.latency.p50;
    const eventsPerSecond = eventsPerIteration / (medianMs / 1000);
    const size = task.name.startsWith('appendBatch') ? 64 : Number(task.name.split(' ')[1]);
    return {
      name: task.name,
      'events/s (median)': Math.round(eventsPerSecond),
      'MB/s': Math.round((eventsPerSecond * size) / 1e6),
      'ns/event': Math.round((medianMs * 1e6) / eventsPerIteration),
      iterations: result.latency.samplesCount,
    };
  });
}

async function tailLatency(): Promise<BenchRow> {
  const file = await redex.openFile('bench/tail', { retention: { maxEvents: 1 } });
  const tail = file.tail();
  const payload = payloadOf(32);
  const samplesNs: number[] = [];
  for (let i = 0; i < LATENCY_SAMPLES; i++) {
    const delivered = tail.next();
    const start = process.hrtime.bigint();
    await file.append(payload);
    await delivered;
    samplesNs.push(Number(process.hrtime.bigint() - start));
    if (i % 1000 === 0) await file.sweepRetention();
  }
  await tail.return();
  return {
    name: 'append → tail delivery',
    'p50 µs': Number((median(samplesNs) / 1000).toFixed(2)),
    'p99 µs': Number((percentile(samplesNs, 99) / 1000).toFixed(2)),
    samples: LATENCY_SAMPLES,
  };
}

function usedBytes(): number {
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

async function memoryPerEvent(): Promise<BenchRow> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with node --expose-gc (npm run bench:log does)');
  gc();
  const before = usedBytes();
  const file = await redex.openFile('bench/memory');
  const payload = payloadOf(32);
  for (let i = 0; i < MEMORY_EVENTS; i++) await file.append(payload);
  gc();
  const after = usedBytes();
  const payloadBytes = MEMORY_EVENTS * 32;
  const overhead = (after - before - payloadBytes) / MEMORY_EVENTS;
  const row = {
    name: `memory, ${MEMORY_EVENTS.toLocaleString('en')} × 32 B`,
    'total MB': Number(((after - before) / 1e6).toFixed(1)),
    'payload MB': payloadBytes / 1e6,
    'bytes/event beyond payload': Number(overhead.toFixed(1)),
  };
  await file.close();
  return row;
}

const rows = [...(await throughput()), await tailLatency(), await memoryPerEvent()];
report('log', rows, {
  targets: {
    'append 32 B events/s': 1_000_000,
    'appendBatch 64 events/s': 5_000_000,
    'bytes/event beyond payload': 48,
  },
});
