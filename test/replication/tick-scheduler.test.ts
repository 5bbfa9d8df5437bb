// The shared tick grid: a beat that fires more than half a period late (the event loop was
// blocked) runs its channels one loop turn later, after the frames that arrived meanwhile were
// read, instead of judging peers silent on frames not yet read; an on-time beat runs at once.
// A sleeping subscriber is skipped until the first beat at or after its time, and comes back
// early when woken alone or by the node-wide check.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TICK_SLEEP_MAX_BEATS, TickScheduler } from '../../src/replication/tick-scheduler.js';
import type { Clock, TimerHandle } from '../../src/time/clock.js';

/** A clock whose timers fire only when the test says, at whatever time it set. */
class HandClock implements Clock {
  now = 1_000;
  readonly timers: Array<{ atMs: number; callback: () => void; cancelled: boolean }> = [];
  nowMs(): number {
    return this.now;
  }
  nowNs(): bigint {
    return BigInt(this.now) * 1_000_000n;
  }
  setTimer(delayMs: number, callback: () => void): TimerHandle {
    const timer = { atMs: this.now + Math.max(0, delayMs), callback, cancelled: false };
    this.timers.push(timer);
    return { cancel: () => (timer.cancelled = true) };
  }
  /** Fires the earliest pending timer at `atMs` (late if after its due time). */
  fireNext(atMs?: number): number {
    const pending = this.timers.filter((t) => !t.cancelled).sort((a, b) => a.atMs - b.atMs);
    const next = pending[0];
    assert.ok(next !== undefined, 'a timer is pending');
    next.cancelled = true;
    this.now = Math.max(this.now, atMs ?? next.atMs);
    next.callback();
    return next.atMs;
  }
}

