// Time for the client: retry pauses, request deadlines and the tail's idle watch. The client runs
// in browsers and Deno as well as Node, where the project's SystemClock (process.hrtime) does not
// exist, so the default here is the platform's own timer; tests pass a VirtualClock (any object
// with this shape).

export interface ClientTimerHandle {
  cancel(): void;
}

export interface ClientClock {
  nowMs(): number;
  setTimer(delayMs: number, callback: () => void): ClientTimerHandle;
}

export const platformClock: ClientClock = {
  nowMs: () => Date.now(),
  setTimer(delayMs, callback) {
    // Not unref'd: a pause belongs to a call someone awaits, and must keep Node alive for it.
    const timer = setTimeout(callback, Math.max(0, delayMs));
    return { cancel: () => clearTimeout(timer) };
  },
};

/** Resolves after `delayMs`; rejects with the signal's reason if it aborts first. */
export function pause(clock: ClientClock, delayMs: number, signal?: AbortSignal): Promise<void> {
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

/**
 * A controller that aborts when `parent` aborts or, if `timeoutMs` > 0, after that long. `done()`
 * drops the timer and the listener; `timedOut` tells the two causes apart.
 */
export class Deadline {
  readonly controller = new AbortController();
  #timedOut = false;
  readonly #timer: ClientTimerHandle | null;
  readonly #parent: AbortSignal | undefined;
  readonly #onAbort = () => this.controller.abort(this.#parent?.reason);

  constructor(clock: ClientClock, timeoutMs: number, parent?: AbortSignal) {
    this.#parent = parent;
    if (parent?.aborted) this.controller.abort(parent.reason);
    else parent?.addEventListener('abort', this.#onAbort, { once: true });
    this.#timer =
      timeoutMs > 0
        ? clock.setTimer(timeoutMs, () => {
            this.#timedOut = true;
            this.controller.abort(new Error(`no answer within ${timeoutMs} ms`));
          })
        : null;
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get timedOut(): boolean {
    return this.#timedOut;
  }

  /** Ends the time limit only: the signal keeps following the parent (a stream that opened). */
  stopTimer(): void {
    this.#timer?.cancel();
  }

  done(): void {
    this.#timer?.cancel();
    this.#parent?.removeEventListener('abort', this.#onAbort);
  }
}
