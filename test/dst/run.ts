// `npm run dst -- --seeds N [--from S] [--nodes K] [--checker history] [--verbose] [--brief]
// [--mutation NAME|all]`: runs N seeded cluster lives and reports each failure with its seed, a
// replay command and the tail of its trace. Exits 1 on any failure.
//
// `--mutation NAME` first breaks one safety rule of the code under test (mutation/mutations.ts)
// and then runs the same seeds: each failing seed caught the mutation. `--mutation all` runs every
// mutation in a process of its own and prints how many seeds caught each.

import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { installMutation, MUTATIONS, mutationNamed } from './mutation/mutations.js';
import type { simulate as Simulate } from './simulate.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '100' },
    from: { type: 'string', default: '1' },
    nodes: { type: 'string' },
    verbose: { type: 'boolean', default: false },
    brief: { type: 'boolean', default: false },
    checker: { type: 'string' },
    mutation: { type: 'string' },
  },
});

function count(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) {
    console.error(`dst: --${name} must be a non-negative integer, got ${JSON.stringify(text)}`);
    process.exit(2);
  }
  return value;
}

const seeds = count('seeds', values.seeds)!;
const from = count('from', values.from)!;
const nodes = count('nodes', values.nodes);

if (values.mutation === 'all') runEveryMutation();
const mutation = values.mutation === undefined ? undefined : mutationNamed(values.mutation);
if (values.mutation !== undefined && mutation === undefined) {
  const names = [...MUTATIONS.map((m) => m.name), 'all'].join(', ');
  console.error(`dst: --mutation must be one of ${names}, got ${JSON.stringify(values.mutation)}`);
  process.exit(2);
}
// The rewrite applies to modules loaded after it is registered: the simulation comes after.
const installed = mutation === undefined ? undefined : installMutation(mutation);
const { DEFAULT_CHECKER, simulate } = await import('./simulate.js');
const checker = values.checker ?? DEFAULT_CHECKER;
if (checker !== 'history') {
  console.error(`dst: --checker must be history, got ${JSON.stringify(checker)}`);
  process.exit(2);
}

const started = performance.now();
const failedSeeds: number[] = [];
const notes = new Set<string>();
let quorumAcknowledged = 0;
let quorumLost = 0;
let quorumLostOnMajority = 0;
const replayChecker = checker === DEFAULT_CHECKER ? '' : ` --checker ${checker}`;
const replayMutation = mutation === undefined ? '' : ` --mutation ${mutation.name}`;
for (let seed = from; seed < from + seeds; seed++) {
  const result = await simulate({ seed, checker, ...(nodes === undefined ? {} : { nodes }) });
  for (const note of result.notes) notes.add(note);
  quorumAcknowledged += result.stats.quorumAcknowledged;
  quorumLost += result.stats.quorumLost;
  quorumLostOnMajority += result.stats.quorumLostOnMajority;
  if (values.verbose)
    console.log(
      `seed ${seed}: ${result.failures.length === 0 ? 'ok' : 'FAIL'} ${JSON.stringify(result.stats)}`,
    );
  if (result.failures.length > 0) {
    failedSeeds.push(seed);
    reportFailure(result);
  }
  if (!values.verbose && (seed - from + 1) % 50 === 0) {
    process.stderr.write(`dst: ${seed - from + 1}/${seeds} seeds, ${failedSeeds.length} failed\n`);
  }
}
const seconds = ((performance.now() - started) / 1000).toFixed(1);
const failed = failedSeeds.length;
console.log(
  `dst: ${seeds} seeds from ${from} (${checker} checker${replayMutation}): ${seeds - failed} passed, ${failed} failed in ${seconds} s`,
);
if (failed > 0) console.log(`dst: failed seeds: ${failedSeeds.join(' ')}`);
if (installed !== undefined && !(await installed.applied())) {
  console.log(`dst: mutation ${mutation!.name} was never applied: its file was not loaded`);
  process.exit(2);
}
const share = (lost: number) =>
  `${(quorumAcknowledged === 0 ? 0 : (100 * lost) / quorumAcknowledged).toFixed(1)}%`;
console.log(
  `dst: of ${quorumAcknowledged} quorum-acknowledged appends, ${quorumLost} (${share(quorumLost)}) are missing from some final log, ${quorumLostOnMajority} (${share(quorumLostOnMajority)}) from a majority of them`,
);
// Rules that did not run are said out loud: a pass must never hide them.
for (const note of notes) console.log(`dst: note: ${note}`);
process.exit(failed === 0 ? 0 : 1);

function reportFailure(result: Awaited<ReturnType<typeof Simulate>>): void {
  const { seed } = result;
  if (values.brief) {
    console.log(`FAIL seed ${seed} (${result.nodes} nodes): ${result.failures[0]!.slice(0, 200)}`);
    return;
  }
  console.log(`\nFAIL seed ${seed} (${result.nodes} nodes)`);
  for (const failure of result.failures) console.log(`  ${failure}`);
  console.log(
    `  replay: npm run dst -- --seeds 1 --from ${seed}${nodes === undefined ? '' : ` --nodes ${nodes}`}${replayChecker}${replayMutation} --verbose`,
  );
  console.log(`  history tail:\n${result.historyTail.replace(/^/gm, '    ')}`);
  console.log(`  trace tail:\n${result.traceTail.replace(/^/gm, '    ')}`);
}

/** One child process per mutation (a module, once loaded, cannot be rewritten again). */
function runEveryMutation(): never {
  const passOn = ['--seeds', String(seeds), '--from', String(from), '--brief'];
  if (nodes !== undefined) passOn.push('--nodes', String(nodes));
  const summary: string[] = [];
  let missed = 0;
  for (const each of MUTATIONS) {
    console.log(`dst: mutation ${each.name}: ${each.description}`);
    const child = spawnSync(
      process.execPath,
      [...process.execArgv, process.argv[1]!, ...passOn, '--mutation', each.name],
      { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' },
    );
    process.stdout.write(child.stdout);
    const failedLine = /^dst: failed seeds: (.*)$/m.exec(child.stdout)?.[1] ?? '';
    const caught = failedLine === '' ? [] : failedLine.split(' ');
    if (child.status === 2 || caught.length === 0) missed++;
    summary.push(
      `dst: mutation ${each.name}: caught by ${caught.length}/${seeds} seeds${caught.length > 0 ? `, first ${caught.slice(0, 10).join(' ')}` : ''}${child.status === 2 ? ' (NOT APPLIED)' : ''}`,
    );
  }
  for (const line of summary) console.log(line);
  // Success here means every mutation was caught by at least one seed.
  process.exit(missed === 0 ? 0 : 1);
}
