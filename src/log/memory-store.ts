// The in-memory body of a channel: a contiguous run of events [firstSeq, nextSeq) kept as typed
// array rows (arena number, offset, length, timestamp: 20 bytes per event) with payloads packed
// into large shared arenas. No JS object exists per stored event, so millions of events cost
// little beyond their payload bytes and almost nothing for the GC to trace. Persistent files use
// one as a cache of their most recent payloads.
//
// Invariants (checked by `assertInvariants`):
// - nextSeq = firstSeq + count.
// - rows are laid out in arena order: arena numbers never decrease from head to tail.
// - payloadBytes = Σ length over the rows.
// - arenas[0] is the arena of the first row (or the current arena when empty).

import { ColumnDeque } from './column-deque.js';
import type { RedexEvent } from './event.js';
import type { CheckedRun } from './payload-run.js';

/** Payloads are packed into arenas of this size; a larger payload gets an arena of its own. */
export const ARENA_BYTES = 1 << 20;
/** Shorter payloads are copied byte by byte: cheaper than making a view to `set` from. */
const COPY_LOOP_BYTES_MAX = 64;
/**
 * A run's payload is copied in one span with the previous one when the bytes between them (a
 * chunk's 12-byte event header) are at most 1/SPAN_GAP_RATIO of its length: one copy per arena
 * rather than one per payload, those bytes then taking at most a quarter more room.
 */
const SPAN_GAP_RATIO = 4;

const makeColumns = (capacity: number) => ({
  arena: new Uint32Array(capacity),
  offset: new Uint32Array(capacity),
  length: new Uint32Array(capacity),
  timestamp: new BigInt64Array(capacity),
});

