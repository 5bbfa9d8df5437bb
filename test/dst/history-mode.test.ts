// The simulation under the history checker (`--checker history`): a fault-free run records a
// full history (appends of both acks modes, reads, tail deliveries) and passes every rule that
// runs, and a seed replays exactly.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { simulate } from './simulate.js';

describe('simulation with the history checker', () => {
  test('a fault-free run records a full history and passes', async () => {
    for (const seed of [3, 4, 5]) {
      const result = await simulate({ seed, faults: false, checker: 'history' });
      assert.deepEqual(result.failures, [], `seed ${seed}`);
      assert.equal(result.checker, 'history');
      assert.ok(result.stats.quorumAcknowledged > 10, `seed ${seed}: quorum appends were made`);
      assert.equal(result.stats.quorumLost, 0);
      assert.ok(result.stats.reads > 10, `seed ${seed}: reads were recorded`);
      assert.ok(
        result.stats.tailDeliveries >= result.stats.finalSeq,
        `seed ${seed}: tails saw the log`,
      );
    }
  });

  test('a seed replays exactly: same trace, same findings', async () => {
    const [a, b] = [
      await simulate({ seed: 11, checker: 'history' }),
      await simulate({ seed: 11, checker: 'history' }),
    ];
    assert.equal(a.traceDigest, b.traceDigest);
    assert.deepEqual(a.failures, b.failures);
    assert.deepEqual(a.stats, b.stats);
  });
});
