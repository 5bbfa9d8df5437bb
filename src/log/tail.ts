// A live tail of one channel. The subscriber holds only a cursor (the next seq to deliver) and
// reads events out of the file's store when asked, so a slow consumer costs no memory: when it
// falls more than `bufferSize` events behind, or the events at its cursor are evicted, it ends
// with LAGGED instead of holding back appends or buffering without bound.

import { LaggedError } from './errors.js';
import type { RedexEvent } from './event.js';

/** What a tail needs from its file. */
export interface TailSource {
  readonly name: string;
  readonly nextSeq: number;
  /** Lowest retained seq, or null when nothing is retained. */
  readonly firstSeq: number | null;
  readonly closed: boolean;
  readonly tailBufferSize: number;
  eventAt(seq: number): RedexEvent;
  detachTail(tail: RedexTail): void;
}

interface Waiter {
  resolve(result: IteratorResult<RedexEvent, undefined>): void;
  reject(error: unknown): void;
}

const DONE: IteratorResult<RedexEvent, undefined> = Object.freeze({ done: true, value: undefined });

export class RedexTail implements AsyncIterableIterator<RedexEvent, undefined> {
  readonly #source: TailSource;
  #cursor: number;
  #waiters: Waiter[] = [];
  #failure: LaggedError | null = null;
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
    if (this.#failure !== null) return Promise.reject(this.#takeFailure());
    if (this.#source.closed) {
      this.#finish();
      return Promise.resolve(DONE);
    }
    if (this.#cursor < this.#source.nextSeq && this.#waiters.length === 0) {
      const result = this.#tryDeliver();
      return result === null ? Promise.reject(this.#takeFailure()) : Promise.resolve(result);
    }
    return new Promise((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
    });
  }

  return(): Promise<IteratorResult<RedexEvent, undefined>> {
    this.#finish();
    return Promise.resolve(DONE);
  }

  /** Called by the file after appends, skips, sweeps and close. Never throws. */
  poke(): void {
    if (this.#finished) return;
    if (this.#source.closed) {
      this.#finish();
      return;
    }
    this.#checkLag();
    while (
      this.#failure === null &&
      this.#waiters.length > 0 &&
      this.#cursor < this.#source.nextSeq
    ) {
      const result = this.#tryDeliver();
      if (result !== null) this.#waiters.shift()!.resolve(result);
    }
    if (this.#failure === null) return;
    if (this.#waiters.length > 0) {
      const waiters = this.#waiters.splice(0);
      const failure = this.#takeFailure();
      for (const waiter of waiters) waiter.reject(failure);
    } else {
      // Nobody is waiting: stop costing the file anything; the next `next()` reports LAGGED.
      this.#source.detachTail(this);
    }
  }

  /** The event at the cursor, or null (with `#failure` set) when it is no longer retained. */
  #tryDeliver(): IteratorResult<RedexEvent, undefined> | null {
    const source = this.#source;
    const first = source.firstSeq;
    if (first === null || this.#cursor < first) {
      this.#failure = new LaggedError(
        source.name,
        this.#cursor,
        'the events at this position were evicted',
      );
      return null;
    }
    const event = source.eventAt(this.#cursor);
    this.#cursor++;
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

  #takeFailure(): LaggedError {
    const failure = this.#failure!;
    this.#finish();
    return failure;
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#source.detachTail(this);
    for (const waiter of this.#waiters.splice(0)) waiter.resolve(DONE);
  }
}
