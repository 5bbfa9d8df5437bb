// The on-disk format of a persistent channel (documented in docs/STORAGE.md). Pure encode and
// decode of the manifest, file headers, data records and index entries; every structure carries
// a CRC-32C so a torn or foreign byte is always detected, never returned.

import { crc32c } from '@node-rs/crc32';
import type { PayloadRun } from '../payload-run.js';
import { crc32cContinue, crc32cRange, crc32cRangeOf, crc32cShift } from './crc.js';

/** Folder inside a channel's directory that holds its files. `@` is not allowed in channel names,
 *  so no channel (such as `orders/gen-1` next to `orders`) can ever collide with it. */
export const STORE_DIR_NAME = '@redex';
export const MANIFEST_NAME = 'MANIFEST';
export const MANIFEST_TEMP_NAME = 'MANIFEST.tmp';
export const FORMAT_VERSION = 1;

export const MANIFEST_MAGIC = 'RDXMANI1';
export const DATA_MAGIC = 'RDXDATA1';
export const INDEX_MAGIC = 'RDXINDX1';

/** magic 8 · version u32 · generation u32 · baseSeq u64 · firstSeq u64 · crc u32 */
export const MANIFEST_BYTES = 36;
/** magic 8 · version u32 · generation u32 · baseSeq u64 · reserved u32 · crc u32 */
export const FILE_HEADER_BYTES = 32;
/** crc u32 (over everything after it: header and payload) · length u32 · seq u64 · timestampNs i64 · payload */
export const RECORD_HEADER_BYTES = 24;
/** dataOffset u64 · timestampNs i64 · length u32 · crc u32 (over the first 20 bytes) */
export const INDEX_ENTRY_BYTES = 24;

export interface Manifest {
  readonly generation: number;
  /** Seq of the first record stored in the generation's files. */
  readonly baseSeq: number;
  /** Retention floor: records below it are evicted even if still on disk (≥ baseSeq). */
  readonly firstSeq: number;
}

export interface FileHeader {
  readonly magic: string;
  readonly generation: number;
  readonly baseSeq: number;
}

export interface RecordHeader {
  readonly length: number;
  readonly seq: number;
  readonly timestampNs: bigint;
  readonly crc: number;
}

export interface IndexEntry {
  readonly dataOffset: number;
  readonly timestampNs: bigint;
  readonly length: number;
}

export function generationFileName(generation: number, kind: 'dat' | 'idx'): string {
  return `${generation.toString().padStart(10, '0')}.${kind}`;
}

/** The generation number of one of our data or index file names, or null. */
export function parseGenerationFileName(
  name: string,
): { generation: number; kind: 'dat' | 'idx' } | null {
  const match = /^(\d{10})\.(dat|idx)$/.exec(name);
  if (match === null) return null;
  return { generation: Number(match[1]), kind: match[2] as 'dat' | 'idx' };
}

// Shared with the quorum state files (quorum-format.ts).
export const ascii = new TextEncoder();
export const asciiDecoder = new TextDecoder();

export function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function readSafeU64(data: DataView, offset: number): number | null {
  const value = data.getBigUint64(offset, true);
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? null : Number(value);
}

export function encodeManifest(manifest: Manifest): Uint8Array {
  const bytes = new Uint8Array(MANIFEST_BYTES);
  const data = view(bytes);
  bytes.set(ascii.encode(MANIFEST_MAGIC), 0);
  data.setUint32(8, FORMAT_VERSION, true);
  data.setUint32(12, manifest.generation, true);
  data.setBigUint64(16, BigInt(manifest.baseSeq), true);
  data.setBigUint64(24, BigInt(manifest.firstSeq), true);
  data.setUint32(32, crc32c(bytes.subarray(0, 32)), true);
  return bytes;
}

