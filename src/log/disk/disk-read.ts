// The persistent log's read path for events no longer in the cache: plans which record offsets a
// range covers (from the in-memory index, synchronously, before any truncation can move them), then
// reads the data file in bounded chunks and checks every record's seq and checksum (the checksums
// of a chunk with one call over its span, format.ts).

import { CorruptError, IoError } from '../errors.js';
import type { RedexEvent } from '../event.js';
import { crc32cRange } from './crc.js';
import {
  RECORD_HEADER_BYTES,
  recordChecksumOk,
  recordSeqAt,
  spanChecksumAdd,
  spanChecksumStart,
} from './format.js';
import type { Generation } from './generation.js';
import type { DiskRows } from './rows.js';

/** The largest single read of a range. */
export const READ_CHUNK_BYTES = 8 << 20;

/** Where the records of [start, start + offsets.length) lie in the data file. */
export interface DiskReadPlan {
  readonly start: number;
  readonly offsets: Float64Array;
  readonly endOffset: number;
}

/** Plans a read of [start, end); `firstSeq` is the seq of the first row. */
export function planDiskRead(
  rows: DiskRows,
  firstSeq: number,
  start: number,
  end: number,
): DiskReadPlan {
  const offsets = new Float64Array(end - start);
  for (let seq = start; seq < end; seq++)
    offsets[seq - start] = rows.columns.offset[rows.slot(seq - firstSeq)]!;
  const lastSlot = rows.slot(end - 1 - firstSeq);
  return {
    start,
    offsets,
    endOffset:
      rows.columns.offset[lastSlot]! + RECORD_HEADER_BYTES + rows.columns.length[lastSlot]!,
  };
}

/** Reads the planned records from `generation`, checking each one; CORRUPT names the first bad one. */
export async function readDisk(generation: Generation, plan: DiskReadPlan): Promise<RedexEvent[]> {
  const events: RedexEvent[] = [];
  const { offsets } = plan;
  let first = 0;
  while (first < offsets.length) {
    // Take whole records up to READ_CHUNK_BYTES (at least one).
    let last = first + 1;
    while (last < offsets.length && offsets[last]! - offsets[first]! < READ_CHUNK_BYTES) last++;
    const chunkStart = offsets[first]!;
    const chunkEnd = last < offsets.length ? offsets[last]! : plan.endOffset;
    // Not zeroed: the read fills it (zeroing new memory on this thread cost more than the read,
    // a page fault per 4 KiB), and a buffer of its own, so payload views reach nothing else.
    const bytes = new Uint8Array(Buffer.allocUnsafeSlow(chunkEnd - chunkStart).buffer);
    let read: number;
    try {
      read = await generation.data.read(bytes, chunkStart);
    } catch (error) {
      throw new IoError(`reading ${generation.dataPath}`, error);
    }
    // A short read fails the checks below; still, no stale memory stays behind the views.
    if (read < bytes.length) bytes.fill(0, read);
    const data = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (!chunkChecksOut(plan, bytes, data, first, last, chunkStart, read)) {
      // Something is wrong: check record by record, in order, to name the first bad one.
      for (let row = first; row < last; row++)
        checkRecord(generation, plan, bytes, data, row, chunkStart, read);
    }
    // The records of one batch share a timestamp: one bigint for a run of equal ones.
    let timestampLow = -1;
    let timestampHigh = -1;
    let timestampNs = 0n;
    for (let row = first; row < last; row++) {
      const seq = plan.start + row;
      const at = offsets[row]! - chunkStart;
      const length = data.getUint32(at + 4, true);
      const low = data.getUint32(at + 16, true);
      const high = data.getUint32(at + 20, true);
      if (low !== timestampLow || high !== timestampHigh) {
        timestampLow = low;
        timestampHigh = high;
        timestampNs = data.getBigInt64(at + 16, true);
      }
      events.push({
        seq,
        payload: new Uint8Array(bytes.buffer, bytes.byteOffset + at + RECORD_HEADER_BYTES, length),
        timestampNs,
      });
    }
    first = last;
  }
  return events;
}

/**
 * True when the records of rows [first, last) all have their seq, fit in the `read` bytes, lie
 * back to back, and pass their checksums, checked with one checksum call over the whole span
 * (format.ts says why that is as strong as one per record). False when anything is off.
 */
function chunkChecksOut(
  plan: DiskReadPlan,
  bytes: Uint8Array,
  data: DataView,
  first: number,
  last: number,
  chunkStart: number,
  read: number,
): boolean {
  const { offsets } = plan;
  const start = offsets[first]! - chunkStart;
  if (start + RECORD_HEADER_BYTES > read) return false;
  let span = spanChecksumStart(data, start);
  let end = start;
  for (let row = first; row < last; row++) {
    const at = offsets[row]! - chunkStart;
    if (at !== end || at + RECORD_HEADER_BYTES > read) return false;
    const length = data.getUint32(at + 4, true);
    end = at + RECORD_HEADER_BYTES + length;
    if (recordSeqAt(data, at) !== plan.start + row || end > read) return false;
    if (row > first) span = spanChecksumAdd(span, bytes, data, at, length);
  }
  return (crc32cRange(bytes, start + 4, end) | 0) === span;
}

/** The checks of one record, on their own: CORRUPT when it fails any. */
function checkRecord(
  generation: Generation,
  plan: DiskReadPlan,
  bytes: Uint8Array,
  data: DataView,
  row: number,
  chunkStart: number,
  read: number,
): void {
  const seq = plan.start + row;
  const at = plan.offsets[row]! - chunkStart;
  if (at + RECORD_HEADER_BYTES > read)
    throw new CorruptError(generation.dataPath, 'the record is cut short', seq);
  const length = data.getUint32(at + 4, true);
  if (
    recordSeqAt(data, at) !== seq ||
    at + RECORD_HEADER_BYTES + length > read ||
    !recordChecksumOk(bytes, at, length, data.getUint32(at, true))
  ) {
    throw new CorruptError(
      generation.dataPath,
      'its checksum does not match; the record is not returned',
      seq,
    );
  }
}
