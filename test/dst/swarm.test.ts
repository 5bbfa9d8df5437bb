// The seeded swarm: many cluster lives under generated faults, each checked for validity,
// durability of confirmed writes, and convergence after healing. A failure names its seed and
// the command that replays it. DST_SEEDS / DST_FROM widen or move the window.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { simulate } from './simulate.js';

const SEEDS = Number(process.env.DST_SEEDS ?? 300);
const FROM = Number(process.env.DST_FROM ?? 1);

test(`DST swarm: ${SEEDS} seeds from ${FROM}`, { timeout: 10 * 60_000 }, async () => {
  const failures: string[] = [];
  for (let seed = FROM; seed < FROM + SEEDS; seed++) {
    const result = await simulate({ seed });
    if (result.failures.length > 0) {
      failures.push(
        [
          `seed ${seed} (${result.nodes} nodes): ${result.failures.join('; ')}`,
          `  replay: npm run dst -- --seeds 1 --from ${seed} --verbose`,
          result.traceTail.replace(/^/gm, '    '),
        ].join('\n'),
      );
    }
  }
  assert.deepEqual(failures, [], `\n${failures.slice(0, 3).join('\n\n')}`);
});
