// The portable backup file of one channel (`redex backup`, `redex restore`; the layout is in
// docs/OPERATIONS.md). Pure encode and decode. Little-endian throughout, like the channel files:
//
//   header   magic "RDXBKUP1" · version u32 · flags u32 · firstSeq u64 · nameLength u16 · name
//            · crc u32 (CRC-32C of the header bytes before it)
//   events   crc u32 (of the 20 bytes after it and the payload) · length u32 · seq u64
//            · timestampNs i64 · payload, one per event, seqs consecutive from firstSeq
//   trailer  magic "RDXBKEND" · count u64 · endSeq u64 · reserved u32
//            · crc u32 (CRC-32C of every byte of the file before it)
//
// The trailer sits in the file's last TRAILER_BYTES, so a reader knows where the events end; a
// file cut short has no valid trailer and is refused as a whole.

import { crc32c } from '@node-rs/crc32';
import { EVENT_BYTES_MAX } from '../../node/http/limits.js';

export const BACKUP_MAGIC = 'RDXBKUP1';
export const BACKUP_TRAILER_MAGIC = 'RDXBKEND';
export const BACKUP_VERSION = 1;
/** magic 8 · version 4 · flags 4 · firstSeq 8 · nameLength 2 (then the name and a crc u32). */
export const HEADER_FIXED_BYTES = 26;
export const EVENT_HEADER_BYTES = 24;
export const TRAILER_BYTES = 32;
/** The longest channel name (docs/DESIGN.md); a longer one in a header is corruption. */
export const CHANNEL_NAME_BYTES_MAX = 255;
/** The largest payload the API stores, so the largest a backup can hold. */
export const BACKUP_EVENT_BYTES_MAX = EVENT_BYTES_MAX;

export interface BackupHeader {
  readonly channel: string;
  readonly firstSeq: number;
}

export interface BackupEvent {
  readonly seq: number;
  readonly timestampNs: bigint;
  readonly payload: Uint8Array;
}

export interface BackupTrailer {
  readonly count: number;
  readonly endSeq: number;
  /** The whole-file checksum it carries. */
  readonly crc: number;
}

const text = new TextEncoder();
const strictText = new TextDecoder('utf-8', { fatal: true });
/** For magics: never throws on foreign bytes. */
const looseText = new TextDecoder();

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function setU64(data: DataView, offset: number, value: number): void {
  data.setBigUint64(offset, BigInt(value), true);
}

function getU64(data: DataView, offset: number): number | null {
  const value = data.getBigUint64(offset, true);
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? null : Number(value);
}

export function encodeHeader(header: BackupHeader): Uint8Array {
  const name = text.encode(header.channel);
  const bytes = new Uint8Array(HEADER_FIXED_BYTES + name.byteLength + 4);
  const data = view(bytes);
  bytes.set(text.encode(BACKUP_MAGIC), 0);
  data.setUint32(8, BACKUP_VERSION, true);
  data.setUint32(12, 0, true);
  setU64(data, 16, header.firstSeq);
  data.setUint16(24, name.byteLength, true);
  bytes.set(name, HEADER_FIXED_BYTES);
  const crcAt = HEADER_FIXED_BYTES + name.byteLength;
  data.setUint32(crcAt, crc32c(bytes.subarray(0, crcAt)), true);
  return bytes;
}

/** The header's total length from its fixed part, or why the bytes are not a backup. */
export function headerLength(fixed: Uint8Array): number | string {
  if (fixed.byteLength < HEADER_FIXED_BYTES) return 'it is too short to be a RedEX backup';
  if (looseText.decode(fixed.subarray(0, 8)) !== BACKUP_MAGIC) {
    return `it does not start with ${BACKUP_MAGIC} (not a RedEX backup)`;
  }
  const data = view(fixed);
  const version = data.getUint32(8, true);
  if (version !== BACKUP_VERSION) {
    const age = version > BACKUP_VERSION ? 'a newer' : 'an older';
    return `it was written by ${age} version of RedEX (backup format ${version}, this build reads ${BACKUP_VERSION})`;
  }
  const nameLength = data.getUint16(24, true);
  if (nameLength === 0 || nameLength > CHANNEL_NAME_BYTES_MAX) {
    return `its channel name length ${nameLength} is out of range`;
  }
  return HEADER_FIXED_BYTES + nameLength + 4;
}

