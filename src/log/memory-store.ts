// The in-memory body of a channel: a contiguous run of events [firstSeq, nextSeq) kept in typed
// arrays (arena number, offset, length, timestamp per event: 20 bytes) with payloads packed into
// large shared arenas. No JS object exists per stored event, so millions of events cost little
// beyond their payload bytes and almost nothing for the GC to trace.
//
// Invariants (checked by `assertInvariants`):
// - head ≤ tail ≤ capacity; count = tail - head; nextSeq = firstSeq + count.
// - events are laid out in arena order: arena numbers never decrease from head to tail.
// - payloadBytes = Σ length over [head, tail).
// - arenas[0] is the arena of the event at head (or the current arena when empty).

import type { RedexEvent } from './event.js';

/** Payloads are packed into arenas of this size; a larger payload gets an arena of its own. */
export const ARENA_BYTES = 1 << 20;
const INITIAL_CAPACITY = 1024;

export class MemoryStore {
  #arenaOf = new Uint32Array(INITIAL_CAPACITY);
  #offsetOf = new Uint32Array(INITIAL_CAPACITY);
  #lengthOf = new Uint32Array(INITIAL_CAPACITY);
  #timestampOf = new BigInt64Array(INITIAL_CAPACITY);
  #head = 0;
  #tail = 0;
  #firstSeq: number;
  #payloadBytes = 0;

  /** Arena number of `#arenas[0]`. */
  #arenaBase = 0;
  #arenas: Uint8Array[] = [];
  /** Bytes used in the last arena. */
  #arenaUsed = ARENA_BYTES;

  constructor(firstSeq = 0) {
    this.#firstSeq = firstSeq;
  }

  /** Seq of the first stored event (or of the next append when empty). */
  get firstSeq(): number {
    return this.#firstSeq;
  }

  get nextSeq(): number {
    return this.#firstSeq + (this.#tail - this.#head);
  }

  get count(): number {
    return this.#tail - this.#head;
  }

  /** Σ payload length of stored events. */
  get payloadBytes(): number {
    return this.#payloadBytes;
  }

  /** Appends one event; returns its seq. The payload is copied. */
  push(payload: Uint8Array, timestampNs: bigint): number {
    if (this.#tail === this.#arenaOf.length) this.#makeRoom(1);
    const length = payload.byteLength;
    const arena = this.#reserve(length);
    const slot = this.#tail++;
    this.#arenaOf[slot] = arena;
    this.#offsetOf[slot] = this.#arenaUsed;
    this.#lengthOf[slot] = length;
    this.#timestampOf[slot] = timestampNs;
    if (length > 0) this.#arenas[arena - this.#arenaBase]!.set(payload, this.#arenaUsed);
    this.#arenaUsed += length;
    this.#payloadBytes += length;
    return this.#firstSeq + (slot - this.#head);
  }

  /** Payload length of a stored seq (caller checks the range). */
  lengthAt(seq: number): number {
    return this.#lengthOf[this.#head + (seq - this.#firstSeq)]!;
  }

  timestampAt(seq: number): bigint {
    return this.#timestampOf[this.#head + (seq - this.#firstSeq)]!;
  }

  /** A view of the stored payload (no copy). Caller checks `firstSeq ≤ seq < nextSeq`. */
  payloadAt(seq: number): Uint8Array {
    const slot = this.#head + (seq - this.#firstSeq);
    const offset = this.#offsetOf[slot]!;
    return this.#arenas[this.#arenaOf[slot]! - this.#arenaBase]!.subarray(
      offset,
      offset + this.#lengthOf[slot]!,
    );
  }

  eventAt(seq: number): RedexEvent {
    return { seq, payload: this.payloadAt(seq), timestampNs: this.timestampAt(seq) };
  }

  /** Drops the `count` oldest events and releases arenas no longer referenced. */
  evictPrefix(count: number): void {
    if (count <= 0) return;
    const dropped = Math.min(count, this.count);
    for (let slot = this.#head; slot < this.#head + dropped; slot++) {
      this.#payloadBytes -= this.#lengthOf[slot]!;
    }
    this.#head += dropped;
    this.#firstSeq += dropped;
    const keepFromArena =
      this.#head < this.#tail
        ? this.#arenaOf[this.#head]!
        : this.#arenaBase + this.#arenas.length - 1;
    const releasable = keepFromArena - this.#arenaBase;
    if (releasable > 0) {
      this.#arenas.splice(0, releasable);
      this.#arenaBase += releasable;
    }
    if (this.#head === this.#tail) {
      // Empty: restart at slot 0 so the arrays are reused from the start.
      this.#head = 0;
      this.#tail = 0;
    }
  }

