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
    const timer = setTimeout(callback, Math.max(0, delayMs));
    // A pending timer alone must not keep the process alive (heartbeats, backoffs).
    timer.unref();
    return { cancel: () => clearTimeout(timer) };
  }
}

export const systemClock: Clock = new SystemClock();
