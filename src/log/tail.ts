// A tail is a cursor over one channel's log, not a buffer. It holds the next seq to deliver and at
// most one page of events fetched from the file's store (memory or disk) and not yet delivered,
// bounded in bytes. It fetches the next page only when its consumer asks, so history of any length
// is read at the consumer's pace, and a consumer that stops reading costs the file nothing but the
// page already fetched: what it has not read stays in the log. Appends never wait for a tail.
//
// A tail ends with LAGGED for exactly one reason: retention (or a skip) removed events it had not
// yet fetched. Events already fetched are still delivered first. Deliveries stay in seq order with
// no gap and no duplicate even when reads are asynchronous (older events of a persistent file).

import { LaggedError, RedexError, RedexErrorCode } from './errors.js';
import type { RedexEvent } from './event.js';

/** What a tail needs from its file. */
export interface TailSource {
  readonly name: string;
  readonly nextSeq: number;
  /** The lowest seq still readable (`nextSeq` when nothing is retained). */
  readonly floorSeq: number;
  readonly closed: boolean;
  /** Most bytes one fetch may hold (payload plus a per-event overhead); one event always fits. */
  readonly prefetchBytes: number;
  /** Retained events from `from` (floorSeq ≤ from < nextSeq), one page bounded by `maxBytes`. */
  readPage(from: number, maxBytes: number): RedexEvent[] | Promise<RedexEvent[]>;
  detachTail(tail: RedexTail): void;
}

interface Waiter {
  resolve(result: IteratorResult<RedexEvent, undefined>): void;
  reject(error: unknown): void;
}

const DONE: IteratorResult<RedexEvent, undefined> = Object.freeze({ done: true, value: undefined });

export class RedexTail implements AsyncIterableIterator<RedexEvent, undefined> {
  readonly #source: TailSource;
  /** The next seq the consumer receives. */
  #cursor: number;
  /** Fetched events, consumed from `#prefetchStart`; the first unconsumed one has seq `#cursor`. */
  #prefetch: RedexEvent[] = [];
  #prefetchStart = 0;
  #fetching = false;
  #waiters: Waiter[] = [];
  #failure: RedexError | null = null;
  #finished = false;
  readonly #signal: AbortSignal | null;
  /** Set once the signal aborted: every later `next()` rejects with it. */
  #abortReason: { readonly reason: unknown } | null = null;

  constructor(source: TailSource, fromSeq: number, signal: AbortSignal | null = null) {
    this.#source = source;
    this.#cursor = fromSeq;
    this.#signal = signal;
    signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  /** The next seq this tail will deliver. */
  get cursor(): number {
    return this.#cursor;
  }

  get finished(): boolean {
    return this.#finished;
  }

  /** Events fetched and not yet delivered (at most one page). */
  get prefetched(): number {
    return this.#prefetch.length - this.#prefetchStart;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<RedexEvent, undefined>> {
    if (this.#finished) {
      return this.#abortReason === null
        ? Promise.resolve(DONE)
        : Promise.reject(this.#abortReason.reason);
    }
    // Fast path: an event is already at hand and nobody is queued ahead of this call.
    if (this.#waiters.length === 0 && this.#failure === null && !this.#source.closed) {
      const ready = this.#takePrefetched();
      if (ready !== null) return Promise.resolve(ready);
    }
    const result = new Promise<IteratorResult<RedexEvent, undefined>>((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
    });
    this.#pump();
    return result;
  }

  return(): Promise<IteratorResult<RedexEvent, undefined>> {
    this.#finish();
    return Promise.resolve(DONE);
  }

  /** The next seq this tail delivers (prefetched events not yet consumed included). */
  get position(): number {
    return this.#cursor;
  }

  /** Ends the tail with `error` (for example TRUNCATED: the log was cut under it). */
  fail(error: RedexError): void {
    if (this.#finished) return;
    this.#prefetch = [];
    this.#failure = error;
    this.#pump();
  }

  /** Called by the file after appends, skips, sweeps and close. Never throws. */
  poke(): void {
    if (this.#finished || this.#waiters.length === 0) {
      if (this.#source.closed) this.#finish();
      return;
    }
    this.#pump();
  }

  /** Serves waiters from the prefetch, fetching the next page when needed; one fetch at a time. */
  #pump(): void {
    while (!this.#finished && !this.#fetching) {
      if (this.#source.closed) {
        this.#finish();
        return;
      }
      if (this.#waiters.length === 0) return;
      if (this.#failure !== null) {
        const failure = this.#failure;
        const waiters = this.#waiters.splice(0);
        this.#finish();
        for (const waiter of waiters) waiter.reject(failure);
        return;
      }
      const ready = this.#takePrefetched();
      if (ready !== null) {
        this.#waiters.shift()!.resolve(ready);
        continue;
      }
      const source = this.#source;
      if (this.#cursor >= source.nextSeq) return; // wait for a poke
      if (this.#lost()) continue;
      const fetched = source.readPage(this.#cursor, source.prefetchBytes);
      if (Array.isArray(fetched)) {
        // A synchronous page is never empty for a cursor in [floorSeq, nextSeq).
        if (!this.#fill(fetched)) return;
        continue;
      }
      this.#fetching = true;
      fetched.then(
        (events) => {
          this.#fetching = false;
          if (this.#finished) return; // ended while reading: drop the page
          this.#fill(events);
          this.#pump();
        },
        (error: unknown) => {
          this.#fetching = false;
          this.#failure =
            error instanceof RedexError
              ? error
              : new RedexError(
                  RedexErrorCode.Io,
                  `tail of ${JSON.stringify(source.name)}: ${String(error)}`,
                );
          this.#pump();
        },
      );
      return;
    }
  }

  /** True (and the failure set) when the events at the cursor were evicted. */
  #lost(): boolean {
    const floor = this.#source.floorSeq;
    if (this.#cursor >= floor) return false;
    this.#failure ??= new LaggedError(
      this.#source.name,
      this.#cursor,
      floor,
      `events ${this.#cursor}..${floor - 1} were evicted before this tail read them`,
    );
    return true;
  }

  /** Takes a page that continues exactly at the cursor; false when it does not (a sweep raced). */
  #fill(events: RedexEvent[]): boolean {
    if (events.length === 0 || events[0]!.seq !== this.#cursor) {
      this.#lost();
      return false;
    }
    this.#prefetch = events;
    this.#prefetchStart = 0;
    return true;
  }

  #takePrefetched(): IteratorResult<RedexEvent, undefined> | null {
    if (this.#prefetchStart >= this.#prefetch.length) return null;
    const event = this.#prefetch[this.#prefetchStart++]!;
    if (this.#prefetchStart === this.#prefetch.length) {
      this.#prefetch = [];
      this.#prefetchStart = 0;
    }
    this.#cursor = event.seq + 1;
    return { done: false, value: event };
  }

  readonly #onAbort = (): void => {
    if (this.#finished) return;
    this.#abortReason = { reason: this.#signal!.reason };
    const waiters = this.#waiters.splice(0);
    this.#finish();
    for (const waiter of waiters) waiter.reject(this.#abortReason.reason);
  };

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#prefetch = [];
    this.#prefetchStart = 0;
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#source.detachTail(this);
    for (const waiter of this.#waiters.splice(0)) waiter.resolve(DONE);
  }
}
