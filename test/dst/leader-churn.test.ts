// The leader-churn fault mode and the mutation check's hook: the mode cuts leaders off, the run
// still passes and replays exactly, and every mutation's pattern still matches the code it breaks
// (a rename there must update mutation/mutations.ts, or the mutation check would test nothing).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { MUTATIONS } from './mutation/mutations.js';
import { simulate } from './simulate.js';

const run = promisify(execFile);
const RUN_SCRIPT = fileURLToPath(new URL('./run.ts', import.meta.url));

describe('leader-churn fault mode', () => {
  test('an even seed churns leaders, passes, and replays exactly', async () => {
    const [a, b] = [await simulate({ seed: 10 }), await simulate({ seed: 10 })];
    assert.deepEqual(a.failures, []);
    assert.ok(a.stats.churnCuts >= 3, `leaders were cut off (${a.stats.churnCuts})`);
    assert.ok(a.stats.quorumAcknowledged > 0, 'writes still commit between the cuts');
    assert.equal(a.traceDigest, b.traceDigest);
    assert.deepEqual(a.stats, b.stats);
  });

  test('odd seeds and churn: false keep the generic faults only', async () => {
    assert.equal((await simulate({ seed: 3 })).stats.churnCuts, 0);
    assert.equal((await simulate({ seed: 2, churn: false })).stats.churnCuts, 0);
  });
});

describe('mutation check', () => {
  test('every mutation still finds the code it breaks', async () => {
    await Promise.all(
      MUTATIONS.map(async (mutation) => {
        const { stdout } = await run(process.execPath, [
          ...process.execArgv,
          RUN_SCRIPT,
          '--seeds',
          '0',
          '--mutation',
          mutation.name,
        ]);
        assert.match(stdout, /0 seeds from 1 .*--mutation/, mutation.name);
      }),
    );
  });

  test('an unknown mutation is refused', async () => {
    await assert.rejects(
      run(process.execPath, [...process.execArgv, RUN_SCRIPT, '--seeds', '0', '--mutation', 'x']),
      (error: { code?: number; stderr?: string }) =>
        error.code === 2 && /--mutation must be one of figure8/.test(error.stderr ?? ''),
    );
  });
});
