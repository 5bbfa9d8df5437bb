// A live tail of one channel. The subscriber holds a cursor and a small prefetch of events read
// from the file's store when its consumer asks, so a slow consumer costs almost no memory: when it
// falls more than `bufferSize` events behind, or the events at its cursor are evicted, it ends
// with LAGGED instead of holding back appends or buffering without bound. Reads may be
// asynchronous (a persistent file's older events come from disk); deliveries stay in seq order.

import { LaggedError, RedexError } from './errors.js';
import type { RedexEvent } from './event.js';

/** Events fetched from the store per read. */
export const TAIL_PREFETCH_MAX = 64;

/** What a tail needs from its file. */
export interface TailSource {
  readonly name: string;
  readonly nextSeq: number;
  /** Lowest retained seq, or null when nothing is retained. */
  readonly firstSeq: number | null;
  readonly closed: boolean;
  readonly tailBufferSize: number;
  /** Retained events in [from, to). */
  readEvents(from: number, to: number): RedexEvent[] | Promise<RedexEvent[]>;
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
  /** Fetched events [cursor, cursor + length − start), consumed from `#prefetchStart`. */
  #prefetch: RedexEvent[] = [];
  #prefetchStart = 0;
  #fetching = false;
  #waiters: Waiter[] = [];
  #failure: RedexError | null = null;
  #finished = false;

  constructor(source: TailSource, fromSeq: number) {
    this.#source = source;
    this.#cursor = fromSeq;
    this.#checkLag();
  }

  /** The next seq this tail will deliver. */
  get cursor(): number {
    return this.#cursor;
  }

  get finished(): boolean {
    return this.#finished;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<RedexEvent, undefined>> {
    if (this.#finished) return Promise.resolve(DONE);
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

  /** Called by the file after appends, skips, sweeps and close. Never throws. */
  poke(): void {
    if (this.#finished) return;
    this.#checkLag();
    if (this.#failure !== null && this.#waiters.length === 0) {
      // Nobody is waiting: stop costing the file anything; the next `next()` reports the failure.
      this.#source.detachTail(this);
      return;
    }
    this.#pump();
  }

  /** Serves waiters from the prefetch, fetching more when needed; one fetch at a time. */
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
      const first = source.firstSeq;
      if (first === null || this.#cursor < first) {
        this.#failure = new LaggedError(
          source.name,
          this.#cursor,
          'the events at this position were evicted',
        );
        continue;
      }
      const fetched = source.readEvents(
        this.#cursor,
        Math.min(source.nextSeq, this.#cursor + TAIL_PREFETCH_MAX),
      );
      if (Array.isArray(fetched)) {
        this.#fill(fetched);
        continue;
      }
      this.#fetching = true;
      fetched.then(
        (events) => {
          this.#fetching = false;
          this.#fill(events);
          this.#pump();
        },
        (error: unknown) => {
          this.#fetching = false;
          this.#failure =
            error instanceof RedexError
              ? error
              : new LaggedError(source.name, this.#cursor, `reading failed: ${String(error)}`);
          this.#pump();
        },
      );
      return;
    }
  }

  #fill(events: RedexEvent[]): void {
    // Keep only events that continue exactly at the cursor (a sweep may have raced the read).
    if (events.length === 0 || events[0]!.seq !== this.#cursor) {
      if (this.#source.firstSeq === null || this.#cursor < this.#source.firstSeq) {
        this.#failure ??= new LaggedError(
          this.#source.name,
          this.#cursor,
          'the events at this position were evicted',
        );
      }
      return;
    }
    this.#prefetch = events;
    this.#prefetchStart = 0;
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

  #checkLag(): void {
    if (this.#failure !== null) return;
    const source = this.#source;
    const behind = source.nextSeq - this.#cursor;
    if (behind <= 0) return;
    const first = source.firstSeq;
    if (first === null || this.#cursor < first) {
      this.#failure = new LaggedError(
        source.name,
        this.#cursor,
        first === null
          ? 'no events are retained below the next seq'
          : `history before seq ${first} was evicted`,
      );
    } else if (behind > source.tailBufferSize) {
      this.#failure = new LaggedError(
        source.name,
        this.#cursor,
        `the subscriber is ${behind} events behind; the tail buffer holds ${source.tailBufferSize}`,
      );
    }
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#prefetch = [];
    this.#source.detachTail(this);
    for (const waiter of this.#waiters.splice(0)) waiter.resolve(DONE);
  }
}
