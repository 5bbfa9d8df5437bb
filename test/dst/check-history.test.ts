// The history checker on hand-built histories: each rule, broken once, is reported with the seq,
// payload and node it concerns; a valid history passes with no findings.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkHistory, type FinalLog } from './check-history.js';
import type { AcksMode, AppendOp, AppendOutcome, ReadOp, TailSession } from './recorder.js';

function append(
  id: number,
  payload: string,
  outcome: AppendOutcome | null,
  times: [number, number | null] = [id * 10, id * 10 + 5],
  acks: AcksMode = 'quorum',
): AppendOp {
  return {
    id,
    node: 'n0',
    payload,
    acks,
    invokeMs: times[0],
    completeMs: times[1],
    outcome,
  };
}

const ok = (seq: number): AppendOutcome => ({ kind: 'ok', seq });

function log(node: string, payloads: readonly string[], firstSeq = 0): FinalLog {
  return {
    node,
    firstSeq,
    events: payloads.map((payload, index) => ({ seq: firstSeq + index, payload })),
  };
}

function history(
  appends: AppendOp[],
  reads: ReadOp[] = [],
  tails: TailSession[] = [],
): { appends: AppendOp[]; reads: ReadOp[]; tails: TailSession[] } {
  return { appends, reads, tails };
}

function read(node: string, from: number, payloads: string[], invokeMs = 100): ReadOp {
  return {
    node,
    from,
    to: from + payloads.length,
    invokeMs,
    completeMs: invokeMs + 1,
    committedBelow: undefined,
    events: payloads.map((payload, index) => ({ seq: from + index, payload })),
  };
}

/** A valid run: a, b, c quorum-acknowledged at 0..2, d leader-acknowledged and lost, e refused. */
function valid() {
  return history(
    [
      append(0, 'a', ok(0)),
      append(1, 'b', ok(1)),
      append(2, 'c', ok(2)),
      append(3, 'd', ok(3), [40, 41], 'leader'),
      append(4, 'e', { kind: 'failed', code: 'NOT_LEADER' }),
      append(5, 'f', { kind: 'unknown', reason: 'REPLICATION_TIMEOUT', seq: 3 }),
    ],
    [read('n1', 0, ['a', 'b'])],
    [
      {
        id: 0,
        node: 'n2',
        fromSeq: 0,
        startMs: 0,
        end: null,
        deliveries: [
          { seq: 0, payload: 'a', atMs: 50, committedBelow: 1 },
          { seq: 1, payload: 'b', atMs: 50, committedBelow: 1 },
        ],
      },
    ],
  );
}

const logs = (payloads: string[]) => ['n0', 'n1', 'n2'].map((node) => log(node, payloads));

function only(violations: readonly string[], rule: string): string[] {
  assert.ok(violations.length > 0, 'a violation is reported');
  for (const violation of violations)
    assert.ok(violation.startsWith(`[${rule}]`), `only ${rule}: ${violations.join('\n')}`);
  return [...violations];
}

