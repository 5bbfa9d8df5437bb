import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { LeadershipLostError } from '../../src/log/errors.js';
import {
  type AckCondition,
  type AckView,
  CommitWaiters,
} from '../../src/replication/commit-waiters.js';
import { DeadlineQueues } from '../../src/replication/deadline-queues.js';
import { SeqQueue } from '../../src/replication/seq-queue.js';
import { VirtualClock } from '../../src/time/virtual-clock.js';

interface ViewState {
  epoch: number;
  leading: boolean;
  commitSeq: number;
  tails: number[];
}

function viewOf(state: ViewState): AckView {
  return {
    epoch: state.epoch,
    leading: state.leading,
    commitSeq: state.commitSeq,
    holding: (seq) => state.tails.filter((tail) => tail > seq).length,
    replicaCount: state.tails.length,
  };
}

/** What a waiter should have become under `view`, checked one by one (the old full scan). */
function modelOutcome(condition: AckCondition, view: AckView): 'ok' | 'lost' | null {
  const epochBound = condition.epoch !== null;
  if (epochBound && (condition.epoch !== view.epoch || !view.leading)) return 'lost';
  if (view.commitSeq <= condition.seq) return null;
  if (condition.replicas === 'commit') return 'ok';
  const needed = condition.replicas === 'all' ? view.replicaCount : condition.replicas;
  return view.holding(condition.seq) >= needed ? 'ok' : null;
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('SeqQueue', () => {
  it('keeps seq order whatever the push order, and settles from the front only', () => {
    const queue = new SeqQueue<{ seq: number; done: boolean }>();
    for (const seq of [5, 1, 9, 3, 3, 7]) queue.push({ seq, done: false });
    assert.deepEqual(
      queue.pending().map((item) => item.seq),
      [1, 3, 3, 5, 7, 9],
    );
    const taken: number[] = [];
    queue.settleFront(
      (item) => item.seq < 4,
      (item) => taken.push(item.seq),
    );
    assert.deepEqual(taken, [1, 3, 3]);
    assert.equal(queue.size, 3);
    assert.equal(queue.peek()?.seq, 5);
  });

  it('skips and compacts items that left early', () => {
    const queue = new SeqQueue<{ seq: number; done: boolean }>();
    const items = Array.from({ length: 200 }, (_, seq) => ({ seq, done: false }));
    for (const item of items) queue.push(item);
    for (const item of items.slice(0, 150)) {
      item.done = true;
      queue.forgetOne();
    }
    assert.equal(queue.size, 50);
    assert.equal(queue.peek()?.seq, 150);
    assert.equal(queue.pending().length, 50);
  });
});

describe('CommitWaiters', () => {
  it('settles exactly the waiters a one-by-one check would, in any order of views (property)', async () => {
    const condition = fc.record({
      seq: fc.nat(40),
      epoch: fc.oneof(fc.constant(null), fc.integer({ min: 1, max: 3 })),
      replicas: fc.oneof(
        fc.constant<'commit'>('commit'),
        fc.constant<'all'>('all'),
        fc.integer({ min: 0, max: 2 }),
      ),
    });
    const viewChange = fc.record({
      epoch: fc.integer({ min: 1, max: 3 }),
      leading: fc.boolean(),
      commitSeq: fc.nat(45),
      tails: fc.tuple(fc.nat(45), fc.nat(45)),
    });
    const step = fc.oneof(
      fc.record({ kind: fc.constant<'wait'>('wait'), condition }),
      fc.record({ kind: fc.constant<'view'>('view'), view: viewChange }),
      fc.record({ kind: fc.constant<'timeout'>('timeout') }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 60 }), async (steps) => {
        const clock = new VirtualClock();
        const state: ViewState = { epoch: 1, leading: true, commitSeq: 0, tails: [0, 0] };
        const waiters = new CommitWaiters('c', clock, () => viewOf(state));
        const outcomes: ('pending' | 'ok' | 'lost' | 'timeout')[] = [];
        const conditions: AckCondition[] = [];
        for (const s of steps) {
          if (s.kind === 'wait') {
            const index = outcomes.length;
            outcomes.push('pending');
            conditions.push(s.condition);
            waiters.wait(s.condition, { timeoutMs: 1_000 }).then(
              () => {
                outcomes[index] = 'ok';
              },
              (error: unknown) => {
                outcomes[index] = error instanceof LeadershipLostError ? 'lost' : 'timeout';
              },
            );
            await flush();
          } else if (s.kind === 'view') {
            state.epoch = s.view.epoch;
            state.leading = s.view.leading;
            state.commitSeq = Math.max(state.commitSeq, s.view.commitSeq);
            state.tails = [...s.view.tails];
            const view = viewOf(state);
            const expected = outcomes.map((outcome, i) =>
              outcome === 'pending' ? (modelOutcome(conditions[i]!, view) ?? 'pending') : outcome,
            );
            waiters.update();
            await flush();
            assert.deepEqual(outcomes, expected);
          } else {
            await clock.advance(1_000);
            await flush();
            for (const outcome of outcomes) assert.notEqual(outcome, 'pending');
          }
          waiters.assertInvariants();
          assert.equal(
            waiters.size,
            outcomes.filter((outcome) => outcome === 'pending').length,
            'size counts the pending waiters',
          );
        }
      }),
      { numRuns: 300 },
    );
  });

  it('an update settles only what it satisfies: 10,000 waiters behind a slow commit cost one check per update', async () => {
    const clock = new VirtualClock();
    const state: ViewState = { epoch: 1, leading: true, commitSeq: 0, tails: [0, 0] };
    let checks = 0;
    const waiters = new CommitWaiters('c', clock, () => {
      const view = viewOf(state);
      return {
        ...view,
        holding: (seq: number) => {
          checks++;
          return view.holding(seq);
        },
      };
    });
    const done: Promise<void>[] = [];
    for (let seq = 0; seq < 10_000; seq++) done.push(waiters.wait({ seq, epoch: 1, replicas: 1 }));
    checks = 0;
    for (let i = 0; i < 100; i++) waiters.update();
    assert.equal(checks, 0, 'commit below every waiter: the front waiter fails before counting');
    state.commitSeq = 10;
    state.tails = [10, 0];
    waiters.update();
    assert.equal(checks, 10, 'ten settled; the eleventh fails on the commit before counting');
    assert.equal(waiters.size, 9_990);
    state.epoch = 2;
    waiters.update();
    assert.equal(waiters.size, 0);
    const settled = await Promise.allSettled(done);
    assert.equal(settled.filter((r) => r.status === 'fulfilled').length, 10);
    assert.ok(
      settled
        .slice(10)
        .every((r) => r.status === 'rejected' && r.reason instanceof LeadershipLostError),
    );
  });
});