/** Decodes a manifest, or returns why it is not one. */
export function decodeManifest(bytes: Uint8Array): Manifest | string {
  if (bytes.byteLength < MANIFEST_BYTES)
    return `it is ${bytes.byteLength} bytes; a manifest is ${MANIFEST_BYTES}`;
  if (asciiDecoder.decode(bytes.subarray(0, 8)) !== MANIFEST_MAGIC)
    return 'it does not start with the manifest magic';
  const data = view(bytes);
  if (data.getUint32(32, true) !== crc32c(bytes.subarray(0, 32)))
    return 'its checksum does not match';
  const version = data.getUint32(8, true);
  if (version !== FORMAT_VERSION)
    return `it has format version ${version}; this build reads ${FORMAT_VERSION}`;
  const baseSeq = readSafeU64(data, 16);
  const firstSeq = readSafeU64(data, 24);
  if (baseSeq === null || firstSeq === null || firstSeq < baseSeq)
    return 'its seqs are out of range';
  return { generation: data.getUint32(12, true), baseSeq, firstSeq };
}

export function encodeFileHeader(header: FileHeader): Uint8Array {
  const bytes = new Uint8Array(FILE_HEADER_BYTES);
  const data = view(bytes);
  bytes.set(ascii.encode(header.magic), 0);
  data.setUint32(8, FORMAT_VERSION, true);
  data.setUint32(12, header.generation, true);
  data.setBigUint64(16, BigInt(header.baseSeq), true);
  data.setUint32(28, crc32c(bytes.subarray(0, 28)), true);
  return bytes;
}

export function decodeFileHeader(bytes: Uint8Array, magic: string): FileHeader | string {
  if (bytes.byteLength < FILE_HEADER_BYTES)
    return `it is shorter than the ${FILE_HEADER_BYTES}-byte header`;
  if (asciiDecoder.decode(bytes.subarray(0, 8)) !== magic) return `it does not start with ${magic}`;
  const data = view(bytes);
  if (data.getUint32(28, true) !== crc32c(bytes.subarray(0, 28)))
    return 'its header checksum does not match';
  const version = data.getUint32(8, true);
  if (version !== FORMAT_VERSION)
    return `it has format version ${version}; this build reads ${FORMAT_VERSION}`;
  const baseSeq = readSafeU64(data, 16);
  if (baseSeq === null) return 'its base seq is out of range';
  return { magic, generation: data.getUint32(12, true), baseSeq };
}

/** Writes a u64 that is a safe integer as two u32 halves (no BigInt on the hot path). */
function setSafeU64(data: DataView, offset: number, value: number): void {
  data.setUint32(offset, value >>> 0, true);
  data.setUint32(offset + 4, Math.floor(value / 0x1_0000_0000), true);
}

/** Reads a u64, or -1 when it is past Number.MAX_SAFE_INTEGER. */
function getSafeU64(data: DataView, offset: number): number {
  const high = data.getUint32(offset + 4, true);
  if (high > 0x1f_ffff) return -1;
  return high * 0x1_0000_0000 + data.getUint32(offset, true);
}

/**
 * Encodes a batch of records with their payloads copied in but their seqs and checksums not yet
 * set: the seq of a queued append is only known when its group is written. `sealRecords` finishes
 * them. The payloads are copied here, once, so the caller may reuse its buffers at once.
 */
export function encodeUnsealedRecords(
  payloads: readonly Uint8Array[],
  timestampNs: bigint,
): Buffer {
  let bytes = 0;
  for (const payload of payloads) bytes += RECORD_HEADER_BYTES + payload.byteLength;
  const records = Buffer.allocUnsafe(bytes);
  const data = new DataView(records.buffer, records.byteOffset, records.byteLength);
  // The timestamp's two halves, converted once per batch rather than once per record.
  const timestampLow = Number(BigInt.asUintN(32, timestampNs));
  const timestampHigh = Number(BigInt.asUintN(32, timestampNs >> 32n));
  let at = 0;
  for (const payload of payloads) {
    data.setUint32(at + 4, payload.byteLength, true);
    data.setUint32(at + 16, timestampLow, true);
    data.setUint32(at + 20, timestampHigh, true);
    records.set(payload, at + RECORD_HEADER_BYTES);
    at += RECORD_HEADER_BYTES + payload.byteLength;
  }
  return records;
}

/**
 * `encodeUnsealedRecords` for a run checked by `checkPayloadRun` (`payloadBytes` is the sum it
 * returned): the same bytes, built straight from the run's buffer into one buffer of `allocate`.
 */
