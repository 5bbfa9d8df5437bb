// `npm run bench:peers` — local appends, RedEX beside hypercore, in one process and one run.
//
// Memory: RedEX in-memory files vs hypercore 10 on random-access-memory (hypercore 11 no longer
// accepts random-access-storage, so it has no in-memory mode; it is also run on tmpfs, /dev/shm,
// as the nearest it gets). Disk: RedEX persistent files under each fsync policy vs hypercore 11
// (RocksDB, writes not fsynced: comparable to `fsync: 'never'` only; the other policies have no
// hypercore counterpart). Same payloads for everyone: 32 B and 256 B in memory, 256 B on disk.
//
// Each case runs for a fixed wall time (BENCH_RUN_MS, default 500 ms) on a fresh log, RUNS times
// after one discarded warm-up run; the figure is the median rate, with min..max in the note.
// Appends are awaited one by one (or by `writers` concurrent loops), the same way for every system.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Hypercore from 'hypercore';
import Hypercore10 from 'hypercore-10';
import RAM from 'random-access-memory';
import type { FsyncPolicy } from '../src/log/config.js';
import { Redex } from '../src/log/redex.js';
import { type Figure, figureRow, median, report, round3 } from './report.js';

const RUN_MS = Number(process.env.BENCH_RUN_MS ?? 500);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const BATCH = 64;

function packageVersion(name: string): string {
  const path = join(import.meta.dirname, '..', 'node_modules', name, 'package.json');
  return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
}
const HC11 = `hypercore ${packageVersion('hypercore')}`;
const HC10 = `hypercore ${packageVersion('hypercore-10')}`;
const SHM = '/dev/shm';

/** Something that appends one payload or a batch, then can be thrown away. */
interface Appender {
  one(payload: Uint8Array): Promise<unknown>;
  many(payloads: Uint8Array[]): Promise<unknown>;
  close(): Promise<void>;
}

type Factory = () => Promise<Appender>;

interface Shape {
  readonly size: number;
  /** 1: single appends; otherwise batches of this many. */
  readonly batch: number;
  readonly writers: number;
}

async function rateOnce(factory: Factory, shape: Shape): Promise<number> {
  const appender = await factory();
  const payload = new Uint8Array(shape.size).fill(0x61);
  const batch = Array.from({ length: shape.batch }, () => payload);
  let events = 0;
  const started = performance.now();
  const deadline = started + RUN_MS;
  try {
    await Promise.all(
      Array.from({ length: shape.writers }, async () => {
        while (performance.now() < deadline) {
          if (shape.batch === 1) await appender.one(payload);
          else await appender.many(batch);
          events += shape.batch;
        }
      }),
    );
    return events / ((performance.now() - started) / 1000);
  } finally {
    await appender.close();
  }
}

async function measure(factory: Factory, shape: Shape): Promise<{ value: number; note: string }> {
  await rateOnce(factory, shape); // warm-up (JIT, first-open costs), discarded
  const rates: number[] = [];
  for (let run = 0; run < RUNS; run++) rates.push(await rateOnce(factory, shape));
  const fmt = (v: number) => Math.round(v).toLocaleString('en');
  return {
    value: Math.round(median(rates)),
    note: `median of ${RUNS} × ${RUN_MS} ms; ${fmt(Math.min(...rates))}..${fmt(Math.max(...rates))}`,
  };
}

// ─── the systems ─────────────────────────────────────────────────────────────────────────────

let counter = 0;
const scratch: string[] = [];
function tempDir(base: string): string {
  const dir = mkdtempSync(join(base, 'redex-bench-peers-'));
  scratch.push(dir);
  return dir;
}

function redexMemory(): Factory {
  const redex = new Redex();
  return async () => {
    const file = await redex.openFile(`bench/mem-${counter++}`);
    return {
      one: (p) => file.append(p),
      many: (ps) => file.appendBatch(ps),
      close: () => redex.closeAndUnlinkFile(file.name),
    };
  };
}

