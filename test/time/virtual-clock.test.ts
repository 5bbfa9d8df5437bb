import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sleep } from '../../src/time/clock.js';
import { VirtualClock } from '../../src/time/virtual-clock.js';

describe('VirtualClock', () => {
  test('runs due timers in time order, ties in insertion order', async () => {
    const clock = new VirtualClock(0);
    const fired: string[] = [];
    clock.setTimer(30, () => fired.push('c@30'));
    clock.setTimer(10, () => fired.push('a@10'));
    clock.setTimer(10, () => fired.push('b@10'));
    clock.setTimer(50, () => fired.push('d@50'));
    await clock.advance(30);
    assert.deepEqual(fired, ['a@10', 'b@10', 'c@30']);
    assert.equal(clock.nowMs(), 30);
    await clock.advance(19);
    assert.deepEqual(fired, ['a@10', 'b@10', 'c@30']);
    await clock.advance(1);
    assert.deepEqual(fired, ['a@10', 'b@10', 'c@30', 'd@50']);
  });

  test('time seen inside a callback is the timer due time', async () => {
    const clock = new VirtualClock(1000);
    const seen: number[] = [];
    clock.setTimer(5, () => seen.push(clock.nowMs()));
    clock.setTimer(7, () => seen.push(clock.nowMs()));
    await clock.advance(100);
    assert.deepEqual(seen, [1005, 1007]);
    assert.equal(clock.nowMs(), 1100);
    assert.equal(clock.nowNs(), 1_100_000_000n);
  });

  test('cancel prevents firing and is idempotent', async () => {
    const clock = new VirtualClock(0);
    let fired = 0;
    const timer = clock.setTimer(10, () => fired++);
    timer.cancel();
    timer.cancel();
    await clock.advance(20);
    assert.equal(fired, 0);
    assert.equal(clock.pendingTimers, 0);
  });

  test('lets promise chains settle between timers', async () => {
    const clock = new VirtualClock(0);
    const log: string[] = [];
    const worker = async () => {
      await sleep(clock, 10);
      log.push(`woke@${clock.nowMs()}`);
      await Promise.resolve();
      await Promise.resolve();
      log.push('after microtasks');
      await sleep(clock, 10);
      log.push(`woke again@${clock.nowMs()}`);
    };
    const done = worker();
    await clock.advance(15);
    assert.deepEqual(log, ['woke@10', 'after microtasks']);
    await clock.advance(5);
    await done;
    assert.deepEqual(log, ['woke@10', 'after microtasks', 'woke again@20']);
  });

  test('timers scheduled by callbacks run in the same advance when due', async () => {
    const clock = new VirtualClock(0);
    const ticks: number[] = [];
    const every = (period: number) => {
      clock.setTimer(period, () => {
        ticks.push(clock.nowMs());
        if (ticks.length < 5) every(period);
      });
    };
    every(100);
    await clock.advance(1000);
    assert.deepEqual(ticks, [100, 200, 300, 400, 500]);
  });

  test('runAll stops a runaway loop', async () => {
    const clock = new VirtualClock(0);
    const forever = () => clock.setTimer(1, forever);
    forever();
    await assert.rejects(clock.runAll(50), /still busy after 50 timers/);
  });

  test('sleep rejects when aborted and cancels its timer', async () => {
    const clock = new VirtualClock(0);
    const controller = new AbortController();
    const slept = sleep(clock, 100, controller.signal);
    controller.abort(new Error('stop'));
    await assert.rejects(slept, /stop/);
    assert.equal(clock.pendingTimers, 0);
  });

  test('rejects negative advances', () => {
    const clock = new VirtualClock(0);
    assert.throws(() => clock.advance(-1), RangeError);
  });
});
