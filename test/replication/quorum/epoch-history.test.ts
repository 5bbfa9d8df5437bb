import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EpochHistory, EpochHistoryError } from '../../../src/replication/quorum/epoch-history.js';

describe('epoch history', () => {
  const history = () =>
    new EpochHistory([
      { epoch: 1, startSeq: 0 },
      { epoch: 3, startSeq: 10 },
      { epoch: 4, startSeq: 15 },
    ]);

  it('answers which epoch wrote a seq and where an epoch ends', () => {
    const h = history();
    assert.deepEqual(
      [0, 9, 10, 14, 15, 20].map((s) => h.epochOf(s)),
      [1, 1, 3, 3, 4, 4],
    );
    assert.equal(h.lastEpoch(0), 0);
    assert.equal(h.lastEpoch(12), 3);
    assert.equal(h.endOf(1, 20), 10);
    assert.equal(h.endOf(2, 20), 10);
    assert.equal(h.endOf(4, 20), 20);
    assert.equal(h.endOf(3, 12), 12);
    assert.deepEqual(
      [0, 1, 2, 3, 9].map((e) => h.floorEpoch(e)),
      [0, 1, 1, 3, 4],
    );
    assert.equal(new EpochHistory().epochOf(5), 0);
  });

  it('refuses entries out of order; an empty epoch is replaced by the next', () => {
    const h = history();
    assert.throws(() => h.append(4, 20), EpochHistoryError);
    assert.throws(() => h.append(5, 14), EpochHistoryError);
    h.append(5, 20);
    h.append(6, 20);
    assert.deepEqual(h.entries.at(-1), { epoch: 6, startSeq: 20 });
    assert.equal(h.length, 4);
    h.assertInvariants();
  });

  it('truncates and gives the runs of a range', () => {
    const h = history();
    assert.deepEqual(h.runsBetween(5, 16), [
      { epoch: 1, startSeq: 5 },
      { epoch: 3, startSeq: 10 },
      { epoch: 4, startSeq: 15 },
    ]);
    assert.deepEqual(h.runsBetween(11, 12), [{ epoch: 3, startSeq: 11 }]);
    assert.deepEqual(h.runsBetween(11, 11), []);
    assert.equal(h.truncateFrom(10), 2);
    assert.equal(h.latestEpoch, 1);
  });
});
