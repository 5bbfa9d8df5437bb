import type { Clock, TimerHandle } from './clock.js';

const NS_PER_MS = 1_000_000n;

interface VirtualTimer {
  readonly dueMs: number;
  /** Insertion order: timers due at the same instant run in the order they were set. */
  readonly order: number;
  readonly callback: () => void;
  cancelled: boolean;
}

/** Timers allowed at one virtual instant before `advance` reports a zero-delay loop. */
export const TIMERS_PER_INSTANT_MAX = 100_000;

/** Lets every pending promise callback run: setImmediate fires only after the microtask queue is empty. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Simulated time. Nothing happens until the test calls `advance`/`advanceTo`/`runAll`, which run
 * due timers in (due time, insertion order), deterministically, and let promise callbacks settle
 * between timers so async code reacts exactly as it would in real time.
 */
export class VirtualClock implements Clock {
  #nowMs: number;
  #nextOrder = 0;
  // A binary heap keyed by (dueMs, order); timer counts in simulations reach the thousands.
  readonly #heap: VirtualTimer[] = [];

  constructor(startMs = 1_700_000_000_000) {
    if (!Number.isSafeInteger(startMs) || startMs < 0) {
      throw new RangeError(
        `VirtualClock: startMs must be a non-negative safe integer, got ${startMs}`,
      );
    }
    this.#nowMs = startMs;
  }

  nowMs(): number {
    return Math.floor(this.#nowMs);
  }

  nowNs(): bigint {
    return BigInt(Math.floor(this.#nowMs)) * NS_PER_MS;
  }

  /** Timers not yet fired or cancelled. */
  get pendingTimers(): number {
    let count = 0;
    for (const timer of this.#heap) if (!timer.cancelled) count++;
    return count;
  }

  setTimer(delayMs: number, callback: () => void): TimerHandle {
    const delay = Number.isFinite(delayMs) ? Math.max(0, delayMs) : 0;
    const timer: VirtualTimer = {
      dueMs: this.#nowMs + delay,
      order: this.#nextOrder++,
      callback,
      cancelled: false,
    };
    this.#push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  /** Moves time forward by `ms`, running every timer that falls due on the way. */
  advance(ms: number): Promise<void> {
    if (!(ms >= 0)) throw new RangeError(`VirtualClock.advance: ms must be ≥ 0, got ${ms}`);
    return this.advanceTo(this.#nowMs + ms);
  }

  async advanceTo(targetMs: number): Promise<void> {
    await settle();
    let instant = Number.NaN;
    let atInstant = 0;
    for (;;) {
      const next = this.#peekLive();
      if (next === undefined || next.dueMs > targetMs) break;
      this.#pop();
      this.#nowMs = Math.max(this.#nowMs, next.dueMs);
      if (this.#nowMs === instant) {
        if (++atInstant > TIMERS_PER_INSTANT_MAX) {
          throw new Error(
            `VirtualClock: more than ${TIMERS_PER_INSTANT_MAX} timers ran at t=${this.#nowMs} without time moving; a zero-delay timer loop?`,
          );
        }
      } else {
        instant = this.#nowMs;
        atInstant = 0;
      }
      next.callback();
      await settle();
    }
    this.#nowMs = Math.max(this.#nowMs, targetMs);
    await settle();
  }

  /** Runs timers until none is left or `maxTimers` ran (a guard against self-rescheduling loops). */
  async runAll(maxTimers = 100_000): Promise<number> {
    let ran = 0;
    await settle();
    for (;;) {
      const next = this.#peekLive();
      if (next === undefined) return ran;
      if (ran >= maxTimers) {
        throw new Error(`VirtualClock.runAll: still busy after ${maxTimers} timers`);
      }
      this.#pop();
      this.#nowMs = Math.max(this.#nowMs, next.dueMs);
      next.callback();
      ran++;
      await settle();
    }
  }

  #peekLive(): VirtualTimer | undefined {
    while (this.#heap.length > 0 && this.#heap[0]!.cancelled) this.#pop();
    return this.#heap[0];
  }

  #before(a: VirtualTimer, b: VirtualTimer): boolean {
    return a.dueMs < b.dueMs || (a.dueMs === b.dueMs && a.order < b.order);
  }

  #push(timer: VirtualTimer): void {
    const heap = this.#heap;
    heap.push(timer);
    let index = heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!this.#before(heap[index]!, heap[parent]!)) break;
      [heap[index], heap[parent]] = [heap[parent]!, heap[index]!];
      index = parent;
    }
  }

  #pop(): VirtualTimer | undefined {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last !== undefined) {
      heap[0] = last;
      let index = 0;
      for (;;) {
        const left = index * 2 + 1;
        const right = left + 1;
        let smallest = index;
        if (left < heap.length && this.#before(heap[left]!, heap[smallest]!)) smallest = left;
        if (right < heap.length && this.#before(heap[right]!, heap[smallest]!)) smallest = right;
        if (smallest === index) break;
        [heap[index], heap[smallest]] = [heap[smallest]!, heap[index]!];
        index = smallest;
      }
    }
    return top;
  }
}
