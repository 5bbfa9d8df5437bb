// Reconnect backoff: exponential growth, the cap, jitter bounds, and replay from a seed.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { backoffDelayMs } from '../../src/mesh/index.js';
import { type Random, SeededRandom } from '../../src/time/random.js';

function fixed(value: number): Random {
  return { nextFloat: () => value, nextU32: () => 0, nextU64: () => 0n, nextInt: () => 0 };
}

describe('backoffDelayMs', () => {
  it('doubles from the base, half fixed and half jitter, up to the cap', () => {
    const low = fixed(0);
    const high = fixed(0.999_999);
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelayMs(n, 100, 5_000, low)),
      [50, 100, 200, 400, 800, 1600, 2500, 2500],
    );
    assert.deepEqual(
      [0, 1, 2, 3].map((n) => backoffDelayMs(n, 100, 5_000, high)),
      [99, 199, 399, 799],
    );
    assert.equal(backoffDelayMs(1_000_000, 100, 5_000, high), 4999, 'huge attempts stay capped');
    assert.equal(backoffDelayMs(-3, 100, 5_000, low), 50, 'negative attempts count as 0');
  });

  it('stays within [ceiling/2, ceiling] for any attempt and seed (property)', () => {
    fc.assert(
      fc.property(
        fc.nat(100),
        fc.integer({ min: 1, max: 1000 }),
        fc.integer(),
        (attempt, base, seed) => {
          const cap = base * 50;
          const ceiling = Math.min(cap, base * 2 ** Math.min(attempt, 30));
          const delay = backoffDelayMs(attempt, base, cap, new SeededRandom(seed));
          assert.ok(Number.isInteger(delay));
          assert.ok(delay >= Math.floor(ceiling / 2) && delay <= ceiling, `${delay} vs ${ceiling}`);
        },
      ),
    );
  });

  it('replays for a seed and spreads across seeds (jitter)', () => {
    const delays = (seed: number) =>
      Array.from({ length: 5 }, (_, n) => backoffDelayMs(n, 100, 5_000, new SeededRandom(seed)));
    assert.deepEqual(delays(7), delays(7));
    const firsts = new Set(
      Array.from({ length: 20 }, (_, s) => backoffDelayMs(3, 100, 5_000, new SeededRandom(s))),
    );
    assert.ok(firsts.size > 10, 'different seeds spread the redials');
  });
});
