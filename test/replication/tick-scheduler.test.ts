// The shared tick grid: a beat that fires more than half a period late (the event loop was
// blocked) runs its channels one loop turn later, after the frames that arrived meanwhile were
// read, instead of judging peers silent on frames not yet read; an on-time beat runs at once.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TickScheduler } from '../../src/replication/tick-scheduler.js';
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
});
