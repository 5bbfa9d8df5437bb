// The on-disk format of a persistent channel (documented in docs/STORAGE.md). Pure encode and
// decode of the manifest, file headers, data records and index entries; every structure carries
// a CRC-32C so a torn or foreign byte is always detected, never returned.

import { crc32c } from '@node-rs/crc32';

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
/** length u32 · seq u64 · timestampNs i64 · crc u32 (over these 20 bytes and the payload) · payload */
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

const ascii = new TextEncoder();
const asciiDecoder = new TextDecoder();

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function readSafeU64(data: DataView, offset: number): number | null {
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

/** Writes a record (header and payload) into `into` at `offset`; returns the bytes written. */
export function writeRecord(
  into: Uint8Array,
  offset: number,
  seq: number,
  timestampNs: bigint,
  payload: Uint8Array,
): number {
  const data = view(into);
  data.setUint32(offset, payload.byteLength, true);
  data.setBigUint64(offset + 4, BigInt(seq), true);
  data.setBigInt64(offset + 12, timestampNs, true);
  const crc = crc32c(payload, crc32c(into.subarray(offset, offset + 20)));
  data.setUint32(offset + 20, crc, true);
  into.set(payload, offset + RECORD_HEADER_BYTES);
  return RECORD_HEADER_BYTES + payload.byteLength;
}

export function readRecordHeader(bytes: Uint8Array, offset: number): RecordHeader {
  const data = view(bytes);
  const seq = data.getBigUint64(offset + 4, true);
  return {
    length: data.getUint32(offset, true),
    seq: seq > BigInt(Number.MAX_SAFE_INTEGER) ? -1 : Number(seq),
    timestampNs: data.getBigInt64(offset + 12, true),
    crc: data.getUint32(offset + 20, true),
  };
}

/** True when the record at `offset` (header and payload present in `bytes`) passes its checksum. */
export function recordChecksumOk(
  bytes: Uint8Array,
  offset: number,
  length: number,
  crc: number,
): boolean {
  const payload = bytes.subarray(
    offset + RECORD_HEADER_BYTES,
    offset + RECORD_HEADER_BYTES + length,
  );
  return crc32c(payload, crc32c(bytes.subarray(offset, offset + 20))) === crc;
}

export function writeIndexEntry(into: Uint8Array, offset: number, entry: IndexEntry): void {
  const data = view(into);
  data.setBigUint64(offset, BigInt(entry.dataOffset), true);
  data.setBigInt64(offset + 8, entry.timestampNs, true);
  data.setUint32(offset + 16, entry.length, true);
  data.setUint32(offset + 20, crc32c(into.subarray(offset, offset + 20)), true);
}

/** Decodes the index entry at `offset`, or null when its checksum fails. */
export function readIndexEntry(bytes: Uint8Array, offset: number): IndexEntry | null {
  const data = view(bytes);
  if (data.getUint32(offset + 20, true) !== crc32c(bytes.subarray(offset, offset + 20)))
    return null;
  const dataOffset = data.getBigUint64(offset, true);
  if (dataOffset > BigInt(Number.MAX_SAFE_INTEGER)) return null;
  return {
    dataOffset: Number(dataOffset),
    timestampNs: data.getBigInt64(offset + 8, true),
    length: data.getUint32(offset + 16, true),
  };
}