export class MemoryStore {
  readonly #rows = new ColumnDeque(makeColumns);
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
    return this.#firstSeq + this.#rows.length;
  }

  get count(): number {
    return this.#rows.length;
  }

  /** Σ payload length of stored events. */
  get payloadBytes(): number {
    return this.#payloadBytes;
  }

  /** Appends one event; returns its seq. The payload is copied. */
  push(payload: Uint8Array, timestampNs: bigint): number {
    const length = payload.byteLength;
    const arena = this.#reserve(length);
    const slot = this.#rows.pushSlot();
    const rows = this.#rows.columns;
    rows.arena[slot] = arena;
    rows.offset[slot] = this.#arenaUsed;
    rows.length[slot] = length;
    rows.timestamp[slot] = timestampNs;
    if (length > 0) this.#arenas[arena - this.#arenaBase]!.set(payload, this.#arenaUsed);
    this.#arenaUsed += length;
    this.#payloadBytes += length;
    return this.nextSeq - 1;
  }

  /** Like `push`, with the payload at `bytes[offset, offset + length)`: no Buffer view per payload. */
  pushFrom(bytes: Uint8Array, offset: number, length: number, timestampNs: bigint): number {
    const arena = this.#reserve(length);
    const arenaBytes = this.#arenas[arena - this.#arenaBase]!;
    const at = this.#arenaUsed;
    if (length >= COPY_LOOP_BYTES_MAX)
      arenaBytes.set(new Uint8Array(bytes.buffer, bytes.byteOffset + offset, length), at);
    else for (let i = 0; i < length; i++) arenaBytes[at + i] = bytes[offset + i]!;
    return this.#pushRow(arena, length, timestampNs);
  }

  /**
   * Makes `bytes` the newest arena, shared rather than copied: the caller must never write to
   * it again (payload views handed to readers must never change). `pushAdopted` then stores
   * events whose payloads lie in it; a later `push` opens a new arena.
   */
  adoptArena(bytes: Uint8Array): void {
    if (this.#arenas.length > 0 && this.count === 0) {
      this.#arenaBase += this.#arenas.length;
      this.#arenas = [];
    }
    // A plain Uint8Array (not a Buffer), so payload views are of one type whatever the arena.
    this.#arenas.push(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    this.#arenaUsed = bytes.byteLength;
  }

  /**
   * Appends the payloads of a run checked by `checkPayloadRun`, copied into the store's arenas
   * (never kept: the run's buffer may be reused once this returns, src/wire/receive-pool.ts).
   * Payloads that lie close together are copied as one span (`SPAN_GAP_RATIO`).
   */
  pushRun({ run, payloadBytes }: CheckedRun, timestampNs: bigint): void {
    const { bytes, offsets, lengths, count } = run;
    if (count === 0) return;
    // Opens the first arena before the rows exist: an empty store drops its old arenas there.
    this.#reserve(lengths[0]!);
    const first = this.#rows.pushSlots(count);
    const rows = this.#rows.columns;
    rows.timestamp.fill(timestampNs, first, first + count);
    let i = 0;
    while (i < count) {
      // A piece: payloads i…j-1, close together, whose span fits in the arena's room.
      const start = offsets[i]!;
      let end = start + lengths[i]!;
      const arena = this.#reserve(end - start);
      const arenaBytes = this.#arenas[arena - this.#arenaBase]!;
      const room = arenaBytes.byteLength - this.#arenaUsed;
      let j = i + 1;
      for (; j < count; j++) {
        const at = offsets[j]!;
        const length = lengths[j]!;
        if (at < end || (at - end) * SPAN_GAP_RATIO > length || at + length - start > room) break;
        end = at + length;
      }
      const used = this.#arenaUsed;
      const span = end - start;
      if (span >= COPY_LOOP_BYTES_MAX)
        arenaBytes.set(new Uint8Array(bytes.buffer, bytes.byteOffset + start, span), used);
      else for (let k = 0; k < span; k++) arenaBytes[used + k] = bytes[start + k]!;
      const shift = used - start;
      for (let k = i; k < j; k++) {
        const slot = first + k;
        rows.arena[slot] = arena;
        rows.offset[slot] = offsets[k]! + shift;
        rows.length[slot] = lengths[k]!;
      }
      this.#arenaUsed = used + span;
      i = j;
    }
    this.#payloadBytes += payloadBytes;
  }

  /** Stores an event whose payload is `[offset, offset + length)` of the last adopted arena. */
  pushAdopted(offset: number, length: number, timestampNs: bigint): number {
    const slot = this.#rows.pushSlot();
    const rows = this.#rows.columns;
    rows.arena[slot] = this.#arenaBase + this.#arenas.length - 1;
    rows.offset[slot] = offset;
    rows.length[slot] = length;
    rows.timestamp[slot] = timestampNs;
    this.#payloadBytes += length;
    return this.nextSeq - 1;
  }

  /** Adds the row of a payload just copied to `arena` at `#arenaUsed`. */
  #pushRow(arena: number, length: number, timestampNs: bigint): number {
    const slot = this.#rows.pushSlot();
    const rows = this.#rows.columns;
    rows.arena[slot] = arena;
    rows.offset[slot] = this.#arenaUsed;
    rows.length[slot] = length;
    rows.timestamp[slot] = timestampNs;
    this.#arenaUsed += length;
    this.#payloadBytes += length;
    return this.nextSeq - 1;
  }

  /** Payload length of a stored seq (caller checks the range). */
  lengthAt(seq: number): number {
    return this.#rows.columns.length[this.#rows.slot(seq - this.#firstSeq)]!;
  }

  timestampAt(seq: number): bigint {
    return this.#rows.columns.timestamp[this.#rows.slot(seq - this.#firstSeq)]!;
  }

  /** A view of the stored payload (no copy). Caller checks `firstSeq ≤ seq < nextSeq`. */
  payloadAt(seq: number): Uint8Array {
    const rows = this.#rows.columns;
    const slot = this.#rows.slot(seq - this.#firstSeq);
    const offset = rows.offset[slot]!;
    return this.#arenas[rows.arena[slot]! - this.#arenaBase]!.subarray(
      offset,
      offset + rows.length[slot]!,
    );
  }

  eventAt(seq: number): RedexEvent {
    return { seq, payload: this.payloadAt(seq), timestampNs: this.timestampAt(seq) };
  }

  /** Events [from, to), clamped to what is stored. */
  readEvents(from: number, to: number): RedexEvent[] {
    const start = Math.max(from, this.#firstSeq);
    const end = Math.min(to, this.nextSeq);
    const events: RedexEvent[] = new Array(Math.max(0, end - start));
    if (end <= start) return events;
    // The events of one batch share a timestamp: one bigint for a run of equal ones (a bigint
    // read from the column is a new object each time), compared through a u32 view of the column.
    const timestamps = this.#rows.columns.timestamp;
    const words = new Uint32Array(timestamps.buffer, timestamps.byteOffset, timestamps.length * 2);
    let low = -1;
    let high = -1;
    let timestampNs = 0n;
    for (let seq = start; seq < end; seq++) {
      const slot = this.#rows.slot(seq - this.#firstSeq);
      if (words[2 * slot] !== low || words[2 * slot + 1] !== high) {
        low = words[2 * slot]!;
        high = words[2 * slot + 1]!;
        timestampNs = timestamps[slot]!;
      }
      events[seq - start] = { seq, payload: this.payloadAt(seq), timestampNs };
    }
    return events;
  }

  /** Drops the `count` oldest events and releases arenas no longer referenced. */
  evictPrefix(count: number): void {
    if (count <= 0) return;
    const dropped = Math.min(count, this.count);
    const rows = this.#rows.columns;
    for (let index = 0; index < dropped; index++)
      this.#payloadBytes -= rows.length[this.#rows.slot(index)]!;
    this.#rows.dropFront(dropped);
    this.#firstSeq += dropped;
    const keepFromArena =
      this.count > 0
        ? this.#rows.columns.arena[this.#rows.slot(0)]!
        : this.#arenaBase + this.#arenas.length - 1;
    const releasable = keepFromArena - this.#arenaBase;
    if (releasable > 0) {
      this.#arenas.splice(0, releasable);
      this.#arenaBase += releasable;
    }
  }

  /**
   * Drops every event with seq ≥ `seq` (firstSeq ≤ seq ≤ nextSeq; the caller checks). The arena
   * bytes they used are not reused: payload views already handed to readers must never change
   * under them. They are released with their arena once eviction passes it.
   */
  truncateFrom(seq: number): void {
    const keep = seq - this.#firstSeq;
    const rows = this.#rows.columns;
    for (let index = keep; index < this.count; index++)
      this.#payloadBytes -= rows.length[this.#rows.slot(index)]!;
    this.#rows.dropBack(this.count - keep);
    if (this.count === 0) {
      // Nothing references the arenas any more: the next append opens a fresh one, so the head
      // arena is again the first one held (readers keep their own views of the old bytes).
      this.#arenaBase += this.#arenas.length;
      this.#arenas = [];
      this.#arenaUsed = 0;
    }
  }

  /** Drops every event and moves the next seq to `seq` (≥ nextSeq). */
  resetTo(seq: number): void {
    this.evictPrefix(this.count);
    this.#firstSeq = seq;
  }

  assertInvariants(): void {
    const fail = (what: string) => {
      throw new Error(`MemoryStore invariant broken: ${what}`);
    };
    const rows = this.#rows.columns;
    let bytes = 0;
    let previousArena = this.#arenaBase;
    for (let index = 0; index < this.count; index++) {
      const slot = this.#rows.slot(index);
      const arena = rows.arena[slot]!;
      if (arena < previousArena) fail('arena order');
      if (arena - this.#arenaBase >= this.#arenas.length) fail('arena released while referenced');
      const arenaBytes = this.#arenas[arena - this.#arenaBase]!;
      if (rows.offset[slot]! + rows.length[slot]! > arenaBytes.byteLength)
        fail('payload past arena end');
      previousArena = arena;
      bytes += rows.length[slot]!;
    }
    if (bytes !== this.#payloadBytes)
      fail(`payloadBytes ${this.#payloadBytes} ≠ Σ lengths ${bytes}`);
    if (this.count > 0 && rows.arena[this.#rows.slot(0)] !== this.#arenaBase)
      fail('arenas[0] is not the head arena');
  }

  /** Returns the arena number that will hold `length` more bytes, opening a new arena if needed. */
  #reserve(length: number): number {
    const last = this.#arenas[this.#arenas.length - 1];
    if (last !== undefined && this.#arenaUsed + length <= last.byteLength) {
      return this.#arenaBase + this.#arenas.length - 1;
    }
    if (this.#arenas.length > 0 && this.count === 0) {
      // Nothing references the old arenas any more; drop them before opening a new one.
      this.#arenaBase += this.#arenas.length;
      this.#arenas = [];
    }
    this.#arenas.push(new Uint8Array(Math.max(ARENA_BYTES, length)));
    this.#arenaUsed = 0;
    return this.#arenaBase + this.#arenas.length - 1;
  }
}
