// How long the client keeps trying when a request may safely be sent again (a node that refused
// the connection, NOT_LEADER during an election, a node shutting down): a time budget, a cap on
// attempts, and exponential pauses between rounds. No jitter: pauses are short and a client
// rarely shares a failover with thousands of others; see docs/CLIENT.md.

import type { ClientClock } from './timer.js';

export interface RetryPolicy {
  /** Stop retrying once this long has passed since the first attempt (ms). */
  readonly forMs: number;
  /** Attempts in all, the first included. */
  readonly attempts: number;
  /** The first pause (ms); each later one doubles, up to `backoffMaxMs`. */
  readonly backoffMs: number;
  readonly backoffMaxMs: number;
}

export const RETRY_DEFAULTS: RetryPolicy = {
  forMs: 15_000,
  attempts: 100,
  backoffMs: 25,
  backoffMaxMs: 1_000,
};
/** A caller's `attempts` is clamped to this. */
export const RETRY_ATTEMPTS_MAX = 1_000;

export class RetryBudget {
  readonly #policy: RetryPolicy;
  readonly #clock: ClientClock;
  #startedMs: number;
  #attempts = 1;
  #pauses = 0;

  constructor(policy: RetryPolicy, clock: ClientClock) {
    this.#policy = policy;
    this.#clock = clock;
    this.#startedMs = clock.nowMs();
  }

  /** Starts over (a stream that connected again has a fresh budget for its next break). */
  reset(): void {
    this.#startedMs = this.#clock.nowMs();
    this.#attempts = 1;
    this.#pauses = 0;
  }

  /** Counts one more attempt; false when the budget is spent. */
  take(): boolean {
    if (this.#attempts >= Math.min(this.#policy.attempts, RETRY_ATTEMPTS_MAX)) return false;
    if (this.#clock.nowMs() - this.#startedMs >= this.#policy.forMs) return false;
    this.#attempts++;
    return true;
  }

  /** The next pause: doubling from `backoffMs`, at most `backoffMaxMs`. */
  nextPauseMs(): number {
    const pause = this.#policy.backoffMs * 2 ** Math.min(this.#pauses, 30);
    this.#pauses++;
    return Math.min(pause, this.#policy.backoffMaxMs);
  }
}
