// The pieces of a compaction that need none of the log's state: when one is worth it, the index of
// the compacted copy, and the chunked copy of the live records into the new generation. The
// generation switch itself stays in `DiskLog` (src/log/disk/disk-log.ts).

import { CorruptError } from '../errors.js';
import { FILE_HEADER_BYTES, INDEX_ENTRY_BYTES, writeIndexEntry } from './format.js';
import type { Generation } from './generation.js';
import type { DiskRows } from './rows.js';

/** Bytes copied per step of a compaction. */
const COPY_CHUNK_BYTES = 8 << 20;
/** A compaction runs once at least this many dead bytes lead the data file and they outweigh the live ones. */
export const COMPACT_DEAD_BYTES_MIN = 1 << 20;

/** The index entries of every row, their data offsets moved back by `shift`. */
export function buildCompactedIndex(rows: DiskRows, shift: number): Buffer {
  const entries = rows.length;
  const index = Buffer.allocUnsafe(entries * INDEX_ENTRY_BYTES);
  for (let row = 0; row < entries; row++) {
    const slot = rows.slot(row);
    writeIndexEntry(index, row * INDEX_ENTRY_BYTES, {
      dataOffset: rows.columns.offset[slot]! - shift,
      timestampNs: rows.columns.timestamp[slot]!,
      length: rows.columns.length[slot]!,
    });
  }
  return index;
}

/** Copies the data bytes [startOffset, endOffset) of `old` to `next`, `shift` bytes earlier, then `index`. */
export async function copyLiveRecords(
  old: Generation,
  next: Generation,
  startOffset: number,
  endOffset: number,
  shift: number,
  index: Buffer,
): Promise<void> {
  const chunk = new Uint8Array(Math.min(COPY_CHUNK_BYTES, Math.max(1, endOffset - startOffset)));
  for (let from = startOffset; from < endOffset; ) {
    const read = await old.data.read(
      chunk.subarray(0, Math.min(chunk.byteLength, endOffset - from)),
      from,
    );
    if (read === 0)
      throw new CorruptError(
        old.dataPath,
        `ended at ${from} while ${endOffset} bytes were expected`,
      );
    await next.data.write(chunk.subarray(0, read), from - shift);
    from += read;
  }
  await next.index.write(index, FILE_HEADER_BYTES);
}
