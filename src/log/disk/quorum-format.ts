// The byte layouts of a channel's quorum-state files (documented in docs/STORAGE.md): `EPOCH`, the
// epoch and vote, in two slots written in turn; `EPOCHS`, the leader-epoch history, a file header followed by
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

/**
 * One slot of the vote file: magic 8 · version u32 · flags u32 · epoch u64 · votedFor u64 ·
 * counter u32 · crc u32. A file written by the previous version is this one slot alone (its
 * counter, then a reserved field, is 0).
 */
export const VOTE_SLOT_BYTES = 40;
/** Slot 1 starts here, a sector away from slot 0, so a torn write of one cannot touch the other. */
export const VOTE_SLOT_STRIDE = 512;
/** The vote file: slot 0, zeros up to the stride, slot 1. */
export const VOTE_FILE_BYTES = VOTE_SLOT_STRIDE + VOTE_SLOT_BYTES;
/** epoch u64 · startSeq u64 · crc u32 (over the first 16 bytes) */
export const HISTORY_RECORD_BYTES = 20;

const FLAG_VOTED = 1;
const FLAG_CLEAN = 2;

export interface VoteState {
  readonly epoch: number;
  readonly votedFor: bigint | null;
  readonly cleanShutdown: boolean;
}

export type VoteSlotIndex = 0 | 1;

/** The slot holding the newest state, and that state's write counter. */
export interface VoteSlotPosition {
  readonly slot: VoteSlotIndex;
  readonly counter: number;
}

export interface DecodedVoteFile extends VoteSlotPosition {
  readonly vote: VoteState;
}

export function voteSlotOffset(slot: VoteSlotIndex): number {
  return slot * VOTE_SLOT_STRIDE;
}

/** Where the write after `newest` goes: the other slot, with the next counter (wrapping at 2³²). */
export function nextVoteSlot(newest: VoteSlotPosition): VoteSlotPosition {
  return { slot: newest.slot === 0 ? 1 : 0, counter: (newest.counter + 1) >>> 0 };
}

export function encodeVoteSlot(state: VoteState, counter: number): Uint8Array {
  const bytes = new Uint8Array(VOTE_SLOT_BYTES);
  const data = view(bytes);
  bytes.set(ascii.encode(VOTE_MAGIC), 0);
  data.setUint32(8, FORMAT_VERSION, true);
  const flags = (state.votedFor === null ? 0 : FLAG_VOTED) | (state.cleanShutdown ? FLAG_CLEAN : 0);
  data.setUint32(12, flags, true);
  data.setBigUint64(16, BigInt(state.epoch), true);
  data.setBigUint64(24, state.votedFor ?? 0n, true);
  data.setUint32(32, counter >>> 0, true);
  data.setUint32(36, crc32c(bytes.subarray(0, 36)), true);
  return bytes;
}

/** A new vote file: `state` in slot 0 with `counter`, slot 1 empty. */
export function encodeVoteFile(state: VoteState, counter = 1): Uint8Array {
  const bytes = new Uint8Array(VOTE_FILE_BYTES);
  bytes.set(encodeVoteSlot(state, counter), 0);
  return bytes;
}

interface SlotFailure {
  readonly reason: string;
  /** The slot is whole (its checksum matches) but not readable by this build: never a torn write. */
  readonly whole: boolean;
}

function decodeVoteSlot(bytes: Uint8Array): (VoteState & { counter: number }) | SlotFailure {
  if (bytes.byteLength < VOTE_SLOT_BYTES) return { reason: 'it is cut short', whole: false };
  if (asciiDecoder.decode(bytes.subarray(0, 8)) !== VOTE_MAGIC)
    return { reason: `it does not start with ${VOTE_MAGIC}`, whole: false };
  const data = view(bytes);
  if (data.getUint32(36, true) !== crc32c(bytes.subarray(0, 36)))
    return { reason: 'its checksum does not match', whole: false };
  const version = data.getUint32(8, true);
  if (version !== FORMAT_VERSION)
    return {
      reason: `it has format version ${version}; this build reads ${FORMAT_VERSION}`,
      whole: true,
    };
  const flags = data.getUint32(12, true);
  if ((flags & ~(FLAG_VOTED | FLAG_CLEAN)) !== 0)
    return { reason: `it has unknown flags ${flags}`, whole: true };
  const epoch = readSafeU64(data, 16);
  if (epoch === null) return { reason: 'its epoch is out of range', whole: true };
  return {
    epoch,
    votedFor: (flags & FLAG_VOTED) === 0 ? null : data.getBigUint64(24, true),
    cleanShutdown: (flags & FLAG_CLEAN) !== 0,
    counter: data.getUint32(32, true),
  };
}

/** Whether counter `a` was written after `b` (serial-number order: the two differ by one). */
function isNewer(a: number, b: number): boolean {
  const ahead = (a - b) >>> 0;
  return ahead !== 0 && ahead < 0x8000_0000;
}

/**
 * Decodes the vote file, or returns why it is not one. The newer of the valid slots wins; one
 * invalid slot is a write that never completed (its fsync never returned, so nothing relied on
 * it), and the other holds the state before it. No valid slot, or a whole slot this build cannot
 * read, is corruption. A file of one slot only (40 bytes: the previous layout, or such a file
 * cut while its second slot was first written) is read as slot 0.
 */
export function decodeVoteFile(bytes: Uint8Array): DecodedVoteFile | string {
  if (bytes.byteLength < VOTE_SLOT_BYTES || bytes.byteLength > VOTE_FILE_BYTES)
    return `it is ${bytes.byteLength} bytes; a vote file is ${VOTE_SLOT_BYTES} to ${VOTE_FILE_BYTES}`;
  const first = decodeVoteSlot(bytes.subarray(0, VOTE_SLOT_BYTES));
  const second = decodeVoteSlot(bytes.subarray(VOTE_SLOT_STRIDE, VOTE_FILE_BYTES));
  for (const [slot, decoded] of [first, second].entries()) {
    if ('reason' in decoded && decoded.whole) return `slot ${slot}: ${decoded.reason}`;
  }
  if ('reason' in first && 'reason' in second)
    return `no slot is valid (slot 0: ${first.reason}; slot 1: ${second.reason})`;
  const useSecond =
    !('reason' in second) && ('reason' in first || isNewer(second.counter, first.counter));
  const chosen = (useSecond ? second : first) as VoteState & { counter: number };
  return {
    vote: { epoch: chosen.epoch, votedFor: chosen.votedFor, cleanShutdown: chosen.cleanShutdown },
    slot: useSecond ? 1 : 0,
    counter: chosen.counter,
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
  // Shorter than its header: made empty beside the first EPOCH, or its first append was cut
  // short; either way no entry of it was ever acknowledged.
  if (bytes.byteLength < FILE_HEADER_BYTES) {
    return { history: [], validBytes: 0, tornTail: bytes.byteLength > 0 };
  }
  // Only zeros: that first append in place, cut by a crash on a file system that grew the file
  // before its data landed (its bytes read back as zeros). An acknowledged entry was fsynced, so
  // a file that ever held one starts with the magic; the scan stops at the first byte otherwise.
  if (bytes.every((byte) => byte === 0)) return { history: [], validBytes: 0, tornTail: true };
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
