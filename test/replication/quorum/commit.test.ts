import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  type CommitInput,
  leaderCommitSeq,
  quorumSize,
  replicaCommitSeq,
} from '../../../src/replication/quorum/commit.js';

const A = 1n;
const B = 2n;
const C = 3n;
const D = 4n;
const E = 5n;

function input(overrides: Partial<CommitInput>): CommitInput {
  return {
    selfId: A,
    replicaSet: [A, B, C],
    selfNextSeq: 10,
    matched: new Map(),
    epochStartSeq: 0,
    commitSeq: 0,
    ...overrides,
  };
}

describe('commit', () => {
  it('quorum sizes', () => {
    assert.deepEqual([1, 2, 3, 4, 5].map(quorumSize), [1, 2, 2, 3, 3]);
  });

  it('a majority holding current-epoch events commits them', () => {
    assert.equal(leaderCommitSeq(input({ matched: new Map([[B, 7]]) })), 7);
    assert.equal(
      leaderCommitSeq(
        input({
          matched: new Map([
            [B, 7],
            [C, 9],
          ]),
        }),
      ),
      9,
    );
    assert.equal(leaderCommitSeq(input({ matched: new Map() })), 0);
  });

  it('figure 8: a majority holding only earlier-epoch events commits nothing new', () => {
    // 5 nodes; this leader's epoch starts at 6; a majority holds everything below 6 only.
    const five = { replicaSet: [A, B, C, D, E], selfNextSeq: 8, epochStartSeq: 6, commitSeq: 2 };
    assert.equal(
      leaderCommitSeq(
        input({
          ...five,
          matched: new Map([
            [B, 6],
            [C, 6],
          ]),
        }),
      ),
      2,
    );
    // Seq 6 (this epoch's first event) held by two of five: still nothing new.
    assert.equal(
      leaderCommitSeq(
        input({
          ...five,
          matched: new Map([
            [B, 7],
            [C, 6],
          ]),
        }),
      ),
      2,
    );
    assert.equal(
      leaderCommitSeq(
        input({
          ...five,
          matched: new Map([
            [B, 7],
            [C, 7],
          ]),
        }),
      ),
      7,
    );
  });

  it('an idle channel after a failover commits once every member holds the old events', () => {
    const idle = { selfNextSeq: 6, epochStartSeq: 6, commitSeq: 2 };
    assert.equal(leaderCommitSeq(input({ ...idle, matched: new Map([[B, 6]]) })), 2);
    assert.equal(
      leaderCommitSeq(
        input({
          ...idle,
          matched: new Map([
            [B, 6],
            [C, 6],
          ]),
        }),
      ),
      6,
    );
  });

  it('never moves backwards, and counts duplicate members once', () => {
    assert.equal(leaderCommitSeq(input({ commitSeq: 9, matched: new Map([[B, 3]]) })), 9);
    assert.equal(leaderCommitSeq(input({ replicaSet: [A, A, B, C], matched: new Map() })), 0);
  });

  it('the leader commit is always held by a majority', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat(20), { minLength: 2, maxLength: 6 }),
        fc.nat(20),
        (peerTails, epochStartSeq) => {
          const selfNextSeq = Math.max(epochStartSeq, ...peerTails);
          const ids = peerTails.map((_, i) => BigInt(i + 2));
          const matched = new Map(ids.map((id, i) => [id, peerTails[i] as number]));
          const commit = leaderCommitSeq(
            input({ replicaSet: [A, ...ids], selfNextSeq, matched, epochStartSeq }),
          );
          const holders = 1 + peerTails.filter((tail) => tail >= commit).length;
          assert.ok(holders >= quorumSize(ids.length + 1));
          assert.ok(commit === 0 || commit > epochStartSeq || peerTails.every((t) => t >= commit));
        },
      ),
    );
  });

  it('a replica commits what the leader committed, as far as its log matches', () => {
    assert.equal(replicaCommitSeq(0, 10, 7), 7);
    assert.equal(replicaCommitSeq(0, 5, 7), 5);
    assert.equal(replicaCommitSeq(6, 5, 7), 6);
  });
});