describe('CommitWaiters: one shared timeout timer', () => {
  const pendingView = (): AckView =>
    viewOf({ epoch: 1, leading: true, commitSeq: 0, tails: [0, 0] });

  it('each waiter times out at its own deadline, in any order of timeouts, with one timer', async () => {
    const clock = new VirtualClock();
    const waiters = new CommitWaiters('t', clock, pendingView);
    const outcome = new Map<string, number>();
    const started = clock.nowMs();
    const track = (name: string, promise: Promise<void>) =>
      promise.then(
        () => outcome.set(name, -1),
        (error: { code?: string; timeoutMs?: number }) => {
          assert.equal(error.code, 'REPLICATION_TIMEOUT');
          outcome.set(name, clock.nowMs() - started);
        },
      );
    const all = [
      track('late', waiters.wait({ seq: 5, epoch: 1, replicas: 'commit' }, { timeoutMs: 300 })),
      track('early', waiters.wait({ seq: 6, epoch: 1, replicas: 1 }, { timeoutMs: 100 })),
      track('middle', waiters.wait({ seq: 7, epoch: 1, replicas: 'all' }, { timeoutMs: 200 })),
    ];
    assert.equal(clock.pendingTimers, 1, 'one timer, whatever the number of waiters');
    await clock.advance(99);
    assert.equal(outcome.size, 0);
    await clock.advance(1);
    await flush();
    assert.deepEqual([...outcome], [['early', 100]]);
    waiters.assertInvariants();
    await clock.advance(200);
    await Promise.all(all);
    assert.deepEqual(Object.fromEntries(outcome), { early: 100, middle: 200, late: 300 });
    assert.equal(waiters.size, 0);
    assert.equal(clock.pendingTimers, 0, 'no timer left once no waiter is pending');
    waiters.assertInvariants();
  });

  it('a waiter settled before its deadline leaves no timeout behind, and the others keep theirs', async () => {
    const state: ViewState = { epoch: 1, leading: true, commitSeq: 0, tails: [0] };
    const clock = new VirtualClock();
    const waiters = new CommitWaiters('t', clock, () => viewOf(state));
    const first = waiters.wait({ seq: 0, epoch: 1, replicas: 'commit' }, { timeoutMs: 50 });
    let laterFailed: unknown = null;
    const later = waiters
      .wait({ seq: 9, epoch: 1, replicas: 'commit' }, { timeoutMs: 80 })
      .catch((error: unknown) => {
        laterFailed = error;
      });
    state.commitSeq = 1;
    waiters.update();
    await first;
    await clock.advance(50); // the timer armed for the first fires, and is armed for the later one
    await flush();
    assert.equal(laterFailed, null);
    assert.equal(clock.pendingTimers, 1);
    waiters.assertInvariants();
    await clock.advance(30);
    await later;
    assert.equal((laterFailed as { code?: string } | null)?.code, 'REPLICATION_TIMEOUT');
    assert.equal(clock.pendingTimers, 0);
  });

  it('settling or closing the last waiter cancels the timer', async () => {
    const state: ViewState = { epoch: 1, leading: true, commitSeq: 0, tails: [] };
    const clock = new VirtualClock();
    const waiters = new CommitWaiters('t', clock, () => viewOf(state));
    const settled = waiters.wait({ seq: 3, epoch: 1, replicas: 'commit' });
    assert.equal(clock.pendingTimers, 1);
    state.commitSeq = 4;
    waiters.update();
    await settled;
    assert.equal(clock.pendingTimers, 0);
    const closed = waiters.wait({ seq: 4, epoch: 1, replicas: 'commit' });
    waiters.close(new Error('closed'));
    await assert.rejects(closed, /closed/);
    assert.equal(clock.pendingTimers, 0);
    waiters.assertInvariants();
  });
});