export function encodeRunRecords(
  run: PayloadRun,
  payloadBytes: number,
  timestampNs: bigint,
  allocate: (bytes: number) => Buffer = Buffer.allocUnsafe,
): Buffer {
  const records = allocate(run.count * RECORD_HEADER_BYTES + payloadBytes);
  if (run.count === 0) return records;
  if (!shiftsInPlace(run)) copyPayloads(run, records);
  else {
    // One copy of the whole span, then each payload moved up to its place, last first: no
    // view per payload (wire chunks always qualify: their payloads are 12 bytes apart).
    const { bytes, offsets, lengths, count } = run;
    const start = offsets[0]!;
    const end = offsets[count - 1]! + lengths[count - 1]!;
    records.set(
      new Uint8Array(bytes.buffer, bytes.byteOffset + start, end - start),
      RECORD_HEADER_BYTES,
    );
    let to = records.byteLength;
    for (let i = count - 1; i > 0; i--) {
      to -= lengths[i]!;
      const from = RECORD_HEADER_BYTES + offsets[i]! - start;
      if (to !== from) records.copyWithin(to, from, from + lengths[i]!);
      to -= RECORD_HEADER_BYTES;
    }
  }
  writeRecordHeaders(run, records, timestampNs);
  return records;
}

/**
 * Whether the span from the first payload to the end of the last, copied right after the first
 * record header, leaves every payload at or before its place in the records (so moving them up,
 * last first, never overwrites one not yet moved): payloads in order, at most a record header
 * apart.
 */
function shiftsInPlace({ offsets, lengths, count }: PayloadRun): boolean {
  for (let i = 1; i < count; i++) {
    const gap = offsets[i]! - offsets[i - 1]! - lengths[i - 1]!;
    if (gap < 0 || gap > RECORD_HEADER_BYTES) return false;
  }
  return true;
}

/** Shorter payloads are copied byte by byte: cheaper than making a view to `set` from. */
const COPY_LOOP_BYTES_MAX = 64;

function copyPayloads({ bytes, offsets, lengths, count }: PayloadRun, records: Buffer): void {
  let at = 0;
  for (let i = 0; i < count; i++) {
    const length = lengths[i]!;
    const from = offsets[i]!;
    at += RECORD_HEADER_BYTES;
    if (length >= COPY_LOOP_BYTES_MAX)
      records.set(new Uint8Array(bytes.buffer, bytes.byteOffset + from, length), at);
    else for (let k = 0; k < length; k++) records[at + k] = bytes[from + k]!;
    at += length;
  }
}

/** Length and timestamp of each record (seq and checksum are set when sealed). */
function writeRecordHeaders(
  { lengths, count }: PayloadRun,
  records: Buffer,
  timestampNs: bigint,
): void {
  const data = new DataView(records.buffer, records.byteOffset, records.byteLength);
  const timestampLow = Number(BigInt.asUintN(32, timestampNs));
  const timestampHigh = Number(BigInt.asUintN(32, timestampNs >> 32n));
  let at = 0;
  for (let i = 0; i < count; i++) {
    data.setUint32(at + 4, lengths[i]!, true);
    data.setUint32(at + 16, timestampLow, true);
    data.setUint32(at + 20, timestampHigh, true);
    at += RECORD_HEADER_BYTES + lengths[i]!;
  }
}

/**
 * Sets the seqs (from `firstSeq`) and checksums of records made by `encodeUnsealedRecords`, and
 * writes their index entries into `index` from `indexAt` (data offsets from `dataOffset`, the
 * records' position in the data file). One pass, with no view or allocation per record.
 */
export function sealRecords(
  records: Uint8Array,
  firstSeq: number,
  dataOffset: number,
  index: Uint8Array,
  indexAt: number,
  indexView: DataView = view(index),
): void {
  const data = view(records);
  let seq = firstSeq;
  let entry = indexAt;
  for (let at = 0; at < records.byteLength; ) {
    const length = data.getUint32(at + 4, true);
    const end = at + RECORD_HEADER_BYTES + length;
    setSafeU64(data, at + 8, seq++);
    data.setUint32(at, crc32cRangeOf(records, data, at + 4, end), true);
    setSafeU64(indexView, entry, dataOffset + at);
    // The timestamp bytes are the record's own (bytes 16..24 of its header).
    indexView.setUint32(entry + 8, data.getUint32(at + 16, true), true);
    indexView.setUint32(entry + 12, data.getUint32(at + 20, true), true);
    indexView.setUint32(entry + 16, length, true);
    indexView.setUint32(entry + 20, crc32cRangeOf(index, indexView, entry, entry + 20), true);
    entry += INDEX_ENTRY_BYTES;
    at = end;
  }
}