  /** Drops every event and moves the next seq to `seq` (≥ nextSeq). */
  resetTo(seq: number): void {
    this.evictPrefix(this.count);
    this.#firstSeq = seq;
  }

  /** Bytes held by the index arrays and arenas (for the memory benchmark and metrics). */
  get footprintBytes(): number {
    const perEvent = 4 + 4 + 4 + 8;
    let arenaBytes = 0;
    for (const arena of this.#arenas) arenaBytes += arena.byteLength;
    return this.#arenaOf.length * perEvent + arenaBytes;
  }

  assertInvariants(): void {
    const fail = (what: string) => {
      throw new Error(`MemoryStore invariant broken: ${what}`);
    };
    if (!(this.#head <= this.#tail && this.#tail <= this.#arenaOf.length))
      fail('head ≤ tail ≤ capacity');
    let bytes = 0;
    let previousArena = this.#arenaBase;
    for (let slot = this.#head; slot < this.#tail; slot++) {
      const arena = this.#arenaOf[slot]!;
      if (arena < previousArena) fail('arena order');
      if (arena - this.#arenaBase >= this.#arenas.length) fail('arena released while referenced');
      const arenaBytes = this.#arenas[arena - this.#arenaBase]!;
      if (this.#offsetOf[slot]! + this.#lengthOf[slot]! > arenaBytes.byteLength)
        fail('payload past arena end');
      previousArena = arena;
      bytes += this.#lengthOf[slot]!;
    }
    if (bytes !== this.#payloadBytes)
      fail(`payloadBytes ${this.#payloadBytes} ≠ Σ lengths ${bytes}`);
    if (this.#head < this.#tail && this.#arenaOf[this.#head] !== this.#arenaBase)
      fail('arenas[0] is not the head arena');
  }

  /** Returns the arena number that will hold `length` more bytes, opening a new arena if needed. */
  #reserve(length: number): number {
    const current = this.#arenaBase + this.#arenas.length - 1;
    if (
      this.#arenas.length > 0 &&
      this.#arenaUsed + length <= this.#arenas[this.#arenas.length - 1]!.byteLength
    ) {
      return current;
    }
    if (this.#arenas.length > 0 && this.#head === this.#tail) {
      // Nothing references the old arenas any more; drop them before opening a new one.
      this.#arenaBase += this.#arenas.length;
      this.#arenas = [];
    }
    this.#arenas.push(new Uint8Array(Math.max(ARENA_BYTES, length)));
    this.#arenaUsed = 0;
    return this.#arenaBase + this.#arenas.length - 1;
  }

  #makeRoom(extra: number): void {
    const count = this.count;
    const capacity = this.#arenaOf.length;
    if (this.#head > 0 && count + extra <= capacity / 2) {
      // Mostly evicted: slide the live window down instead of growing.
      this.#arenaOf.copyWithin(0, this.#head, this.#tail);
      this.#offsetOf.copyWithin(0, this.#head, this.#tail);
      this.#lengthOf.copyWithin(0, this.#head, this.#tail);
      this.#timestampOf.copyWithin(0, this.#head, this.#tail);
      this.#head = 0;
      this.#tail = count;
      return;
    }
    let newCapacity = capacity * 2;
    while (newCapacity < count + extra) newCapacity *= 2;
    const arenaOf = new Uint32Array(newCapacity);
    arenaOf.set(this.#arenaOf.subarray(this.#head, this.#tail));
    const offsetOf = new Uint32Array(newCapacity);
    offsetOf.set(this.#offsetOf.subarray(this.#head, this.#tail));
    const lengthOf = new Uint32Array(newCapacity);
    lengthOf.set(this.#lengthOf.subarray(this.#head, this.#tail));
    const timestampOf = new BigInt64Array(newCapacity);
    timestampOf.set(this.#timestampOf.subarray(this.#head, this.#tail));
    this.#arenaOf = arenaOf;
    this.#offsetOf = offsetOf;
    this.#lengthOf = lengthOf;
    this.#timestampOf = timestampOf;
    this.#tail = count;
    this.#head = 0;
  }
}
