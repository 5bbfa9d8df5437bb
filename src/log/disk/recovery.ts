// Open-time recovery of a generation. The data file is the truth and the index a cache of it:
// index entries are accepted while their checksums pass and their offsets chain; the last indexed
// records are re-verified against the data (a crash may have written an index entry whose data
// never reached the disk); records in the data past the index are re-indexed; whatever follows
// the last good record in either file is a torn tail and is cut off (zeros written ahead of the
// appends, see zero-fill.ts, are cut too, without counting as a repair).

import {
  FILE_HEADER_BYTES,
  INDEX_ENTRY_BYTES,
  RECORD_HEADER_BYTES,
  readIndexEntry,
  readRecordHeader,
  recordChecksumOk,
  writeIndexEntry,
} from './format.js';
import type { Generation } from './generation.js';

/** Index bytes read per step at open. */
const INDEX_READ_BYTES = 1 << 20;
/** Data bytes read per step when scanning past the index. */
const SCAN_READ_BYTES = 1 << 20;

export interface RecoveredRow {
  readonly offset: number;
  readonly length: number;
  readonly timestampNs: bigint;
}

/** Where rows go as they are recovered (the persistent index's columns). */
export interface RowSink {
  push(offset: number, length: number, timestampNs: bigint): void;
  readonly count: number;
  rowAt(index: number): RecoveredRow;
  dropLast(): void;
}

export interface RecoveryResult {
  readonly dataSize: number;
  readonly indexSize: number;
  /** What recovery cut or rebuilt, for the log and the tests. */
  readonly repairs: string[];
}

