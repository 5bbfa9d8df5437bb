// `npm run bench` — every suite, one after the other, each in its own Node process (so one
// suite's heap and JIT state do not colour the next), then the summary: the combined
// bench/results/<timestamp>.json, docs/BENCHMARKS.md and docs/benchmarks.svg.
//
// BENCH_SUITES=peers,jetstream runs a subset (the summary still reads the other suites' latest
// results from bench/results/). A failing suite is reported and the others still run; the exit
// code is then 1.

import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { SUITES, type SuiteName, summarize } from './summary.js';

const FLAGS: Record<SuiteName, string[]> = {
  log: ['--expose-gc'],
  disk: [],
  tail: [],
  wire: [],
  peers: [],
  replication: [],
  jetstream: [],
  daemon: [],
  quorum: [],
};

const selected = (process.env.BENCH_SUITES ?? '').split(',').filter((s) => s !== '');
for (const name of selected) {
  if (!(SUITES as readonly string[]).includes(name)) {
    console.error(`bench: unknown suite ${name} (known: ${SUITES.join(', ')})`);
    process.exit(2);
  }
}
const suites = SUITES.filter((s) => selected.length === 0 || selected.includes(s));

const loadBefore = loadavg();
const ran: Record<string, { ms: number; ok: boolean }> = {};
const started = performance.now();
for (const suite of suites) {
  console.log(`\n━━ bench:${suite} ━━`);
  const t0 = performance.now();
  const result = spawnSync(
    process.execPath,
    [...FLAGS[suite], '--import', 'tsx', join(import.meta.dirname, `${suite}.bench.ts`)],
    { stdio: 'inherit', env: process.env },
  );
  ran[suite] = { ms: Math.round(performance.now() - t0), ok: result.status === 0 };
  if (result.status !== 0)
    console.error(`bench:${suite} FAILED (exit ${result.status ?? result.signal})`);
}
const path = summarize({ ran, loadBefore });
console.log(`\nwrote ${path}, docs/BENCHMARKS.md, docs/benchmarks.svg`);
console.log(`total ${((performance.now() - started) / 1000).toFixed(0)} s`);
if (Object.values(ran).some((r) => !r.ok)) process.exit(1);
