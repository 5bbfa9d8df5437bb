// One channel's log: seq allocation, appends, range reads, tails, retention and skip-ahead over a
// `MemoryStore`. Every mutation is synchronous against the store, so an append, a tail's backfill
// and its live registration can never interleave (JS runs one call at a time); the methods return
// promises so persistent files (issue 3) can resolve after their bytes are durable.

import type { Clock } from '../time/clock.js';
import type { ResolvedFileConfig } from './config.js';
import { ClosedError, RedexError, RedexErrorCode, SeqMismatchError } from './errors.js';
import type { RedexEvent } from './event.js';
import { MemoryStore } from './memory-store.js';
import { retentionDropCount } from './retention.js';
import { RedexTail, type TailSource } from './tail.js';

export interface TailOptions {
  /** First seq to deliver (default 0). Past `nextSeq` the tail simply waits. */
  readonly fromSeq?: number;
}

export interface RedexFileDeps {
  readonly clock: Clock;
  /** Told once when the file closes, so the manager can forget it. */
  readonly onClosed?: (file: RedexFile) => void;
}

function invalidArgument(message: string): RedexError {
  return new RedexError(RedexErrorCode.InvalidArgument, message);
}

/** Throws unless `value` is a seq the API accepts: a non-negative safe integer. */
export function checkSeq(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw invalidArgument(`${name} must be a non-negative integer, got ${String(value)}`);
  }
  if (value > Number.MAX_SAFE_INTEGER) {
    throw new RedexError(
      RedexErrorCode.SeqRange,
      `${name} ${value} is past Number.MAX_SAFE_INTEGER`,
    );
  }
  return value;
}

function checkPayload(payload: unknown, index?: number): Uint8Array {
  if (!(payload instanceof Uint8Array)) {
    const what = index === undefined ? 'payload' : `payloads[${index}]`;
    throw invalidArgument(
      `${what} must be a Uint8Array (or Buffer), got ${payload === null ? 'null' : typeof payload}`,
    );
  }
  return payload;
}

export class RedexFile {
  readonly name: string;
  readonly config: ResolvedFileConfig;
  readonly #clock: Clock;
  readonly #onClosed: ((file: RedexFile) => void) | undefined;
  readonly #store = new MemoryStore();
  readonly #tails = new Set<RedexTail>();
  readonly #tailSource: TailSource;
  #closed = false;
  #closing: Promise<void> | null = null;