export async function recoverGeneration(
  generation: Generation,
  rows: RowSink,
): Promise<RecoveryResult> {
  const repairs: string[] = [];
  const dataSize = await generation.data.size();
  const indexSize = await generation.index.size();

  // 1. Index entries whose checksums pass and whose offsets chain.
  let expectedOffset = FILE_HEADER_BYTES;
  let position = FILE_HEADER_BYTES;
  // Buffers no larger than the file needs: a node opening thousands of small channels would
  // otherwise allocate and zero megabytes per channel.
  const chunk = new Uint8Array(
    Math.min(
      INDEX_READ_BYTES - (INDEX_READ_BYTES % INDEX_ENTRY_BYTES),
      Math.max(0, indexSize - FILE_HEADER_BYTES),
    ),
  );
  const chunkView = new DataView(chunk.buffer);
  indexScan: while (position + INDEX_ENTRY_BYTES <= indexSize) {
    const read = await generation.index.read(
      chunk.subarray(0, Math.min(chunk.byteLength, indexSize - position)),
      position,
    );
    const whole = read - (read % INDEX_ENTRY_BYTES);
    if (whole === 0) break;
    for (let at = 0; at < whole; at += INDEX_ENTRY_BYTES) {
      const entry = readIndexEntry(chunk, at, chunkView);
      if (
        entry === null ||
        entry.dataOffset !== expectedOffset ||
        entry.dataOffset + RECORD_HEADER_BYTES + entry.length > dataSize
      ) {
        repairs.push(
          `index entry ${rows.count} is invalid; later entries are rebuilt from the data file`,
        );
        break indexScan;
      }
      rows.push(entry.dataOffset, entry.length, entry.timestampNs);
      expectedOffset += RECORD_HEADER_BYTES + entry.length;
    }
    position += whole;
  }
  const indexedCount = rows.count;

  // 2. Re-verify indexed records from the end until one checks out.
  while (rows.count > 0) {
    const last = rows.rowAt(rows.count - 1);
    const seq = generation.baseSeq + rows.count - 1;
    const record = new Uint8Array(RECORD_HEADER_BYTES + last.length);
    const read = await generation.data.read(record, last.offset);
    if (read === record.byteLength) {
      const header = readRecordHeader(record, 0);
      if (
        header.length === last.length &&
        header.seq === seq &&
        header.timestampNs === last.timestampNs &&
        recordChecksumOk(record, 0, header.length, header.crc)
      ) {
        break;
      }
    }
    repairs.push(`record ${seq} failed verification and was cut as a torn tail`);
    rows.dropLast();
  }

  // 3. Scan the data past the last good record for records the index never got.
  const lastRow = rows.count > 0 ? rows.rowAt(rows.count - 1) : null;
  let dataEnd =
    lastRow === null ? FILE_HEADER_BYTES : lastRow.offset + RECORD_HEADER_BYTES + lastRow.length;
  let buffer = new Uint8Array(Math.min(SCAN_READ_BYTES, Math.max(0, dataSize - dataEnd)));
  let rebuilt = 0;
  let torn = false;
  scan: while (!torn && dataEnd + RECORD_HEADER_BYTES <= dataSize) {
    const read = await generation.data.read(
      buffer.subarray(0, Math.min(buffer.byteLength, dataSize - dataEnd)),
      dataEnd,
    );
    const bufferView = new DataView(buffer.buffer);
    let at = 0;
    while (at + RECORD_HEADER_BYTES <= read) {
      const header = readRecordHeader(buffer, at, bufferView);
      const seq = generation.baseSeq + rows.count;
      const recordBytes = RECORD_HEADER_BYTES + header.length;
      if (header.seq !== seq || dataEnd + at + recordBytes > dataSize) {
        torn = true;
        break;
      }
      if (at + recordBytes > read) {
        if (at === 0) {
          // One record larger than the buffer: grow to fit it (its length is bounded by the file size).
          buffer = new Uint8Array(recordBytes);
          continue scan;
        }
        break;
      }
      if (!recordChecksumOk(buffer, at, header.length, header.crc)) {
        torn = true;
        break;
      }
      rows.push(dataEnd + at, header.length, header.timestampNs);
      rebuilt++;
      at += recordBytes;
    }
    // The records accepted in this chunk count even when a torn one ends the scan in it.
    dataEnd += at;
    if (at === 0) break;
  }
  if (rebuilt > 0)
    repairs.push(`${rebuilt} records past the index were re-indexed from the data file`);

  // 4. Cut torn tails and bring the index in line with the rows.
  const goodIndexSize = FILE_HEADER_BYTES + rows.count * INDEX_ENTRY_BYTES;
  if (dataSize > dataEnd) {
    // Zeros past the records were written ahead of appends (zero-fill.ts): cut, but not a repair.
    if (!(await holdsZerosOnly(generation, dataEnd, dataSize)))
      repairs.push(`cut ${dataSize - dataEnd} bytes of torn tail from ${generation.dataPath}`);
    await generation.data.truncate(dataEnd);
  }
  const keptIndexed = Math.min(indexedCount, rows.count);
  if (rows.count > keptIndexed) {
    await writeRebuiltEntries(generation, rows, keptIndexed);
  }
  if (indexSize !== goodIndexSize) {
    if (indexSize > goodIndexSize)
      repairs.push(
        `cut ${indexSize - goodIndexSize} bytes of torn tail from ${generation.indexPath}`,
      );
    await generation.index.truncate(goodIndexSize);
  }
  if (repairs.length > 0) {
    await generation.data.sync();
    await generation.index.sync();
  }
  return { dataSize: dataEnd, indexSize: goodIndexSize, repairs };
}

/** True when the data file holds only zero bytes from `from` to `end`. */
async function holdsZerosOnly(generation: Generation, from: number, end: number): Promise<boolean> {
  const buffer = new Uint8Array(Math.min(SCAN_READ_BYTES, end - from));
  for (let position = from; position < end; ) {
    const read = await generation.data.read(
      buffer.subarray(0, Math.min(buffer.byteLength, end - position)),
      position,
    );
    if (read === 0) return false;
    for (let i = 0; i < read; i++) if (buffer[i] !== 0) return false;
    position += read;
  }
  return true;
}

async function writeRebuiltEntries(
  generation: Generation,
  rows: RowSink,
  from: number,
): Promise<void> {
  const count = rows.count - from;
  const bytes = new Uint8Array(count * INDEX_ENTRY_BYTES);
  for (let index = 0; index < count; index++) {
    const row = rows.rowAt(from + index);
    writeIndexEntry(bytes, index * INDEX_ENTRY_BYTES, {
      dataOffset: row.offset,
      timestampNs: row.timestampNs,
      length: row.length,
    });
  }
  await generation.index.write(bytes, FILE_HEADER_BYTES + from * INDEX_ENTRY_BYTES);
}
