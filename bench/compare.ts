// `npm run bench:compare -- --base <git ref> [--rounds 3] [--only latency,throughput]
//   [--suite replication]` — before/after in one run: the `src/` of <ref> (extracted with
// `git archive` into a temporary tree that shares this checkout's node_modules and bench/) and the
// working tree's `src/` run the same suite alternately, round after round, so both see the same
// machine load; the medians per figure and their ratios go to the console and to
// bench/results/compare.json (docs/BENCHMARKS.md shows the latest). Used for the latency fix of
// issue 10 (`--base 84ef7b4`).

import { spawnSync } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Figure, median, round3 } from './report.js';

const root = join(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    base: { type: 'string' },
    rounds: { type: 'string', default: '3' },
    only: { type: 'string', default: 'latency,throughput' },
    suite: { type: 'string', default: 'replication' },
  },
});
if (values.base === undefined) {
  console.error('bench:compare: give --base <git ref> (the "before" version of src/)');
  process.exit(2);
}
const rounds = Number(values.rounds);
const baseRef = values.base;
const commit = (ref: string) =>
  spawnSync('git', ['rev-parse', '--short', ref], { cwd: root, encoding: 'utf8' }).stdout.trim();
const baseCommit = commit(baseRef);
if (baseCommit === '') {
  console.error(`bench:compare: unknown ref ${baseRef}`);
  process.exit(2);
}

const scratch = mkdtempSync(join(tmpdir(), 'redex-bench-compare-'));
try {
  // The "before" tree: its own src/, everything else shared with this checkout.
  const baseTree = join(scratch, 'base');
  mkdirSync(baseTree);
  const archive = spawnSync('git', ['archive', baseRef, 'src'], { cwd: root, maxBuffer: 1 << 28 });
  if (archive.status !== 0) throw new Error(`git archive ${baseRef}: ${archive.stderr}`);
  spawnSync('tar', ['-x', '-C', baseTree], { input: archive.stdout });
  cpSync(join(root, 'bench'), join(baseTree, 'bench'), {
    recursive: true,
    filter: (source) => !source.includes(join('bench', 'results')),
  });
  for (const file of ['package.json', 'tsconfig.json'])
    cpSync(join(root, file), join(baseTree, file));
  symlinkSync(join(root, 'node_modules'), join(baseTree, 'node_modules'));

  const trees = { before: baseTree, after: root } as const;
  const runs: Record<keyof typeof trees, Figure[][]> = { before: [], after: [] };
  for (let round = 1; round <= rounds; round++) {
    for (const variant of ['before', 'after'] as const) {
      const out = join(scratch, `${variant}-${round}`);
      const result = spawnSync(
        process.execPath,
        ['--import', 'tsx', join(trees[variant], 'bench', `${values.suite}.bench.ts`)],
        {
          cwd: trees[variant],
          env: { ...process.env, BENCH_ONLY: values.only, BENCH_RESULTS_DIR: out },
          stdio: ['ignore', 'ignore', 'inherit'],
        },
      );
      if (result.status !== 0) throw new Error(`${variant} round ${round} failed`);
      const doc = JSON.parse(readFileSync(join(out, `${values.suite}.json`), 'utf8')) as {
        figures: Figure[];
      };
      runs[variant].push(doc.figures);
      console.log(
        `${variant} round ${round}: ${doc.figures.map((f) => `${f.id}=${f.value}`).join(' ')}`,
      );
    }
  }
  const ids = [...new Set(runs.after.flat().map((f) => f.id))];
  const medianOf = (variant: keyof typeof trees, id: string): number =>
    median(
      runs[variant]
        .flat()
        .filter((f) => f.id === id)
        .map((f) => f.value),
    );
  // Each round runs before and after back to back, so a round's ratio sees one machine load: the
  // improvement is the median of the per-round ratios (robust to load that drifts across rounds).
  const valueIn = (figures: Figure[], id: string) => figures.find((f) => f.id === id)?.value;
  const rows = ids.map((id) => {
    const sample = runs.after.flat().find((f) => f.id === id)!;
    const ratios: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const before = valueIn(runs.before[round]!, id);
      const after = valueIn(runs.after[round]!, id);
      if (before === undefined || after === undefined) continue;
      ratios.push(sample.better === 'higher' ? after / before : before / after);
    }
    return {
      id,
      label: sample.label,
      unit: sample.unit,
      before: round3(medianOf('before', id)),
      after: round3(medianOf('after', id)),
      improvement: round3(median(ratios)),
      perRound: ratios.map((r) => round3(r)),
    };
  });
  console.table(rows);
  const document = {
    date: new Date().toISOString(),
    suite: values.suite,
    only: values.only,
    rounds,
    before: `${baseRef} (${baseCommit})`,
    after: `working tree on ${commit('HEAD')}`,
    rows,
  };
  const path = join(root, 'bench', 'results', 'compare.json');
  writeFileSync(path, `${JSON.stringify(document, null, 2)}\n`);
  console.log(`wrote ${path}`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