describe('tick scheduler', () => {
  it('an on-time beat runs at once; a late one a loop turn later, once', () => {
    const clock = new HandClock();
    const ticks = new TickScheduler(clock);
    const ran: number[] = [];
    ticks.every(100, () => ran.push(clock.nowMs()));
    assert.equal(clock.fireNext(), 1_100);
    assert.deepEqual(ran, [1_100]);
    // The next beat is due at 1,200 but the loop was blocked until 1,450.
    clock.fireNext(1_450);
    assert.deepEqual(ran, [1_100], 'not run inside the late timer');
    assert.equal(ticks.lateBeats, 1);
    // The zero-delay timer (the loop's next turn, after its I/O) runs it.
    assert.equal(clock.fireNext(), 1_450);
    assert.deepEqual(ran, [1_100, 1_450]);
    // The grid keeps its phase and runs on time again.
    assert.equal(clock.fireNext(), 1_500);
    assert.deepEqual(ran, [1_100, 1_450, 1_500]);
    assert.equal(ticks.beats, 3);
  });

  it('a beat under half a period late runs at once', () => {
    const clock = new HandClock();
    const ticks = new TickScheduler(clock);
    let ran = 0;
    ticks.every(100, () => ran++);
    clock.fireNext(1_140);
    assert.equal(ran, 1);
    assert.equal(ticks.lateBeats, 0);
  });

  it('cancelling the last subscriber cancels a deferred run too', () => {
    const clock = new HandClock();
    const ticks = new TickScheduler(clock);
    let ran = 0;
    const handle = ticks.every(100, () => ran++);
    clock.fireNext(1_300);
    handle.cancel();
    assert.equal(clock.timers.filter((t) => !t.cancelled).length, 0);
    assert.equal(ran, 0);
  });

  describe('sleeping', () => {
    /** A fresh grid on a hand clock, with a log its subscribers write their labels into. */
    function grid(): { clock: HandClock; ticks: TickScheduler; log: string[] } {
      const clock = new HandClock();
      return { clock, ticks: new TickScheduler(clock), log: [] };
    }

    /** Fires the grid's beats up to `untilMs`, returning who ran at each (by label). */
    function beats(
      clock: HandClock,
      ticks: TickScheduler,
      untilMs: number,
      log: string[],
    ): string[] {
      const rounds: string[] = [];
      while (true) {
        const next = clock.timers.filter((t) => !t.cancelled).sort((a, b) => a.atMs - b.atMs)[0];
        if (next === undefined || next.atMs > untilMs) return rounds;
        log.length = 0;
        clock.fireNext();
        ticks.assertInvariants();
        rounds.push(`${clock.nowMs()}:${log.join('')}`);
      }
    }

    it('a sleeper is skipped until the first beat at or after its time, then ticks every beat', () => {
      const { clock, ticks, log } = grid();
      const a = ticks.every(100, () => log.push('a'));
      ticks.every(100, () => log.push('b'));
      clock.fireNext(); // 1,100: both
      a.sleepUntil(1_350); // the first beat at or after 1,350 is 1,400
      assert.equal(ticks.sleeping, 1);
      assert.deepEqual(beats(clock, ticks, 1_600, log), [
        '1200:b',
        '1300:b',
        '1400:ba',
        '1500:ba',
        '1600:ba',
      ]);
      assert.equal(ticks.sleeping, 0);
    });

    it('a time not past the next beat changes nothing', () => {
      const { clock, ticks, log } = grid();
      const a = ticks.every(100, () => log.push('a'));
      clock.fireNext(); // 1,100
      a.sleepUntil(1_200);
      a.sleepUntil(1_150);
      a.sleepUntil(Number.NaN);
      assert.equal(ticks.sleeping, 0);
      assert.deepEqual(beats(clock, ticks, 1_200, log), ['1200:a']);
    });

    it('wake brings a sleeper back at the next beat; a cancelled sleeper never runs', () => {
      const { clock, ticks, log } = grid();
      const a = ticks.every(100, () => log.push('a'));
      const b = ticks.every(100, () => log.push('b'));
      clock.fireNext(); // 1,100
      a.sleepUntil(5_000);
      b.sleepUntil(1_500);
      a.wake();
      b.cancel();
      assert.equal(ticks.size, 1);
      assert.deepEqual(beats(clock, ticks, 1_600, log), [
        '1200:a',
        '1300:a',
        '1400:a',
        '1500:a',
        '1600:a',
      ]);
      // Cancelling the last (sleeping) subscriber stops the grid.
      a.sleepUntil(2_000);
      a.cancel();
      assert.equal(clock.timers.filter((t) => !t.cancelled).length, 0);
    });

    it('the node-wide check wakes every sleeper in the beat it answers true', () => {
      const { clock, ticks, log } = grid();
      const a = ticks.every(100, () => log.push('a'));
      const b = ticks.every(100, () => log.push('b'));
      let lapsed = false;
      const asked: Array<[number, number]> = [];
      ticks.wakeWhen((nowMs, periodMs) => {
        asked.push([nowMs, periodMs]);
        return lapsed;
      });
      clock.fireNext(); // 1,100
      a.sleepUntil(3_000);
      b.sleepUntil(3_000);
      assert.deepEqual(beats(clock, ticks, 1_300, log), ['1200:', '1300:']);
      lapsed = true;
      assert.deepEqual(beats(clock, ticks, 1_400, log), ['1400:ab']);
      assert.deepEqual(asked.at(-1), [1_400, 100]);
    });

    it('a beat that skipped periods wakes the sleepers due at the skipped beats', () => {
      const { clock, ticks, log } = grid();
      const a = ticks.every(100, () => log.push('a'));
      clock.fireNext(); // 1,100
      a.sleepUntil(1_300);
      clock.fireNext(1_420); // the 1,200 beat fired 220 ms late: deferred, stands for 1,400
      log.length = 0;
      clock.fireNext();
      assert.deepEqual(log, ['a']);
    });

    it('a sleep is bounded: the subscriber runs again within TICK_SLEEP_MAX_BEATS beats', () => {
      const clock = new HandClock();
      const ticks = new TickScheduler(clock);
      let ran = 0;
      const a = ticks.every(100, () => ran++);
      clock.fireNext(); // 1,100, beat 0
      a.sleepUntil(Number.POSITIVE_INFINITY);
      ran = 0;
      let fired = 0;
      while (ran === 0) {
        clock.fireNext();
        fired++;
        ticks.assertInvariants();
      }
      assert.equal(fired, TICK_SLEEP_MAX_BEATS);
    });
  });
});
