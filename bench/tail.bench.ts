// `npm run bench:tail` — how fast a tail reads history, and what a stalled tail costs appends.
//
// Backfill: a channel holds 1M × 256 B events (in memory, or persistent with fsync 'never');
// a tail from seq 0 reads them all; the figure is events/s of that read, median of 3 tails over
// the same channel. Targets: ≥ 1M events/s from memory, ≥ 300k events/s from disk. The disk
// figure reads through the OS page cache (the file was just written): it measures RedEX's read
// path (preads of byte-bounded pages, CRC checks), not the device.
//
// Stalled reader: 100k single appends of 256 B with no tail, then with a tail that read one event
// and stopped; the ratio shows whether the stalled tail slows appends. The stalled tail then
// resumes and must deliver all 100k in order (the bench fails otherwise).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redex } from '../src/log/redex.js';
import type { RedexFile } from '../src/log/redex-file.js';
import { type BenchRow, median, report } from './report.js';

const EVENTS = Number(process.env.BENCH_TAIL_EVENTS ?? 1_000_000);
const STALLED_APPENDS = 100_000;
const RUNS = 3;
const PAYLOAD = new Uint8Array(256).fill(0x74);
const BATCH = Array.from({ length: 1000 }, () => PAYLOAD);

async function fill(file: RedexFile, events: number): Promise<void> {
  for (let done = 0; done < events; done += BATCH.length) await file.appendBatch(BATCH);
}

/** events/s of one tail from 0 to the end of what the file holds. */
async function backfill(file: RedexFile): Promise<number> {
  const end = file.nextSeq;
  const started = performance.now();
  let expected = 0;
  for await (const event of file.tail({ fromSeq: 0 })) {
    if (event.seq !== expected) throw new Error(`seq ${event.seq} where ${expected} was due`);
    if (++expected === end) break;
  }
  return end / ((performance.now() - started) / 1000);
}

function backfillRow(name: string, rates: number[]): BenchRow {
  const rate = median(rates);
  return {
    name,
    'events/s (median)': Math.round(rate),
    'MB/s': Number(((rate * 256) / 1e6).toFixed(1)),
    'min..max': `${Math.round(Math.min(...rates))}..${Math.round(Math.max(...rates))}`,
  };
}

async function appendRate(file: RedexFile): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < STALLED_APPENDS; i++) await file.append(PAYLOAD);
  return STALLED_APPENDS / ((performance.now() - started) / 1000);
}

const rows: BenchRow[] = [];

{
  const redex = new Redex();
  const file = await redex.openFile('bench/tail-memory');
  await fill(file, EVENTS);
  const rates: number[] = [];
  for (let run = 0; run < RUNS; run++) rates.push(await backfill(file));
  rows.push(backfillRow(`tail from 0 over ${EVENTS} × 256 B, in memory`, rates));
  await redex.close();
}

const dir = mkdtempSync(join(tmpdir(), 'redex-bench-tail-'));
try {
  const redex = new Redex({ dir });
  const file = await redex.openFile('bench/tail-disk', { persistent: true, fsync: 'never' });
  await fill(file, EVENTS);
  await file.sync();
  const rates: number[] = [];
  for (let run = 0; run < RUNS; run++) rates.push(await backfill(file));
  rows.push(backfillRow(`tail from 0 over ${EVENTS} × 256 B, on disk`, rates));
  await redex.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}

{
  // Interleaved runs on fresh channels, so heap growth and JIT warm-up hit both cases alike.
  const redex = new Redex();
  const alone: number[] = [];
  const stalledRates: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    alone.push(await appendRate(await redex.openFile(`bench/appends-alone-${run}`)));
    const file = await redex.openFile(`bench/appends-stalled-${run}`);
    await file.append(PAYLOAD);
    const stalled = file.tail({ fromSeq: 0 });
    await stalled.next(); // reads seq 0, then stops reading
    stalledRates.push(await appendRate(file));
    let expected = 1;
    for await (const event of stalled) {
      if (event.seq !== expected) throw new Error(`resumed tail: seq ${event.seq} ≠ ${expected}`);
      if (++expected === file.nextSeq) break;
    }
    if (expected !== STALLED_APPENDS + 1) throw new Error('the resumed tail missed events');
    await redex.closeAndUnlinkFile(`bench/appends-alone-${run}`);
    await redex.closeAndUnlinkFile(`bench/appends-stalled-${run}`);
  }
  const withoutTail = median(alone);
  const withStalled = median(stalledRates);
  rows.push({
    name: `${STALLED_APPENDS} single appends, no tail`,
    'events/s (median)': Math.round(withoutTail),
    'MB/s': Number(((withoutTail * 256) / 1e6).toFixed(1)),
    'min..max': `${Math.round(Math.min(...alone))}..${Math.round(Math.max(...alone))}`,
  });
  rows.push({
    name: `${STALLED_APPENDS} single appends, one stalled tail (then resumed: all delivered)`,
    'events/s (median)': Math.round(withStalled),
    'MB/s': Number(((withStalled * 256) / 1e6).toFixed(1)),
    'min..max': `${Math.round(Math.min(...stalledRates))}..${Math.round(Math.max(...stalledRates))} (${(withStalled / withoutTail).toFixed(2)}× without)`,
  });
  await redex.close();
}

report('tail', rows, {
  events: EVENTS,
  runs: RUNS,
  tmpdir: tmpdir(),
  targets: { 'memory backfill events/s': 1_000_000, 'disk backfill events/s': 300_000 },
});
