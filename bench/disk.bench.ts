// `npm run bench:disk` — persistent appends of 256-byte events under each fsync policy, batched
// and single, and under 'always' with 1, 8 and 64 concurrent writers (group commit). Targets
// (issue 3): ≥ 300k events/s batched with 'never'; ≥ 30k events/s with 'always' and 64 writers.
// Each case runs for a fixed wall time on a fresh channel; the figure is the median of 5 runs.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FsyncPolicy } from '../src/log/config.js';
import { Redex } from '../src/log/redex.js';
import { type BenchRow, median, report } from './report.js';

const PAYLOAD = new Uint8Array(256).fill(0x62);
const RUN_MS = Number(process.env.BENCH_RUN_MS ?? 600);
const RUNS = 5;
const BATCH = 64;

interface Case {
  readonly name: string;
  readonly fsync: FsyncPolicy;
  readonly writers: number;
  readonly batch: number;
}

const cases: Case[] = [
  { name: "'never', batches of 64", fsync: 'never', writers: 1, batch: BATCH },
  { name: "'never', batches of 64, 4 writers", fsync: 'never', writers: 4, batch: BATCH },
  { name: "'never', single appends, 64 writers", fsync: 'never', writers: 64, batch: 1 },
  { name: '{ everyN: 1000 }, batches of 64', fsync: { everyN: 1000 }, writers: 1, batch: BATCH },
  {
    name: '{ intervalMs: 100 }, batches of 64',
    fsync: { intervalMs: 100 },
    writers: 1,
    batch: BATCH,
  },
  {
    name: '{ intervalMs: 100, maxBytes: 1 MiB }, batches',
    fsync: { intervalMs: 100, maxBytes: 1 << 20 },
    writers: 1,
    batch: BATCH,
  },
  { name: "'always', 1 writer", fsync: 'always', writers: 1, batch: 1 },
  { name: "'always', 8 writers", fsync: 'always', writers: 8, batch: 1 },
  { name: "'always', 64 writers", fsync: 'always', writers: 64, batch: 1 },
  { name: "'always', batches of 64", fsync: 'always', writers: 1, batch: BATCH },
];

async function runOnce(spec: Case, dir: string, run: number): Promise<number> {
  const redex = new Redex({ dir });
  const file = await redex.openFile(`bench/run-${run}`, { persistent: true, fsync: spec.fsync });
  const batch = Array.from({ length: spec.batch }, () => PAYLOAD);
  let events = 0;
  const started = performance.now();
  const deadline = started + RUN_MS;
  await Promise.all(
    Array.from({ length: spec.writers }, async () => {
      while (performance.now() < deadline) {
        if (spec.batch === 1) await file.append(PAYLOAD);
        else await file.appendBatch(batch);
        events += spec.batch;
      }
    }),
  );
  const elapsed = performance.now() - started;
  await redex.close();
  return events / (elapsed / 1000);
}

const rows: BenchRow[] = [];
for (const spec of cases) {
  const dir = mkdtempSync(join(tmpdir(), 'redex-bench-'));
  try {
    const rates: number[] = [];
    for (let run = 0; run < RUNS; run++) rates.push(await runOnce(spec, dir, run));
    const rate = median(rates);
    rows.push({
      name: spec.name,
      'events/s (median)': Math.round(rate),
      'MB/s': Number(((rate * 256) / 1e6).toFixed(1)),
      'min..max': `${Math.round(Math.min(...rates))}..${Math.round(Math.max(...rates))}`,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
report('disk', rows, {
  tmpdir: tmpdir(),
  runMs: RUN_MS,
  runs: RUNS,
  targets: { "'never' batched events/s": 300_000, "'always' 64 writers events/s": 30_000 },
});
