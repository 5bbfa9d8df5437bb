// Shared output for benchmarks: a console table and a JSON file under bench/results/.

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BenchRow {
  readonly name: string;
  readonly [metric: string]: string | number;
}

// BENCH_RESULTS_DIR redirects the files (bench:compare runs suites into scratch directories).
const resultsDir =
  process.env.BENCH_RESULTS_DIR || join(dirname(fileURLToPath(import.meta.url)), 'results');

export function report(suite: string, rows: BenchRow[], extra: Record<string, unknown> = {}): void {
  console.table(rows);
  mkdirSync(resultsDir, { recursive: true });
  const path = join(resultsDir, `${suite}.json`);
  const document = {
    suite,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    date: new Date().toISOString(),
    rows,
    ...extra,
  };
  writeFileSync(path, `${JSON.stringify(document, null, 2)}\n`);
  console.log(`wrote ${path}`);
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Which system a figure measures. */
export type SystemKind = 'redex' | 'hypercore' | 'jetstream' | 'etcd';

/**
 * One number of the side-by-side comparison (bench:peers, bench:replication, bench:jetstream).
 * Figures with the same `id` are the same measurement on different systems; the summary
 * (bench/run-all.ts) pairs them into ratios and checks RedEX's against its targets
 * (docs/DESIGN.md#performance-targets).
 */
export interface Figure {
  /** Stable key, e.g. `append.memory.single.32`. */
  readonly id: string;
  /** Section of the table, e.g. `local append, memory`. */
  readonly group: string;
  /** What was measured, e.g. `single appends, 32 B`. */
  readonly label: string;
  readonly kind: SystemKind;
  /** The exact system and configuration, e.g. `hypercore 10.38.2 on random-access-memory`. */
  readonly system: string;
  readonly value: number;
  /** `events/s`, `MB/s`, `ms`, … */
  readonly unit: string;
  readonly better: 'higher' | 'lower';
  /** Spread and sample size, or why a figure is what it is. */
  readonly note?: string;
  /**
   * How the measured writer reaches the system, e.g. `in-process library call` or `HTTP/JSON
   * request to a server`. The summary only puts a ratio between figures with equal `entry` and
   * `guarantee`; a figure without them is shown with no ratio.
   */
  readonly entry?: string;
  /** What a write has become when it counts, e.g. `committed on 2 of 3, fsynced`. */
  readonly guarantee?: string;
}

/** A figure as a console.table row. */
export function figureRow(figure: Figure): BenchRow {
  return {
    name: `${figure.group}: ${figure.label}`,
    system: figure.system,
    value: figure.value,
    unit: figure.unit,
    note: figure.note ?? '',
  };
}

/** Rounds to 3 significant digits (figures are noisy; more digits would be false precision). */
export function round3(value: number): number {
  if (!Number.isFinite(value) || value === 0) return value;
  const digits = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(value))));
  return Number(value.toFixed(Math.min(digits, 6)));
}
