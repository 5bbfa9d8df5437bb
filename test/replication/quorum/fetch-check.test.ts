import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { EpochHistory } from '../../../src/replication/quorum/epoch-history.js';
import {
  checkFetch,
  positionMatches,
  truncationPoint,
} from '../../../src/replication/quorum/fetch-check.js';

/** A log as the epoch of each of its events, plus the epoch its owner leads in (if any). */
interface ModelLog {
  epochs: number[];
  leads: number;
}

function historyOf(log: ModelLog): EpochHistory {
  const history = new EpochHistory();
  log.epochs.forEach((epoch, seq) => {
    if (epoch > 0 && (seq === 0 || log.epochs[seq - 1] !== epoch)) history.append(epoch, seq);
  });
  if (log.leads > history.latestEpoch) history.append(log.leads, log.epochs.length);
  return history;
}

function commonPrefix(a: number[], b: number[]): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

/**
 * Random logs made the way the protocol makes them: a leader of a fresh epoch appends to its own
 * log; another node replaces its log with a prefix of someone's. Any two logs then agree up to a
 * seq whenever they hold the same epoch there.
 */
const steps = fc.array(
  fc.oneof(
    fc.record({
      kind: fc.constant('lead' as const),
      node: fc.nat(3),
      count: fc.nat(4),
    }),
    fc.record({
      kind: fc.constant('copy' as const),
      node: fc.nat(3),
      from: fc.nat(3),
      cut: fc.nat(12),
    }),
  ),
  { maxLength: 30 },
);

type Step =
  | { kind: 'lead'; node: number; count: number }
  | { kind: 'copy'; node: number; from: number; cut: number };

function play(plan: readonly Step[]): {
  logs: ModelLog[];
  leader: number;
} {
  const logs: ModelLog[] = Array.from({ length: 4 }, () => ({ epochs: [], leads: 0 }));
  let epoch = 0;
  let leader = 0;
  for (const step of plan) {
    if (step.kind === 'lead') {
      epoch++;
      leader = step.node;
      for (const log of logs) log.leads = 0;
      const log = logs[step.node] as ModelLog;
      log.leads = epoch;
      for (let i = 0; i < step.count; i++) log.epochs.push(epoch);
    } else if (step.node !== step.from) {
      const source = logs[step.from] as ModelLog;
      const target = logs[step.node] as ModelLog;
      target.epochs = source.epochs.slice(0, Math.min(step.cut, source.epochs.length));
      target.leads = 0;
    }
  }
  return { logs, leader };
}

describe('fetch check', () => {
  it('a request from 0 always matches', () => {
    assert.deepEqual(checkFetch(new EpochHistory(), 0, 0, 7), { kind: 'match' });
  });

  it('answers Diverged with the newest shared epoch and where it ends', () => {
    // Leader: epoch 3 wrote [10, 15), epoch 5 from 15. Replica: epoch 3 up to 20.
    const leader = new EpochHistory([
      { epoch: 1, startSeq: 0 },
      { epoch: 3, startSeq: 10 },
      { epoch: 5, startSeq: 15 },
    ]);
    assert.deepEqual(checkFetch(leader, 30, 20, 3), {
      kind: 'diverged',
      divergingEpoch: 3,
      endSeq: 15,
    });
    // An epoch the leader never saw (4): the newest one below it is 3.
    assert.deepEqual(checkFetch(leader, 30, 20, 4), {
      kind: 'diverged',
      divergingEpoch: 3,
      endSeq: 15,
    });
    const replica = new EpochHistory([
      { epoch: 1, startSeq: 0 },
      { epoch: 3, startSeq: 10 },
    ]);
    assert.equal(truncationPoint(replica, 20, 3, 15), 15);
    assert.equal(positionMatches(leader, 30, 15, 3), true);
    assert.equal(positionMatches(leader, 30, 16, 3), false);
  });

  it('a requester ahead of the leader in the same epoch is cut back to the leader', () => {
    const leader = new EpochHistory([
      { epoch: 2, startSeq: 0 },
      { epoch: 3, startSeq: 8 },
    ]);
    // The leader of epoch 3 took office at 8 and wrote nothing yet; the replica has epoch 2 to 12.
    assert.deepEqual(checkFetch(leader, 8, 12, 2), {
      kind: 'diverged',
      divergingEpoch: 2,
      endSeq: 8,
    });
  });

  it('an answer that would cut nothing is reported, not looped on', () => {
    const replica = new EpochHistory([{ epoch: 2, startSeq: 0 }]);
    assert.equal(truncationPoint(replica, 5, 2, 9), null);
  });

  it('the truncation loop cuts exactly to the common prefix, in bounded rounds', () => {
    fc.assert(
      fc.property(steps, (plan) => {
        const { logs, leader } = play(plan);
        const leaderLog = logs[leader] as ModelLog;
        const leaderHistory = historyOf(leaderLog);
        for (const [index, original] of logs.entries()) {
          if (index === leader) continue;
          const replica: ModelLog = { epochs: [...original.epochs], leads: 0 };
          let rounds = 0;
          for (;;) {
            const history = historyOf(replica);
            const since = replica.epochs.length;
            const verdict = checkFetch(
              leaderHistory,
              leaderLog.epochs.length,
              since,
              history.lastEpoch(since),
            );
            if (verdict.kind === 'match') break;
            const cut = truncationPoint(history, since, verdict.divergingEpoch, verdict.endSeq);
            assert.notEqual(cut, null, 'a Diverged answer must cut something');
            replica.epochs.length = cut as number;
            rounds++;
            assert.ok(rounds <= 40, 'the loop must end');
          }
          assert.equal(
            replica.epochs.length,
            commonPrefix(original.epochs, leaderLog.epochs),
            `replica ${index} must keep exactly the common prefix`,
          );
        }
      }),
      { numRuns: 500 },
    );
  });
});
