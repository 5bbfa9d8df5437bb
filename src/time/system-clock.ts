import type { Clock, TimerHandle } from './clock.js';

const NS_PER_MS = 1_000_000n;

/**
 * The real clock. Epoch time is anchored once to Date.now() and then advanced by the monotonic
 * hrtime, so readings never go backwards when the wall clock is adjusted.
 */
export class SystemClock implements Clock {
  readonly #epochNsAtStart = BigInt(Date.now()) * NS_PER_MS;
  readonly #hrtimeAtStart = process.hrtime.bigint();

  nowNs(): bigint {
    return this.#epochNsAtStart + (process.hrtime.bigint() - this.#hrtimeAtStart);
  }

  nowMs(): number {
    return Number(this.nowNs() / NS_PER_MS);
  }

  setTimer(delayMs: number, callback: () => void): TimerHandle {
    if (!(delayMs > 0)) {
      // A zero delay runs right after this turn's I/O: setTimeout would wait at least 1 ms. Not
      // unref'd: an unref'd immediate lets the loop sleep in poll until the next timer or I/O.
      const immediate = setImmediate(callback);
      return { cancel: () => clearImmediate(immediate) };
    }
    const timer = setTimeout(callback, delayMs);
    // A pending timer alone must not keep the process alive (heartbeats, backoffs).
    timer.unref();
    return { cancel: () => clearTimeout(timer) };
  }
}

export const systemClock: Clock = new SystemClock();
