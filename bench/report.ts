// Shared output for benchmarks: a console table and a JSON file under bench/results/.

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BenchRow {
  readonly name: string;
  readonly [metric: string]: string | number;
}

const resultsDir = join(dirname(fileURLToPath(import.meta.url)), 'results');

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