describe('DeadlineQueues', () => {
  interface Wait {
    timeoutMs: number;
    deadlineMs: number;
    done: boolean;
  }

  it('holds about what is pending, however many settled behind a long wait', () => {
    const queues = new DeadlineQueues<Wait>();
    const old: Wait = { timeoutMs: 30_000, deadlineMs: 30_000, done: false };
    queues.add(old);
    for (let i = 1; i <= 10_000; i++) {
      const wait: Wait = { timeoutMs: 30_000, deadlineMs: 30_000 + i, done: false };
      queues.add(wait);
      wait.done = true;
      queues.settled(wait);
      assert.ok(queues.held <= 3 + 32 + 1, `held ${queues.held} after ${i}`);
    }
    assert.equal(queues.pending, 1);
    assert.equal(queues.nextDeadline(), 30_000);
    assert.deepEqual(queues.takeDue(30_000), [old]);
  });

  it('gives the due waits of every timeout and the next deadline, as a scan would (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ kind: fc.constant('add' as const), timeout: fc.constantFrom(5, 20, 100) }),
            fc.record({ kind: fc.constant('settle' as const), pick: fc.nat() }),
            fc.record({ kind: fc.constant('tick' as const), ms: fc.nat({ max: 30 }) }),
          ),
          { maxLength: 120 },
        ),
        (ops) => {
          const queues = new DeadlineQueues<Wait>();
          let pending: Wait[] = [];
          let now = 0;
          for (const op of ops) {
            if (op.kind === 'add') {
              const wait = { timeoutMs: op.timeout, deadlineMs: now + op.timeout, done: false };
              queues.add(wait);
              pending.push(wait);
            } else if (op.kind === 'settle' && pending.length > 0) {
              const wait = pending[op.pick % pending.length]!;
              wait.done = true;
              queues.settled(wait);
              pending = pending.filter((w) => w !== wait);
            } else if (op.kind === 'tick') {
              now += op.ms;
              const due = queues.takeDue(now);
              const expected = pending.filter((w) => w.deadlineMs <= now);
              assert.deepEqual(new Set(due), new Set(expected));
              for (const wait of due) {
                wait.done = true;
                queues.settled(wait);
              }
              pending = pending.filter((w) => !w.done);
            }
            assert.equal(queues.pending, pending.length);
            const next = Math.min(...pending.map((w) => w.deadlineMs));
            assert.equal(queues.nextDeadline(), next);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('CommitWaiters: many deadlines', () => {
  it('20,000 waiters a millisecond apart each time out at their own deadline', async () => {
    const clock = new VirtualClock();
    const waiters = new CommitWaiters('t', clock, () =>
      viewOf({ epoch: 1, leading: true, commitSeq: 0, tails: [0] }),
    );
    const started = clock.nowMs();
    const late: number[] = [];
    const all: Promise<void>[] = [];
    for (let i = 0; i < 20_000; i++) {
      if (i % 100 === 0) await clock.advance(1);
      const deadline = clock.nowMs() + 1_000;
      all.push(
        waiters.wait({ seq: i, epoch: 1, replicas: 'commit' }, { timeoutMs: 1_000 }).catch(() => {
          if (clock.nowMs() !== deadline) late.push(i);
        }),
      );
    }
    assert.equal(clock.pendingTimers, 1);
    await clock.advanceTo(started + 1_300);
    await Promise.all(all);
    assert.deepEqual(late, []);
    assert.equal(waiters.size, 0);
    assert.equal(clock.pendingTimers, 0);
    waiters.assertInvariants();
  });
});
