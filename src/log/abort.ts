// Cancellation for the log's asynchronous calls: an aborted call rejects with `signal.reason`
// (a DOMException named AbortError unless the caller chose another reason) and leaves no listener
// on the signal behind, whichever way it settles.

import { RedexError, RedexErrorCode } from './errors.js';

/** Throws INVALID_ARGUMENT unless `signal` is absent or an AbortSignal; returns it or null. */
export function checkSignal(signal: unknown): AbortSignal | null {
  if (signal === undefined || signal === null) return null;
  if (!(signal instanceof AbortSignal)) {
    throw new RedexError(
      RedexErrorCode.InvalidArgument,
      `signal must be an AbortSignal, got ${typeof signal}`,
    );
  }
  return signal;
}

/** Throws the signal's reason when it already aborted. */
export function throwIfAborted(signal: AbortSignal | null): void {
  if (signal?.aborted) throw signal.reason;
}

/**
 * Settles like `promise`, or rejects with the signal's reason as soon as it aborts (the work
 * behind `promise` is not undone; its outcome is then ignored). The listener goes either way.
 */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | null): Promise<T> {
  if (signal === null) return promise;
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