describe('checkHistory', () => {
  test('a valid history passes', () => {
    const report = checkHistory(valid(), logs(['a', 'b', 'c', 'f']));
    assert.deepEqual(report.violations, []);
  });

  test('without commitSeq, reads say that "committed" came from quorum acknowledgements', () => {
    const report = checkHistory(valid(), logs(['a', 'b', 'c']));
    assert.deepEqual(report.violations, []);
    assert.match(report.notes.join('\n'), /no commitSeq yet/);
  });

  test('a quorum-acknowledged append missing on one node is lost, named by seq, payload and node', () => {
    const finals = [log('n0', ['a', 'b', 'c']), log('n1', ['a', 'b', 'c']), log('n2', ['a', 'x'])];
    const found = checkHistory(
      history([...valid().appends, append(9, 'x', { kind: 'unknown', reason: 'CLOSED' })]),
      finals,
    ).violations;
    const lost = found.filter((v) => v.startsWith('[1-lost]'));
    assert.equal(lost.length, 2);
    assert.match(lost[0]!, /#1 "b".*seq 1.*not on n2: it holds "x" at 1/);
    assert.match(lost[1]!, /#2 "c".*seq 2.*not on n2: it holds nothing at 2/);
  });

  test('a quorum-acknowledged payload at another seq is reported as moved', () => {
    const found = checkHistory(
      history([append(0, 'a', ok(0)), append(1, 'b', ok(1))]),
      logs(['a', 'b', 'b']),
    ).violations;
    assert.ok(
      found.some((v) =>
        /^\[1-moved\] append #1 "b" on n0 was stored at seq 1 but is at n0@2/.test(v),
      ),
      found.join('\n'),
    );
  });

  test('a leader-acknowledged append may be lost but not moved', () => {
    const appends = [append(0, 'a', ok(0)), append(1, 'd', ok(1), [10, 11], 'leader')];
    assert.deepEqual(checkHistory(history(appends), logs(['a'])).violations, []);
    only(
      checkHistory(history(appends), logs(['a', 'z', 'd'])).violations.filter(
        (v) => !v.includes('"z"'),
      ),
      '1-moved',
    );
  });

  test('an append with an unknown outcome appears at most once', () => {
    const appends = [append(0, 'u', { kind: 'unknown', reason: 'CLOSED' })];
    assert.deepEqual(checkHistory(history(appends), logs(['u'])).violations, []);
    assert.deepEqual(checkHistory(history(appends), logs([])).violations, []);
    const found = only(checkHistory(history(appends), logs(['u', 'u'])).violations, '1-duplicated');
    assert.match(found[0]!, /append #0 "u" on n0 appears more than once: n0@0, n0@1/);
  });

  test('a failed append appears nowhere: not in a final log, not in a read', () => {
    const appends = [append(0, 'a', ok(0)), append(1, 'e', { kind: 'failed', code: 'NOT_LEADER' })];
    const inLog = only(checkHistory(history(appends), logs(['a', 'e'])).violations, '1-failed');
    assert.match(inLog[0]!, /append #1 "e" on n0 failed \(NOT_LEADER\) but is at n0@1, n1@1, n2@1/);
    const inRead = checkHistory(history(appends, [read('n1', 1, ['e'])]), logs(['a'])).violations;
    assert.match(
      only(inRead, '3-failed')[0]!,
      /read \[1, 2\) on n1 .* delivered failed append #1 "e"@1/,
    );
  });

  test('a payload no client appended is invented', () => {
    const found = only(
      checkHistory(history([append(0, 'a', ok(0))]), logs(['a', '?'])).violations,
      '1-invented',
    );
    assert.match(found[0]!, /n0@1, n1@1, n2@1 hold "\?", which no client appended/);
  });

  test('final logs that differ are reported at the first differing seq', () => {
    const appends = [
      append(0, 'a', ok(0), [0, 1], 'leader'),
      append(1, 'b', { kind: 'unknown', reason: 'IO' }),
      append(2, 'z', { kind: 'unknown', reason: 'IO' }),
    ];
    const finals = [log('n0', ['a']), log('n1', ['a', 'b']), log('n2', ['z'])];
    const found = only(checkHistory(history(appends), finals).violations, '2-identical');
    assert.equal(found.length, 2);
    assert.match(found[0]!, /index 1 \(seq 1\): n0 ends, n1 holds "b"@1/);
    assert.match(found[1]!, /index 0 \(seq 0\): n0 holds "a"@0, n2 holds "z"@0/);
  });

  test('two quorum acknowledgements at one seq are reported even if one log kept each', () => {
    const appends = [append(0, 'a', ok(0)), append(1, 'b', ok(0))];
    const found = checkHistory(history(appends), logs(['a'])).violations;
    assert.ok(
      found.some((v) => /^\[2-committed-twice\] seq 0 .* #0 "a" on n0 and #1 "b" on n0/.test(v)),
      found.join('\n'),
    );
  });

  test('a committed read that is not the final log is reported; an uncommitted one is not', () => {
    const appends = [
      append(0, 'a', ok(0), [0, 10]),
      append(1, 'b', ok(1), [20, 30], 'leader'),
      append(2, 'x', { kind: 'unknown', reason: 'CLOSED' }, [20, null], 'leader'),
    ];
    // "x" at seq 1 on a node that later lost it: uncommitted when read (only seq 0 was).
    const early = read('n2', 0, ['a', 'x'], 50);
    assert.deepEqual(checkHistory(history(appends, [early]), logs(['a', 'b'])).violations, []);
    const committed = { ...read('n2', 1, ['x'], 50), committedBelow: 2 };
    const found = only(
      checkHistory(history(appends, [committed]), logs(['a', 'b'])).violations,
      '3-committed-read',
    );
    assert.match(
      found[0]!,
      /read \[1, 2\) on n2 at 50 ms delivered committed "x"@1 \(committed below 2\) but the final log of n0 holds "b" there/,
    );
  });

  test('a read that shows an append at another seq than it was stored at', () => {
    const appends = [
      append(0, 'a', ok(0)),
      append(1, 'u', { kind: 'unknown', reason: 'REPLICATION_TIMEOUT', seq: 1 }),
    ];
    const found = only(
      checkHistory(history(appends, [read('n1', 2, ['u'])]), logs(['a'])).violations,
      '3-moved',
    );
    assert.match(
      found[0]!,
      /read \[2, 3\) on n1 at 100 ms delivered append #1 "u" at 2, stored at 1/,
    );
  });

  test('a read or tail with a gap or repeat is not a contiguous slice', () => {
    const gap = {
      ...read('n1', 0, ['a', 'b']),
      events: [
        { seq: 0, payload: 'a' },
        { seq: 2, payload: 'c' },
      ],
    };
    assert.match(
      only(
        checkHistory(history(valid().appends, [gap]), logs(['a', 'b', 'c'])).violations,
        '3-contiguous',
      )[0]!,
      /seqs 0,2/,
    );
    const tail: TailSession = {
      id: 7,
      node: 'n1',
      fromSeq: 0,
      startMs: 0,
      end: 'closed',
      deliveries: [
        { seq: 0, payload: 'a', atMs: 1, committedBelow: undefined },
        { seq: 0, payload: 'a', atMs: 2, committedBelow: undefined },
      ],
    };
    const found = only(
      checkHistory(history(valid().appends, [], [tail]), logs(['a', 'b', 'c'])).violations,
      '3-contiguous',
    );
    assert.match(found[0]!, /tail #7 on n1 .* seqs 0,0/);
  });

  test('a committed tail delivery is checked against the final log', () => {
    const tail: TailSession = {
      id: 1,
      node: 'n2',
      fromSeq: 0,
      startMs: 0,
      end: null,
      deliveries: [{ seq: 0, payload: 'x', atMs: 9, committedBelow: 1 }],
    };
    const appends = [append(0, 'a', ok(0)), append(1, 'x', { kind: 'unknown', reason: 'CLOSED' })];
    const found = only(
      checkHistory(history(appends, [], [tail]), logs(['a'])).violations,
      '3-committed-read',
    );
    assert.match(found[0]!, /tail #1 on n2 .* at 9 ms delivered committed "x"@0/);
  });

  test('real-time order: an acknowledged append before another gets the lower seq', () => {
    const appends = [append(0, 'a', ok(1), [0, 10]), append(1, 'b', ok(0), [20, 30])];
    const found = only(checkHistory(history(appends), logs(['b', 'a'])).violations, '4-order');
    assert.match(
      found[0]!,
      /#0 "a" \(seq 1\) completed at 10 ms, before #1 "b" was invoked at 20 ms, yet #1 got seq 0/,
    );
    // Overlapping appends may land in either order.
    const overlapping = [append(0, 'a', ok(1), [0, 30]), append(1, 'b', ok(0), [20, 40])];
    assert.deepEqual(checkHistory(history(overlapping), logs(['b', 'a'])).violations, []);
  });

  test("evicted seqs (below a log's firstSeq) are absent, not lost", () => {
    const finals = ['n0', 'n1'].map((node) => log(node, ['c'], 2));
    assert.deepEqual(checkHistory(history(valid().appends.slice(0, 3)), finals).violations, []);
  });

  test('one bug repeated is reported a few times and then counted', () => {
    const appends = Array.from({ length: 20 }, (_, i) => append(i, `p${i}`, ok(i)));
    const found = checkHistory(history(appends), [
      log(
        'n0',
        appends.map((op) => op.payload),
      ),
      log('n1', []),
    ]).violations;
    const lost = found.filter((v) => v.startsWith('[1-lost]'));
    assert.equal(lost.length, 6);
    assert.equal(lost[5], '[1-lost] … and 15 more');
  });
});
