// `npm run dst -- --seeds N [--from S] [--nodes K] [--verbose]`: runs N seeded cluster lives
// and reports each failure with its seed, a replay command and the tail of its trace. Exits 1 on
// any failure.

import { parseArgs } from 'node:util';
import { simulate } from './simulate.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '100' },
    from: { type: 'string', default: '1' },
    nodes: { type: 'string' },
    verbose: { type: 'boolean', default: false },
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
const started = performance.now();
let failed = 0;
for (let seed = from; seed < from + seeds; seed++) {
  const result = await simulate({ seed, ...(nodes === undefined ? {} : { nodes }) });
  if (values.verbose)
    console.log(
      `seed ${seed}: ${result.failures.length === 0 ? 'ok' : 'FAIL'} ${JSON.stringify(result.stats)}`,
    );
  if (result.failures.length > 0) {
    failed++;
    console.log(`\nFAIL seed ${seed} (${result.nodes} nodes)`);
    for (const failure of result.failures) console.log(`  ${failure}`);
    console.log(
      `  replay: npm run dst -- --seeds 1 --from ${seed}${nodes === undefined ? '' : ` --nodes ${nodes}`} --verbose`,
    );
    console.log(`  trace tail:\n${result.traceTail.replace(/^/gm, '    ')}`);
  }
  if (!values.verbose && (seed - from + 1) % 50 === 0) {
    process.stderr.write(`dst: ${seed - from + 1}/${seeds} seeds, ${failed} failed\n`);
  }
}
const seconds = ((performance.now() - started) / 1000).toFixed(1);
console.log(
  `dst: ${seeds} seeds from ${from}: ${seeds - failed} passed, ${failed} failed in ${seconds} s`,
);
process.exit(failed === 0 ? 0 : 1);
