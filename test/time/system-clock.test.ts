// SystemClock timers: a zero delay runs on the next turn of the event loop, not after setTimeout's
// 1 ms floor and not only once some other timer or I/O wakes the loop (the leader's append
// announcement rides on it: bench/BENCHMARKS, issue 10).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SystemClock } from '../../src/time/system-clock.js';

const clock = new SystemClock();

describe('SystemClock.setTimer', () => {
  it('runs a zero-delay timer before a 1 ms one, and a negative delay like zero', async () => {
    const order: string[] = [];
    await new Promise<void>((resolve) => {
      clock.setTimer(1, () => {
        order.push('1 ms');
        resolve();
      });
      clock.setTimer(0, () => order.push('0 ms'));
      clock.setTimer(-5, () => order.push('-5 ms'));
    });
    assert.deepEqual(order, ['0 ms', '-5 ms', '1 ms']);
  });

  it('a zero-delay timer does not wait for the next timer to wake the loop', async () => {
    // Scheduled from a timer callback while only a 200 ms timer is pending: an unref'd immediate
    // would let the loop sleep in poll until that timer.
    const elapsed = await new Promise<number>((resolve) => {
      const keepAlive = setTimeout(() => {}, 200);
      setTimeout(() => {
        const started = performance.now();
        clock.setTimer(0, () => {
          clearTimeout(keepAlive);
          resolve(performance.now() - started);
        });
      }, 1);
    });
    assert.ok(elapsed < 50, `fired after ${elapsed.toFixed(1)} ms`);
  });

  it('cancel stops a pending timer, zero delay or not', async () => {
    let fired = 0;
    clock.setTimer(0, () => fired++).cancel();
    clock.setTimer(1, () => fired++).cancel();
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(fired, 0);
  });
});