function redexDisk(fsync: FsyncPolicy): Factory {
  return async () => {
    const dir = tempDir(tmpdir());
    const redex = new Redex({ dir });
    const file = await redex.openFile('bench/disk', { persistent: true, fsync });
    return {
      one: (p) => file.append(p),
      many: (ps) => file.appendBatch(ps),
      close: async () => {
        await redex.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  };
}

function hypercore10Ram(): Factory {
  return async () => {
    const core = new Hypercore10(RAM);
    await core.ready();
    return {
      one: (p) => core.append(p),
      many: (ps) => core.append(ps),
      close: () => core.close(),
    };
  };
}

function hypercore11(base: string): Factory {
  return async () => {
    const dir = tempDir(base);
    const core = new Hypercore(dir);
    await core.ready();
    return {
      one: (p) => core.append(p),
      many: (ps) => core.append(ps),
      close: async () => {
        await core.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  };
}

// ─── the cases ───────────────────────────────────────────────────────────────────────────────

interface Entry {
  readonly kind: Figure['kind'];
  readonly system: string;
  readonly factory: Factory;
}

interface Case {
  readonly id: string;
  readonly group: string;
  readonly label: string;
  readonly shape: Shape;
  readonly entries: readonly Entry[];
}

const figures: Figure[] = [];

async function run(spec: Case): Promise<void> {
  for (const entry of spec.entries) {
    const { value, note } = await measure(entry.factory, spec.shape);
    const figure: Figure = {
      id: spec.id,
      group: spec.group,
      label: spec.label,
      kind: entry.kind,
      system: entry.system,
      value: round3(value),
      unit: 'events/s',
      better: 'higher',
      note,
    };
    figures.push(figure);
    console.log(JSON.stringify(figureRow(figure)));
  }
}

function memoryEntries(): Entry[] {
  return [
    { kind: 'redex', system: 'RedEX, in-memory file', factory: redexMemory() },
    { kind: 'hypercore', system: `${HC10}, random-access-memory`, factory: hypercore10Ram() },
    { kind: 'hypercore', system: `${HC11}, tmpfs (${SHM})`, factory: hypercore11(SHM) },
  ];
}

const single = (size: number, writers = 1): Shape => ({ size, batch: 1, writers });
const batched = (size: number, writers = 1): Shape => ({ size, batch: BATCH, writers });

const cases: Case[] = [];
for (const size of [32, 256]) {
  cases.push({
    id: `append.memory.single.${size}`,
    group: 'local append, memory',
    label: `single appends, ${size} B`,
    shape: single(size),
    entries: memoryEntries(),
  });
  cases.push({
    id: `append.memory.batch64.${size}`,
    group: 'local append, memory',
    label: `batches of ${BATCH}, ${size} B`,
    shape: batched(size),
    entries: memoryEntries(),
  });
}

const hcDisk: Entry = {
  kind: 'hypercore',
  system: `${HC11}, disk (RocksDB, not fsynced)`,
  factory: hypercore11(tmpdir()),
};
const disk = (fsync: FsyncPolicy, name: string): Entry => ({
  kind: 'redex',
  system: `RedEX persistent, fsync ${name}`,
  factory: redexDisk(fsync),
});
const DISK_GROUP = 'local append, disk, 256 B';
cases.push(
  {
    id: 'append.disk.never.batch64',
    group: DISK_GROUP,
    label: `batches of ${BATCH}, fsync 'never' (hypercore: no fsync)`,
    shape: batched(256),
    entries: [disk('never', "'never'"), hcDisk],
  },
  {
    id: 'append.disk.never.single',
    group: DISK_GROUP,
    label: "single appends, 1 writer, fsync 'never'",
    shape: single(256),
    entries: [disk('never', "'never'"), hcDisk],
  },
  {
    id: 'append.disk.never.single64w',
    group: DISK_GROUP,
    label: "single appends, 64 concurrent writers, fsync 'never'",
    shape: single(256, 64),
    entries: [disk('never', "'never'"), hcDisk],
  },
  {
    id: 'append.disk.everyN.batch64',
    group: DISK_GROUP,
    label: `batches of ${BATCH}, fsync { everyN: 1000 }`,
    shape: batched(256),
    entries: [disk({ everyN: 1000 }, '{ everyN: 1000 }')],
  },
  {
    id: 'append.disk.interval.batch64',
    group: DISK_GROUP,
    label: `batches of ${BATCH}, fsync { intervalMs: 100 }`,
    shape: batched(256),
    entries: [disk({ intervalMs: 100 }, '{ intervalMs: 100 }')],
  },
  {
    id: 'append.disk.always.single',
    group: DISK_GROUP,
    label: "single appends, 1 writer, fsync 'always'",
    shape: single(256),
    entries: [disk('always', "'always'")],
  },
  {
    id: 'append.disk.always.single64w',
    group: DISK_GROUP,
    label: "single appends, 64 concurrent writers, fsync 'always' (group commit)",
    shape: single(256, 64),
    entries: [disk('always', "'always'")],
  },
  {
    id: 'append.disk.always.batch64',
    group: DISK_GROUP,
    label: `batches of ${BATCH}, fsync 'always'`,
    shape: batched(256),
    entries: [disk('always', "'always'")],
  },
);

try {
  for (const spec of cases) await run(spec);
} finally {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
}
report('peers', figures.map(figureRow), {
  runMs: RUN_MS,
  runs: RUNS,
  tmpdir: tmpdir(),
  versions: { hypercore: HC11, hypercore10: HC10 },
  figures,
});