  constructor(name: string, config: ResolvedFileConfig, deps: RedexFileDeps) {
    this.name = name;
    this.config = config;
    this.#clock = deps.clock;
    this.#onClosed = deps.onClosed;
    const file = this;
    this.#tailSource = {
      name,
      get nextSeq() {
        return file.#store.nextSeq;
      },
      get firstSeq() {
        return file.firstSeq;
      },
      get closed() {
        return file.#closed;
      },
      tailBufferSize: config.tailBufferSize,
      eventAt: (seq) => file.#store.eventAt(seq),
      detachTail: (tail) => {
        file.#tails.delete(tail);
      },
    };
  }

  /** Number of retained events. */
  get len(): number {
    return this.#store.count;
  }

  /** The seq the next append gets. */
  get nextSeq(): number {
    return this.#store.nextSeq;
  }

  /** Lowest retained seq, or null when nothing is retained. */
  get firstSeq(): number | null {
    return this.#store.count > 0 ? this.#store.firstSeq : null;
  }

  /** Σ payload bytes of retained events (retention's `maxBytes` also counts 20 bytes per event). */
  get retainedBytes(): number {
    return this.#store.payloadBytes;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Number of live tails (for metrics and tests). */
  get tailCount(): number {
    return this.#tails.size;
  }

  append(payload: Uint8Array): Promise<number> {
    try {
      this.#checkOpen();
      const bytes = checkPayload(payload);
      this.#checkRoom(1, bytes.byteLength);
      const seq = this.#store.push(bytes, this.#clock.nowNs());
      this.#pokeTails();
      return Promise.resolve(seq);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Appends all or nothing; resolves to the first seq, or null for an empty batch. */
  appendBatch(payloads: readonly Uint8Array[]): Promise<number | null> {
    try {
      this.#checkOpen();
      return Promise.resolve(this.#appendBatch(payloads));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** `appendBatch` that first checks `nextSeq === expected`; a mismatch is SEQ_MISMATCH and changes nothing. */
  appendBatchIfNextSeq(expected: number, payloads: readonly Uint8Array[]): Promise<number | null> {
    try {
      this.#checkOpen();
      checkSeq('expected', expected);
      if (expected !== this.#store.nextSeq)
        throw new SeqMismatchError(this.name, expected, this.#store.nextSeq);
      return Promise.resolve(this.#appendBatch(payloads));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Retained events with seq in [start, end). */
  readRange(start: number, end: number): Promise<RedexEvent[]> {
    try {
      this.#checkOpen();
      const [from, to] = this.#clampRange(start, end);
      const events: RedexEvent[] = new Array(Math.max(0, to - from));
      for (let seq = from; seq < to; seq++) events[seq - from] = this.#store.eventAt(seq);
      return Promise.resolve(events);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Retained events from [start, end) while Σ (payload + perEventOverhead) ≤ maxBytes; always at
   * least one event when one exists, so a reader can make progress past an oversized event.
   */
  readRangeLimited(
    start: number,
    end: number,
    maxBytes: number,
    perEventOverhead: number,
  ): Promise<RedexEvent[]> {
    try {
      this.#checkOpen();
      checkSeq('maxBytes', maxBytes);
      checkSeq('perEventOverhead', perEventOverhead);
      const [from, to] = this.#clampRange(start, end);
      const events: RedexEvent[] = [];
      let used = 0;
      for (let seq = from; seq < to; seq++) {
        const cost = this.#store.lengthAt(seq) + perEventOverhead;
        if (events.length > 0 && used + cost > maxBytes) break;
        used += cost;
        events.push(this.#store.eventAt(seq));
      }
      return Promise.resolve(events);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** The event at `seq`, or null when it was never written or is no longer retained. */
  readOne(seq: number): Promise<RedexEvent | null> {
    try {
      this.#checkOpen();
      checkSeq('seq', seq);
      const store = this.#store;
      if (store.count === 0 || seq < store.firstSeq || seq >= store.nextSeq)
        return Promise.resolve(null);
      return Promise.resolve(store.eventAt(seq));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Backfills [fromSeq, nextSeq) then delivers live appends, in order, with no gap and no
   * duplicate. Ends with LAGGED when history is lost or the subscriber falls more than
   * `tailBufferSize` events behind; ends cleanly on `return()` or when the file closes.
   */
  tail(options: TailOptions = {}): RedexTail {
    this.#checkOpen();
    const fromSeq = checkSeq('fromSeq', options.fromSeq ?? 0);
    const tail = new RedexTail(this.#tailSource, fromSeq);
    this.#tails.add(tail);
    return tail;
  }

  /** Evicts everything below `seq` and makes `seq` the next seq; a no-op when seq ≤ nextSeq. */
  skipTo(seq: number): Promise<void> {
    try {
      this.#checkOpen();
      checkSeq('seq', seq);
      if (seq > this.#store.nextSeq) {
        this.#store.resetTo(seq);
        this.#pokeTails();
      }
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Applies the retention policy now; resolves to the number of events evicted. */
  sweepRetention(): Promise<number> {
    try {
      this.#checkOpen();
      const policy = this.config.retention;
      if (policy === null) return Promise.resolve(0);
      const drop = retentionDropCount(this.#store, policy, this.#clock.nowNs());
      if (drop > 0) {
        this.#store.evictPrefix(drop);
        this.#pokeTails();
      }
      return Promise.resolve(drop);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Flushes to durable storage; nothing to do in memory. */
  sync(): Promise<void> {
    return this.#closed
      ? Promise.reject(new ClosedError(`file ${JSON.stringify(this.name)}`))
      : Promise.resolve();
  }

  /** Closes the file and ends every tail; idempotent. */
  close(): Promise<void> {
    if (this.#closing === null) {
      this.#closed = true;
      for (const tail of [...this.#tails]) tail.poke();
      this.#tails.clear();
      this.#onClosed?.(this);
      this.#closing = Promise.resolve();
    }
    return this.#closing;
  }

  /** Checks the store's invariants; for tests and the simulation. */
  assertInvariants(): void {
    this.#store.assertInvariants();
  }

  #appendBatch(payloads: readonly Uint8Array[]): number | null {
    if (!Array.isArray(payloads))
      throw invalidArgument(`payloads must be an array, got ${typeof payloads}`);
    if (payloads.length === 0) return null;
    let bytes = 0;
    for (let index = 0; index < payloads.length; index++)
      bytes += checkPayload(payloads[index], index).byteLength;
    this.#checkRoom(payloads.length, bytes);
    const timestampNs = this.#clock.nowNs();
    const first = this.#store.nextSeq;
    for (const payload of payloads) this.#store.push(payload, timestampNs);
    this.#pokeTails();
    return first;
  }

  #checkOpen(): void {
    if (this.#closed) throw new ClosedError(`file ${JSON.stringify(this.name)}`);
  }

  #checkRoom(events: number, bytes: number): void {
    // Written so no intermediate passes 2^53, where float addition stops being exact.
    if (events - 1 > Number.MAX_SAFE_INTEGER - this.#store.nextSeq) {
      throw new RedexError(
        RedexErrorCode.SeqRange,
        `appending ${events} events to ${JSON.stringify(this.name)} would pass seq ${Number.MAX_SAFE_INTEGER}`,
      );
    }
    if (this.#store.payloadBytes + bytes > this.config.maxLiveBytes) {
      throw new RedexError(
        RedexErrorCode.PayloadTooLarge,
        `appending ${bytes} bytes to ${JSON.stringify(this.name)} would hold ${this.#store.payloadBytes + bytes} live bytes; maxLiveBytes is ${this.config.maxLiveBytes}`,
      );
    }
  }

  #clampRange(start: number, end: number): [number, number] {
    checkSeq('start', start);
    checkSeq('end', end);
    const store = this.#store;
    if (store.count === 0) return [0, 0];
    return [Math.max(start, store.firstSeq), Math.min(end, store.nextSeq)];
  }

  #pokeTails(): void {
    if (this.#tails.size === 0) return;
    for (const tail of this.#tails) tail.poke();
  }
}
