// `node --import tsx bench/storage.bench.ts` — the storage halves of a catch-up, in one process, without the network:
// "apply" appends 256 B events in chunks of 256 KiB (what a replica does with each SyncResponse)
// and "serve" reads them back in 256 KiB pages with `readRangeLimited` (what a leader does for
// each SyncRequest), on a persistent file (fsync 'never', default 16 MiB cache, so most of a
// serve comes from disk) and on an in-memory one. Figures are payload MB/s, median of 3 runs;
// `npm run bench:compare -- --base <ref> --suite storage` compares two versions of src/.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redex } from '../src/log/redex.js';
import { type Figure, figureRow, median, report, round3 } from './report.js';

const EVENTS = Number(process.env.BENCH_STORAGE_EVENTS ?? 400_000);
const RUNS = 3;
const SIZE = 256;
/** A catch-up chunk: the replica's SyncRequest asks for 256 KiB, 12 bytes of overhead per event. */
const CHUNK_BYTES = 256 * 1024;
const EVENT_OVERHEAD = 12;
const PER_CHUNK = Math.floor(CHUNK_BYTES / (SIZE + EVENT_OVERHEAD));

async function runOnce(persistent: boolean): Promise<{ apply: number; serve: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'redex-bench-storage-'));
  const redex = new Redex({ dir });
  try {
    const file = await redex.openFile('bench/storage', { persistent, fsync: 'never' });
    // Distinct payload objects, as decoded from the wire, all views of one receive buffer.
    const wire = new Uint8Array(PER_CHUNK * SIZE).fill(0x61);
    const chunk = Array.from({ length: PER_CHUNK }, (_, i) =>
      wire.subarray(i * SIZE, (i + 1) * SIZE),
    );
    let started = performance.now();
    for (let seq = 0; seq < EVENTS; seq += PER_CHUNK)
      await file.appendBatch(chunk.slice(0, Math.min(PER_CHUNK, EVENTS - seq)));
    const apply = (EVENTS * SIZE) / 1e6 / ((performance.now() - started) / 1000);
    started = performance.now();
    let events = 0;
    for (let seq = 0; seq < EVENTS; ) {
      const page = await file.readRangeLimited(seq, EVENTS, CHUNK_BYTES, EVENT_OVERHEAD);
      events += page.length;
      seq = page[page.length - 1]!.seq + 1;
    }
    if (events !== EVENTS) throw new Error(`served ${events} of ${EVENTS} events`);
    const serve = (EVENTS * SIZE) / 1e6 / ((performance.now() - started) / 1000);
    return { apply, serve };
  } finally {
    await redex.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const figures: Figure[] = [];
for (const persistent of [true, false]) {
  const runs: { apply: number; serve: number }[] = [];
  for (let run = 0; run < RUNS; run++) runs.push(await runOnce(persistent));
  const where = persistent ? 'disk' : 'memory';
  const system = persistent
    ? "RedEX, one process, persistent, fsync 'never', 16 MiB cache"
    : 'RedEX, one process, in-memory';
  for (const half of ['apply', 'serve'] as const) {
    const values = runs.map((r) => r[half]);
    figures.push({
      id: `storage.${half}.${where}`,
      group: 'storage side of a catch-up, 256 B events',
      label:
        half === 'apply'
          ? `MB/s appended in 256 KiB chunks, ${where}`
          : `MB/s read in 256 KiB pages, ${where}`,
      kind: 'redex',
      system,
      value: round3(median(values)),
      unit: 'MB/s',
      better: 'higher',
      note: `${EVENTS.toLocaleString('en')} events, median of ${RUNS}; ${values.map((v) => v.toFixed(0)).join(', ')}`,
    });
  }
}
report('storage', figures.map(figureRow), { events: EVENTS, runs: RUNS, figures });
