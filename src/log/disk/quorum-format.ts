// The byte layouts of a channel's quorum-state files (documented in docs/STORAGE.md): `EPOCH`, the
// epoch and vote, rewritten whole; `EPOCHS`, the leader-epoch history, a file header followed by
// append-only records. Pure encode and decode; every structure carries a CRC-32C.

import { crc32c } from '@node-rs/crc32';
import type { EpochEntry } from '../quorum-state.js';
import { historyWith } from '../quorum-state.js';
import {
  ascii,
  asciiDecoder,
  decodeFileHeader,
  encodeFileHeader,
  FILE_HEADER_BYTES,
  FORMAT_VERSION,
  readSafeU64,
  view,
} from './format.js';

export const VOTE_FILE_NAME = 'EPOCH';
export const VOTE_TEMP_NAME = 'EPOCH.tmp';
export const HISTORY_FILE_NAME = 'EPOCHS';
export const HISTORY_TEMP_NAME = 'EPOCHS.tmp';

export const VOTE_MAGIC = 'RDXVOTE1';
export const HISTORY_MAGIC = 'RDXEPCH1';

/** magic 8 · version u32 · flags u32 · epoch u64 · votedFor u64 · reserved u32 · crc u32 */
export const VOTE_FILE_BYTES = 40;
/** epoch u64 · startSeq u64 · crc u32 (over the first 16 bytes) */
export const HISTORY_RECORD_BYTES = 20;

const FLAG_VOTED = 1;
const FLAG_CLEAN = 2;

export interface VoteState {
  readonly epoch: number;
  readonly votedFor: bigint | null;
  readonly cleanShutdown: boolean;
}

export function encodeVoteFile(state: VoteState): Uint8Array {
  const bytes = new Uint8Array(VOTE_FILE_BYTES);
  const data = view(bytes);
  bytes.set(ascii.encode(VOTE_MAGIC), 0);
  data.setUint32(8, FORMAT_VERSION, true);
  const flags = (state.votedFor === null ? 0 : FLAG_VOTED) | (state.cleanShutdown ? FLAG_CLEAN : 0);
  data.setUint32(12, flags, true);
  data.setBigUint64(16, BigInt(state.epoch), true);
  data.setBigUint64(24, state.votedFor ?? 0n, true);
  data.setUint32(36, crc32c(bytes.subarray(0, 36)), true);
  return bytes;
}

/** Decodes the vote file, or returns why it is not one. */
export function decodeVoteFile(bytes: Uint8Array): VoteState | string {
  if (bytes.byteLength !== VOTE_FILE_BYTES)
    return `it is ${bytes.byteLength} bytes; a vote file is ${VOTE_FILE_BYTES}`;
  if (asciiDecoder.decode(bytes.subarray(0, 8)) !== VOTE_MAGIC)
    return `it does not start with ${VOTE_MAGIC}`;
  const data = view(bytes);
  if (data.getUint32(36, true) !== crc32c(bytes.subarray(0, 36)))
    return 'its checksum does not match';
  const version = data.getUint32(8, true);
  if (version !== FORMAT_VERSION)
    return `it has format version ${version}; this build reads ${FORMAT_VERSION}`;
  const flags = data.getUint32(12, true);
  if ((flags & ~(FLAG_VOTED | FLAG_CLEAN)) !== 0) return `it has unknown flags ${flags}`;
  const epoch = readSafeU64(data, 16);
  if (epoch === null) return 'its epoch is out of range';
  return {
    epoch,
    votedFor: (flags & FLAG_VOTED) === 0 ? null : data.getBigUint64(24, true),
    cleanShutdown: (flags & FLAG_CLEAN) !== 0,
  };
}

export function encodeHistoryHeader(): Uint8Array {
  return encodeFileHeader({ magic: HISTORY_MAGIC, generation: 0, baseSeq: 0 });
}

export function encodeHistoryRecord(entry: EpochEntry): Uint8Array {
  const bytes = new Uint8Array(HISTORY_RECORD_BYTES);
  const data = view(bytes);
  data.setBigUint64(0, BigInt(entry.epoch), true);
  data.setBigUint64(8, BigInt(entry.startSeq), true);
  data.setUint32(16, crc32c(bytes.subarray(0, 16)), true);
  return bytes;
}

/** A whole history file: header and one record per entry. */
export function encodeHistoryFile(history: readonly EpochEntry[]): Uint8Array {
  const bytes = new Uint8Array(FILE_HEADER_BYTES + history.length * HISTORY_RECORD_BYTES);
  bytes.set(encodeHistoryHeader(), 0);
  history.forEach((entry, index) => {
    bytes.set(encodeHistoryRecord(entry), FILE_HEADER_BYTES + index * HISTORY_RECORD_BYTES);
  });
  return bytes;
}

export interface DecodedHistory {
  readonly history: EpochEntry[];
  /** Bytes of the file that hold the header and the valid records. */
  readonly validBytes: number;
  /** True when a torn last record follows them (an append that never completed). */
  readonly tornTail: boolean;
}

/**
 * Decodes the history file, or returns why it is corrupt. Only the last record may be torn (cut
 * short, or complete but failing its checksum): a history append is one record, fsynced before
 * it is acknowledged. A bad record before the last, or records out of order, are corruption.
 */
export function decodeHistoryFile(bytes: Uint8Array): DecodedHistory | string {
  const header = decodeFileHeader(bytes.subarray(0, FILE_HEADER_BYTES), HISTORY_MAGIC);
  if (typeof header === 'string') return header;
  const data = view(bytes);
  const body = bytes.byteLength - FILE_HEADER_BYTES;
  const whole = Math.floor(body / HISTORY_RECORD_BYTES);
  let history: EpochEntry[] = [];
  let tornTail = body % HISTORY_RECORD_BYTES !== 0;
  let count = 0;
  for (; count < whole; count++) {
    const at = FILE_HEADER_BYTES + count * HISTORY_RECORD_BYTES;
    const last = count === whole - 1 && !tornTail;
    if (data.getUint32(at + 16, true) !== crc32c(bytes.subarray(at, at + 16))) {
      if (last) {
        tornTail = true;
        break;
      }
      return `history record ${count} fails its checksum`;
    }
    const epoch = readSafeU64(data, at);
    const startSeq = readSafeU64(data, at + 8);
    if (epoch === null || startSeq === null) return `history record ${count} is out of range`;
    const next = historyWith(history, { epoch, startSeq });
    if (typeof next === 'string') return `history record ${count} is out of order: ${next}`;
    history = next;
  }
  return {
    history,
    validBytes: FILE_HEADER_BYTES + count * HISTORY_RECORD_BYTES,
    tornTail,
  };
}
