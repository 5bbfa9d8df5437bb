// The persistent log's in-memory index: one row per retained event (data offset, payload length,
// timestamp: 20 bytes) in typed-array columns, with the seq of the first row and the payload bytes
// the rows hold. `DiskLog` (src/log/disk/disk-log.ts) owns one; its read and compaction helpers
// read the columns directly.

import { ColumnDeque } from '../column-deque.js';
import { RECORD_HEADER_BYTES } from './format.js';
import type { RowSink } from './recovery.js';

export const makeRowColumns = (capacity: number) => ({
  offset: new Float64Array(capacity),
  length: new Uint32Array(capacity),
  timestamp: new BigInt64Array(capacity),
});

export type DiskRows = ColumnDeque<ReturnType<typeof makeRowColumns>>;

export class RowIndex {
  readonly deque: DiskRows = new ColumnDeque(makeRowColumns);
  /** Seq of the first row (the next seq when there are no rows). */
  firstSeq: number;
  /** Σ payload length of the rows. */
  payloadBytes = 0;

  constructor(firstSeq: number) {
    this.firstSeq = firstSeq;
  }

  get count(): number {
    return this.deque.length;
  }

  get nextSeq(): number {
    return this.firstSeq + this.deque.length;
  }

  lengthAt(seq: number): number {
    return this.deque.columns.length[this.deque.slot(seq - this.firstSeq)]!;
  }

  timestampAt(seq: number): bigint {
    return this.deque.columns.timestamp[this.deque.slot(seq - this.firstSeq)]!;
  }

  /** The data offset of the row `row` places after the first. */
  offsetOf(row: number): number {
    return this.deque.columns.offset[this.deque.slot(row)]!;
  }

  push(offset: number, length: number, timestampNs: bigint): void {
    const slot = this.deque.pushSlot();
    const columns = this.deque.columns;
    columns.offset[slot] = offset;
    columns.length[slot] = length;
    columns.timestamp[slot] = timestampNs;
    this.payloadBytes += length;
  }

  /**
   * Rows of `count` records written back to back from data offset `offset`, payload lengths
   * `lengths[0, count)`, one timestamp: in bulk, column by column (a replicated chunk).
   */
  pushRecords(offset: number, lengths: Uint32Array, count: number, timestampNs: bigint): void {
    const first = this.deque.pushSlots(count);
    const columns = this.deque.columns;
    let at = offset;
    let bytes = 0;
    for (let i = 0; i < count; i++) {
      const length = lengths[i]!;
      columns.offset[first + i] = at;
      at += RECORD_HEADER_BYTES + length;
      bytes += length;
    }
    columns.length.set(lengths.subarray(0, count), first);
    columns.timestamp.fill(timestampNs, first, first + count);
    this.payloadBytes += bytes;
  }

  /** Drops the `count` first rows (all when there are fewer) and moves `firstSeq` by `count`. */
  dropFront(count: number): void {
    const rows = this.deque;
    const dropped = Math.min(count, rows.length);
    for (let index = 0; index < dropped; index++)
      this.payloadBytes -= rows.columns.length[rows.slot(index)]!;
    rows.dropFront(dropped);
    this.firstSeq += count;
  }

  /** Drops every row after the first `keep`. */
  dropAfter(keep: number): void {
    const rows = this.deque;
    const removed = rows.length - keep;
    for (let index = keep; index < rows.length; index++)
      this.payloadBytes -= rows.columns.length[rows.slot(index)]!;
    rows.dropBack(removed);
  }

  /** Moves every row's data offset `shift` bytes earlier. */
  shiftOffsets(shift: number): void {
    const columns = this.deque.columns;
    for (let row = 0; row < this.deque.length; row++)
      columns.offset[this.deque.slot(row)]! -= shift;
  }

  /** The rows as recovery fills and checks them. */
  sink(): RowSink {
    const rows = this.deque;
    return {
      push: (offset, length, timestampNs) => this.push(offset, length, timestampNs),
      get count() {
        return rows.length;
      },
      rowAt: (index) => {
        const slot = rows.slot(index);
        return {
          offset: rows.columns.offset[slot]!,
          length: rows.columns.length[slot]!,
          timestampNs: rows.columns.timestamp[slot]!,
        };
      },
      dropLast: () => {
        this.payloadBytes -= rows.columns.length[rows.slot(rows.length - 1)]!;
        rows.dropBack(1);
      },
    };
  }

  /**
   * Throws unless the rows are contiguous and `payloadBytes` adds up; returns where the last
   * row's record ends (-1 when there are no rows).
   */
  checkInvariants(): number {
    const rows = this.deque.columns;
    let bytes = 0;
    let previousEnd = -1;
    for (let index = 0; index < this.deque.length; index++) {
      const slot = this.deque.slot(index);
      if (previousEnd !== -1 && rows.offset[slot] !== previousEnd)
        throw new Error('DiskLog invariant broken: rows are not contiguous');
      previousEnd = rows.offset[slot]! + RECORD_HEADER_BYTES + rows.length[slot]!;
      bytes += rows.length[slot]!;
    }
    if (bytes !== this.payloadBytes) throw new Error('DiskLog invariant broken: payloadBytes');
    return previousEnd;
  }
}