export function decodeHeader(bytes: Uint8Array): BackupHeader | string {
  const length = headerLength(bytes);
  if (typeof length === 'string') return length;
  if (bytes.byteLength < length) return 'it ends inside its header';
  const data = view(bytes);
  const crcAt = length - 4;
  if (data.getUint32(crcAt, true) !== crc32c(bytes.subarray(0, crcAt))) {
    return 'its header fails its checksum';
  }
  if (data.getUint32(12, true) !== 0)
    return `its header has unknown flags ${data.getUint32(12, true)}`;
  const firstSeq = getU64(data, 16);
  if (firstSeq === null) return 'its first seq is out of range';
  let channel: string;
  try {
    channel = strictText.decode(bytes.subarray(HEADER_FIXED_BYTES, crcAt));
  } catch {
    return 'its channel name is not UTF-8';
  }
  return { channel, firstSeq };
}

/** One event's bytes: its 24-byte header and the payload. */
export function encodeEvent(event: BackupEvent): Uint8Array {
  const bytes = new Uint8Array(EVENT_HEADER_BYTES + event.payload.byteLength);
  const data = view(bytes);
  data.setUint32(4, event.payload.byteLength, true);
  setU64(data, 8, event.seq);
  data.setBigInt64(16, event.timestampNs, true);
  bytes.set(event.payload, EVENT_HEADER_BYTES);
  data.setUint32(0, crc32c(bytes.subarray(4)), true);
  return bytes;
}

/** The payload length an event header announces, or why it cannot be right. */
export function eventLength(header: Uint8Array): number | string {
  const length = view(header).getUint32(4, true);
  if (length > BACKUP_EVENT_BYTES_MAX) {
    return `an event announces ${length} bytes; the limit is ${BACKUP_EVENT_BYTES_MAX}`;
  }
  return length;
}

/** Decodes a whole event (header and payload); the payload is a view into `bytes`. */
export function decodeEvent(bytes: Uint8Array): BackupEvent | string {
  const data = view(bytes);
  if (data.getUint32(0, true) !== crc32c(bytes.subarray(4))) return 'it fails its checksum';
  const seq = getU64(data, 8);
  if (seq === null) return 'its seq is out of range';
  return {
    seq,
    timestampNs: data.getBigInt64(16, true),
    payload: bytes.subarray(EVENT_HEADER_BYTES),
  };
}

/** The trailer; `crcBefore` is the running CRC-32C of every byte of the file before it. */
export function encodeTrailer(count: number, endSeq: number, crcBefore: number): Uint8Array {
  const bytes = new Uint8Array(TRAILER_BYTES);
  const data = view(bytes);
  bytes.set(text.encode(BACKUP_TRAILER_MAGIC), 0);
  setU64(data, 8, count);
  setU64(data, 16, endSeq);
  data.setUint32(28, crc32c(bytes.subarray(0, 28), crcBefore), true);
  return bytes;
}

export function decodeTrailer(bytes: Uint8Array): BackupTrailer | string {
  if (bytes.byteLength !== TRAILER_BYTES) return 'it is cut short (no trailer)';
  if (looseText.decode(bytes.subarray(0, 8)) !== BACKUP_TRAILER_MAGIC) {
    return 'it does not end with a trailer (the backup did not finish, or the file was cut)';
  }
  const data = view(bytes);
  const count = getU64(data, 8);
  const endSeq = getU64(data, 16);
  if (count === null || endSeq === null) return 'its trailer is out of range';
  return { count, endSeq, crc: data.getUint32(28, true) };
}