/** Reads a record header; `data` may be a DataView over `bytes` shared by many records. */
export function readRecordHeader(
  bytes: Uint8Array,
  offset: number,
  data: DataView = view(bytes),
): RecordHeader {
  return {
    crc: data.getUint32(offset, true),
    length: data.getUint32(offset + 4, true),
    seq: getSafeU64(data, offset + 8),
    timestampNs: data.getBigInt64(offset + 16, true),
  };
}

/** The seq in the record header at `offset`, or -1 when it is past Number.MAX_SAFE_INTEGER. */
export function recordSeqAt(data: DataView, offset: number): number {
  return getSafeU64(data, offset + 8);
}

/** True when the record at `offset` (header and payload present in `bytes`) passes its checksum. */
export function recordChecksumOk(
  bytes: Uint8Array,
  offset: number,
  length: number,
  crc: number,
): boolean {
  return crc32cRange(bytes, offset + 4, offset + RECORD_HEADER_BYTES + length) === crc;
}

/**
 * Checking a run of records laid back to back with one checksum call instead of one per record.
 * A record's checksum covers its bytes after the checksum field; the span from the first
 * record's fourth byte to the end of the last one holds those bytes of every record with the
 * checksum fields of the later records between them. Its checksum is therefore a combination
 * (crc.ts) of the stored checksums and of the checksums of those four-byte fields, which the span
 * itself holds. `spanChecksumStart` and `spanChecksumAdd` fold the stored values in, record by
 * record; the caller compares the result with `crc32cRange(bytes, first + 4, end)`.
 *
 * Why this is as strong as checking each record: the two sides differ by Σ δᵢ·x^(8·dᵢ) mod P,
 * where δᵢ is record i's own mismatch (its computed checksum xor its stored one) and dᵢ the bytes
 * after it. A single bad record has δᵢ ≠ 0 of degree below 32, and x is invertible modulo P, so
 * its term is never 0 and the span fails. Bad records could only cancel one another's terms,
 * which random damage does with probability 2⁻³², the chance that any one damaged record
 * passes its own check. A span that fails is checked record by record to name the bad one.
 */
export function spanChecksumStart(data: DataView, first: number): number {
  return data.getInt32(first, true);
}

/**
 * Folds in the record at `at` (payload `length`), which must start where the previous one ended.
 * Int32 in and out: compare with `crc32cRange(…) | 0`.
 */
export function spanChecksumAdd(
  span: number,
  bytes: Uint8Array,
  data: DataView,
  at: number,
  length: number,
): number {
  // crc(span ‖ field) continues the span's checksum over the four field bytes; then the
  // record's own bytes: shift by their length and xor their stored checksum.
  const withField = crc32cContinue(span, bytes, at, at + 4);
  return crc32cShift(withField, RECORD_HEADER_BYTES - 4 + length) ^ data.getInt32(at, true);
}

/** Writes an index entry; `data` may be a DataView over `into` shared by a group of entries. */
export function writeIndexEntry(
  into: Uint8Array,
  offset: number,
  entry: IndexEntry,
  data = view(into),
): void {
  setSafeU64(data, offset, entry.dataOffset);
  data.setBigInt64(offset + 8, entry.timestampNs, true);
  data.setUint32(offset + 16, entry.length, true);
  data.setUint32(offset + 20, crc32cRange(into, offset, offset + 20), true);
}

/** Decodes the index entry at `offset`, or null when its checksum fails. */
export function readIndexEntry(
  bytes: Uint8Array,
  offset: number,
  data: DataView = view(bytes),
): IndexEntry | null {
  if (data.getUint32(offset + 20, true) !== crc32cRange(bytes, offset, offset + 20)) return null;
  const dataOffset = getSafeU64(data, offset);
  if (dataOffset < 0) return null;
  return {
    dataOffset,
    timestampNs: data.getBigInt64(offset + 8, true),
    length: data.getUint32(offset + 16, true),
  };
}
