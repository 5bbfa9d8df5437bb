// `npm run dst -- --seeds N [--from S] [--nodes K] [--checker history] [--verbose]`: runs N seeded cluster lives
// and reports each failure with its seed, a replay command and the tail of its trace. Exits 1 on
// any failure.

import { parseArgs } from 'node:util';
import { DEFAULT_CHECKER, simulate } from './simulate.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '100' },
    from: { type: 'string', default: '1' },
    nodes: { type: 'string' },
    verbose: { type: 'boolean', default: false },
    checker: { type: 'string' },
  },
});

const checker = values.checker ?? DEFAULT_CHECKER;
if (checker !== 'history') {
  console.error(`dst: --checker must be history, got ${JSON.stringify(checker)}`);
  process.exit(2);
}

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
const started = performance.now();
let failed = 0;
const notes = new Set<string>();
let quorumAcknowledged = 0;
let quorumLost = 0;
let quorumLostOnMajority = 0;
const replayChecker = checker === DEFAULT_CHECKER ? '' : ` --checker ${checker}`;
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
    failed++;
    console.log(`\nFAIL seed ${seed} (${result.nodes} nodes)`);
    for (const failure of result.failures) console.log(`  ${failure}`);
    console.log(
      `  replay: npm run dst -- --seeds 1 --from ${seed}${nodes === undefined ? '' : ` --nodes ${nodes}`}${replayChecker} --verbose`,
    );
    console.log(`  history tail:\n${result.historyTail.replace(/^/gm, '    ')}`);
    console.log(`  trace tail:\n${result.traceTail.replace(/^/gm, '    ')}`);
  }
  if (!values.verbose && (seed - from + 1) % 50 === 0) {
    process.stderr.write(`dst: ${seed - from + 1}/${seeds} seeds, ${failed} failed\n`);
  }
}
const seconds = ((performance.now() - started) / 1000).toFixed(1);
console.log(
  `dst: ${seeds} seeds from ${from} (${checker} checker): ${seeds - failed} passed, ${failed} failed in ${seconds} s`,
);
if (checker === 'history') {
  const share = (lost: number) =>
    `${(quorumAcknowledged === 0 ? 0 : (100 * lost) / quorumAcknowledged).toFixed(1)}%`;
  console.log(
    `dst: of ${quorumAcknowledged} quorum-acknowledged appends, ${quorumLost} (${share(quorumLost)}) are missing from some final log, ${quorumLostOnMajority} (${share(quorumLostOnMajority)}) from a majority of them`,
  );
}
// Rules that did not run are said out loud: a pass must never hide them.
for (const note of notes) console.log(`dst: note: ${note}`);
process.exit(failed === 0 ? 0 : 1);
