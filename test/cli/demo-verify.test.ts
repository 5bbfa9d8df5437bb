// The checks the drill and test/e2e/quorum-faults.test.ts run on every node's log, and how the
// demo writer classifies an append's outcome, on hand-made logs and answers.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  mergeHistories,
  type NodeLog,
  showBytes,
  verifyLogs,
  type WriteHistory,
} from '../../src/cli/demo/verify.js';
import { outcomeOf, outcomeOfError } from '../../src/cli/demo/writer.js';

const bytes = (text: string) => new Uint8Array(Buffer.from(text));

function log(name: string, payloads: readonly (string | null)[]): NodeLog {
  const events = new Map<number, Uint8Array>();
  for (const [seq, payload] of payloads.entries()) {
    if (payload !== null) events.set(seq, bytes(payload));
  }
  return { name, firstSeq: payloads.length === 0 ? null : 0, nextSeq: payloads.length, events };
}

function history(acked: string[], extra: Partial<WriteHistory> = {}): WriteHistory {
  return {
    acked: new Map(acked.map((payload, seq) => [seq, payload])),
    failed: new Set(),
    unknown: new Set(),
    conflicts: [],
    ...extra,
  };
}

describe('verifyLogs', () => {
  test('identical logs holding every acknowledged event pass; stored unknowns are counted', () => {
    const logs = ['a', 'b', 'c'].map((name) => log(name, ['w0 #0', 'w0 #1', 'w1 #0']));
    const verdict = verifyLogs(
      logs,
      history(['w0 #0', 'w0 #1'], { unknown: new Set(['w1 #0', 'w1 #1']) }),
    );
    assert.equal(verdict.ok, true, verdict.problems.join('\n'));
    assert.equal(verdict.unknownStored, 1);
    assert.equal(verdict.ackedEvents, 2);
  });

  test('an acknowledged event replaced on one node is lost there and the seq differs', () => {
    const logs = [
      log('a', ['w0 #0', 'w0 #1']),
      log('b', ['w0 #0', 'w1 #7']),
      log('c', ['w0 #0', 'w0 #1']),
    ];
    const verdict = verifyLogs(logs, history(['w0 #0', 'w0 #1'], { unknown: new Set(['w1 #7']) }));
    assert.equal(verdict.ok, false);
    assert.equal(verdict.lost, 1);
    assert.equal(verdict.lostEvents, 1);
    assert.equal(verdict.divergentSeqs, 1);
    assert.match(
      verdict.problems[0]!,
      /^lost: seq 1 on b: expected "w0 #1" \(5 B, 7730202331\), found "w1 #7" \(5 B, 7731202337\)$/,
    );
    assert.match(verdict.problems[1]!, /^differs: seq 1: a "w0 #1" .*, b "w1 #7" .*, c "w0 #1"/);
  });

  test('a shorter log loses the tail and differs there', () => {
    const logs = [log('a', ['x', 'y']), log('b', ['x', 'y']), log('c', ['x'])];
    const verdict = verifyLogs(logs, history(['x', 'y']));
    assert.equal(verdict.lost, 1);
    assert.equal(verdict.divergentSeqs, 1);
    assert.match(verdict.problems[0]!, /found nothing$/);
  });

  test('a payload stored twice, or stored though refused or never sent, fails', () => {
    const logs = ['a', 'b', 'c'].map((name) => log(name, ['x', 'x', 'refused', 'stranger']));
    const verdict = verifyLogs(
      logs,
      history(['x'], { unknown: new Set(['x']), failed: new Set(['refused']) }),
    );
    assert.equal(verdict.duplicates, 3);
    assert.equal(verdict.unexpected, 6);
    assert.ok(verdict.problems.some((line) => /its append failed for sure/.test(line)));
    assert.ok(verdict.problems.some((line) => /nobody sent it/.test(line)));
  });

  test('two writers acknowledged at one seq: a conflict, counted lost', () => {
    const merged = mergeHistories([history(['p']), history(['q'])]);
    assert.deepEqual(merged.conflicts, [{ seq: 0, first: 'p', second: 'q' }]);
    const verdict = verifyLogs(
      ['a', 'b', 'c'].map((name) => log(name, ['q'])),
      merged,
    );
    // 'p' is missing at seq 0 on three nodes, and the conflict itself; 'q' is not "unexpected".
    assert.equal(verdict.lost, 4);
    assert.equal(verdict.lostEvents, 2);
    assert.equal(verdict.unexpected, 0);
  });

  test('showBytes: short UTF-8 and hex', () => {
    assert.equal(showBytes(undefined), 'nothing');
    assert.equal(showBytes(bytes('hi')), '"hi" (2 B, 6869)');
    assert.equal(
      showBytes(bytes('z'.repeat(40))),
      `"${'z'.repeat(32)}…" (40 B, ${'7a'.repeat(12)}…)`,
    );
  });
});

describe('append outcomes', () => {
  test('201 is acked; a 4xx or 503 SHUTTING_DOWN stored nothing; other failures are unknown', () => {
    const answer = (status: number, code?: string) => ({
      status,
      json: code === undefined ? null : { error: { code } },
    });
    assert.equal(outcomeOf(answer(201)), 'acked');
    assert.equal(outcomeOf(answer(421, 'NOT_LEADER')), 'failed');
    assert.equal(outcomeOf(answer(400, 'BAD_REQUEST')), 'failed');
    assert.equal(outcomeOf(answer(503, 'SHUTTING_DOWN')), 'failed');
    assert.equal(outcomeOf(answer(503, 'LEADERSHIP_LOST')), 'unknown');
    assert.equal(outcomeOf(answer(504, 'REPLICATION_TIMEOUT')), 'unknown');
    assert.equal(outcomeOf(answer(500)), 'unknown');
    const refused = Object.assign(new TypeError('fetch failed'), {
      cause: { code: 'ECONNREFUSED' },
    });
    const reset = Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNRESET' } });
    assert.equal(outcomeOfError(refused), 'failed');
    assert.equal(outcomeOfError(reset), 'unknown');
    assert.equal(outcomeOfError(new DOMException('timed out', 'TimeoutError')), 'unknown');
  });
});
