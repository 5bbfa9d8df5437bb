// Time as an injected dependency. Everything below src/node and src/cli takes a `Clock` instead of
// calling Date.now/setTimeout, so the deterministic simulation can run the same code in virtual
// time and replay any failure from its seed.

/** A scheduled callback; `cancel()` is idempotent and safe after the timer fired. */
export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the Unix epoch, an integer. Monotonic within one clock. */
  nowMs(): number;
  /** Nanoseconds since the Unix epoch. Monotonic within one clock. */
  nowNs(): bigint;
  /** Runs `callback` once, `delayMs` (≥ 0, clamped) from now. */
  setTimer(delayMs: number, callback: () => void): TimerHandle;
}

/** Resolves after `delayMs` on `clock`; rejects with the signal's reason if aborted first. */
export function sleep(clock: Clock, delayMs: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      timer.cancel();
      reject(signal?.reason);
    };
    const timer = clock.setTimer(delayMs, () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
