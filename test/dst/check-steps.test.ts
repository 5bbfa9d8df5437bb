// The per-step checker on hand-built node views: each rule, broken once, is reported with the
// node, epoch and seq it concerns; rules whose fields a runtime does not expose are reported as
// not checked instead of passing.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type NodeView, StepChecker } from './check-steps.js';

/** A node view with epochs: `epochs[seq]` is the epoch of the event at seq. */
function view(
  name: string,
  role: NodeView['role'],
  epoch: number,
  commitSeq: number,
  epochs: readonly number[],
  life = 1,
): NodeView {
  return {
    name,
    life,
    role,
    epoch,
    commitSeq,
    nextSeq: epochs.length,
    epochOf: (seq) => epochs[seq],
  };
}

describe('StepChecker', () => {
  test('a valid sequence of steps passes and every rule runs', () => {
    const steps = new StepChecker();
    steps.observe([view('n0', 'leader', 1, 0, []), view('n1', 'replica', 1, 0, [])], 0);
    steps.observe([view('n0', 'leader', 1, 2, [1, 1]), view('n1', 'replica', 1, 1, [1])], 10);
    steps.entries(
      view('n0', 'leader', 1, 2, [1, 1]),
      [
        { seq: 0, payload: 'a' },
        { seq: 1, payload: 'b' },
      ],
      10,
    );
    steps.entries(view('n1', 'replica', 1, 1, [1]), [{ seq: 0, payload: 'a' }], 10);
    // A new leader in a new epoch; the old one follows and keeps its committed prefix.
    steps.observe([view('n0', 'replica', 2, 2, [1, 1]), view('n1', 'leader', 2, 2, [1, 1, 2])], 20);
    steps.commit(2, 'c', 'quorum-acknowledged #2', 20);
    assert.deepEqual(steps.violations, []);
    assert.deepEqual(steps.notes(), []);
  });

  test('without epochs or commitSeq the rules are reported as not checked', () => {
    const steps = new StepChecker();
    steps.observe([{ name: 'n0', life: 1, role: 'leader', nextSeq: 3 }], 0);
    steps.observe([{ name: 'n0', life: 1, role: 'leader', nextSeq: 1 }], 10);
    assert.deepEqual(steps.violations, []);
    const notes = steps.notes().join('\n');
    assert.match(notes, /at most one leader per epoch.*not checked \(no epochs yet\)/);
    assert.match(notes, /no truncation at or below it.*not checked \(no commitSeq yet/);
    assert.match(
      notes,
      /equal \(seq, epoch\) implies equal prefixes: not checked \(no epochOf yet\)/,
    );
  });

  test('two leaders in one epoch', () => {
    const steps = new StepChecker();
    steps.observe([view('n0', 'leader', 3, 0, [])], 0);
    steps.observe([view('n0', 'replica', 3, 0, []), view('n2', 'leader', 3, 0, [])], 10);
    assert.deepEqual(steps.violations, [
      '[5-one-leader] at 10 ms epoch 3 has a second leader: n0 then n2',
    ]);
  });

  test('an epoch that goes back, across a restart too', () => {
    const steps = new StepChecker();
    steps.observe([view('n1', 'replica', 4, 0, [], 1)], 0);
    steps.observe([view('n1', 'replica', 2, 0, [], 2)], 10);
    assert.deepEqual(steps.violations, [
      "[5-epoch] at 10 ms n1's epoch went back from 4 to 2 across its restart",
    ]);
  });

  test('across a restart only the durable epoch may not go back (one adopted in memory may)', () => {
    const steps = new StepChecker();
    // Epoch 4 adopted in memory, 3 durable: a crash in between restarts at 3.
    steps.observe([{ ...view('n1', 'replica', 4, 0, [], 1), durableEpoch: 3 }], 0);
    steps.observe([{ ...view('n1', 'replica', 3, 0, [], 2), durableEpoch: 3 }], 10);
    assert.deepEqual(steps.violations, []);
    steps.observe([{ ...view('n1', 'replica', 2, 0, [], 3), durableEpoch: 2 }], 20);
    assert.deepEqual(steps.violations, [
      "[5-epoch] at 20 ms n1's epoch went back from 3 to 2 across its restart",
    ]);
    // Within one life the epoch in memory never goes back either.
    const same = new StepChecker();
    same.observe([{ ...view('n1', 'replica', 4, 0, [], 1), durableEpoch: 3 }], 0);
    same.observe([{ ...view('n1', 'replica', 3, 0, [], 1), durableEpoch: 3 }], 10);
    assert.deepEqual(same.violations, ["[5-epoch] at 10 ms n1's epoch went back from 4 to 3"]);
  });

  test('a commitSeq that goes back within one life; a restart may start it lower', () => {
    const steps = new StepChecker();
    steps.observe([view('n1', 'replica', 1, 2, [1, 1])], 0);
    steps.observe([view('n1', 'replica', 1, 1, [1, 1])], 10);
    assert.deepEqual(steps.violations, [
      "[5-commit] at 10 ms n1's commitSeq went back from 2 to 1",
    ]);
    const restarted = new StepChecker();
    restarted.observe([view('n1', 'replica', 1, 2, [1, 1], 1)], 0);
    restarted.observe([view('n1', 'replica', 1, 0, [1, 1], 2)], 10);
    assert.deepEqual(restarted.violations, []);
  });

  test('a truncation at or below commitSeq: shorter log, or a rewritten committed event', () => {
    const shorter = new StepChecker();
    shorter.observe([view('n2', 'replica', 1, 3, [1, 1, 1])], 0);
    shorter.observe([view('n2', 'replica', 1, 3, [1, 1], 2)], 10);
    assert.deepEqual(shorter.violations, [
      '[5-truncation] at 10 ms n2 holds only up to 2 but had committed below 3 before its restart',
    ]);
    const rewritten = new StepChecker();
    rewritten.observe([view('n2', 'replica', 1, 2, [1, 1, 1])], 0);
    rewritten.observe([view('n2', 'replica', 2, 2, [1, 2, 2])], 10);
    assert.deepEqual(rewritten.violations, [
      "[5-truncation] at 10 ms n2's committed seq 1 changed epoch from 1 to 2",
    ]);
    // Truncating above commitSeq is what a follower of a new leader does: fine.
    const allowed = new StepChecker();
    allowed.observe([view('n2', 'replica', 1, 1, [1, 1, 1])], 0);
    allowed.observe([view('n2', 'replica', 2, 1, [1, 2])], 10);
    assert.deepEqual(allowed.violations, []);
  });

  test('equal (seq, epoch) with a different payload or a different prefix', () => {
    const payload = new StepChecker();
    payload.entries(view('n0', 'leader', 1, 0, [1]), [{ seq: 0, payload: 'a' }], 0);
    payload.entries(view('n1', 'replica', 1, 0, [1]), [{ seq: 0, payload: 'b' }], 10);
    assert.match(
      payload.violations[0]!,
      /^\[5-log-matching\] at 10 ms n0 and n1 both hold seq 0 of epoch 1 but differ: "a" after epoch undefined vs "b"/,
    );
    const prefix = new StepChecker();
    prefix.entries(view('n0', 'leader', 2, 0, [1, 2]), [{ seq: 1, payload: 'x' }], 0);
    prefix.entries(view('n1', 'replica', 2, 0, [2, 2]), [{ seq: 1, payload: 'x' }], 10);
    assert.match(
      prefix.violations[0]!,
      /seq 1 of epoch 2 but differ: "x" after epoch 1 vs "x" after epoch 2/,
    );
  });

  test('a committed seq with two payloads: from quorum acknowledgements or from a node below its commitSeq', () => {
    const steps = new StepChecker();
    steps.commit(5, 'a', 'quorum-acknowledged #1 on n0', 0);
    steps.commit(5, 'a', 'quorum-acknowledged #1 on n0', 1);
    assert.deepEqual(steps.violations, []);
    steps.entries(view('n3', 'replica', 1, 6, [1, 1, 1, 1, 1, 1]), [{ seq: 5, payload: 'b' }], 20);
    assert.deepEqual(steps.violations, [
      '[2-committed] at 20 ms seq 5 is committed with two payloads: "a" (quorum-acknowledged #1 on n0) and "b" (n3\'s log below commitSeq 6)',
    ]);
    // Above its commitSeq a node may hold anything (it is not committed there yet).
    const uncommitted = new StepChecker();
    uncommitted.commit(5, 'a', 'quorum-acknowledged #1 on n0', 0);
    uncommitted.entries(
      view('n3', 'replica', 1, 5, [1, 1, 1, 1, 1, 1]),
      [{ seq: 5, payload: 'b' }],
      20,
    );
    assert.deepEqual(uncommitted.violations, []);
  });
});
