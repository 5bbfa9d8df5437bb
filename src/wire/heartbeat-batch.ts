// HeartbeatBatch (0x28): the heartbeats of many channels to one peer in one frame. Same facts as
// SyncHeartbeat (0x22), entry by entry, so the receiver splits a batch back into the single
// heartbeats its channels already handle. Layout: header · count u16 · count × (channel_id[32] ·
// tail_seq u64 · role u8 · wall_clock_ms u64 · flags u8 · [epoch u64 · last_epoch u64 ·
// commit_seq u64 when flags bit 0 is set]). Bytes after the last entry are ignored.

import { WireEncodeError, WireError } from './errors.js';
import {
  CHANNEL_ID_BYTES,
  CHANNEL_ID_OFFSET,
  HEADER_BYTES,
  HEARTBEAT_BATCH_MAX,
  Heartbeat,
  HeartbeatBatch,
  HeartbeatBatchFlag,
} from './layout.js';
import { readFlags, readHeader, readSafeU64, truncated } from './read.js';
import {
  DispatchCode,
  type HeartbeatQuorum,
  Role,
  SUBPROTOCOL_REDEX,
  type SyncHeartbeat,
} from './types.js';
import { checkByte, checkChannelId, checkGroup, checkSeq, writeU64 } from './write.js';

const NAME = 'HeartbeatBatch';
const L = HeartbeatBatch;

/** Encoded size of one entry. */
function entryBytes(message: SyncHeartbeat): number {
  return message.quorum === undefined ? L.entryBytes : L.quorumEntryBytes;
}

function checkEntry(message: SyncHeartbeat, index: number): void {
  const at = `heartbeats[${index}]`;
  if (typeof message !== 'object' || message === null || message.kind !== 'heartbeat') {
    throw new WireEncodeError(NAME, at, 'a SyncHeartbeat', message);
  }
  checkChannelId(NAME, message.channelId);
  checkSeq(NAME, `${at}.tailSeq`, message.tailSeq);
  checkByte(NAME, `${at}.role`, message.role, Role.Leader, Role.Idle);
  checkSeq(NAME, `${at}.wallClockMs`, message.wallClockMs);
  const quorum = message.quorum;
  if (quorum !== undefined) {
    checkGroup(NAME, `${at}.quorum`, quorum);
    checkSeq(NAME, `${at}.quorum.epoch`, quorum.epoch);
    checkSeq(NAME, `${at}.quorum.lastEpoch`, quorum.lastEpoch);
    checkSeq(NAME, `${at}.quorum.commitSeq`, quorum.commitSeq);
  }
}

/** Encodes 1..HEARTBEAT_BATCH_MAX heartbeats; throws WireEncodeError naming a bad field. */
export function encodeHeartbeatBatch(messages: readonly SyncHeartbeat[]): Uint8Array {
  if (!Array.isArray(messages) || messages.length < 1 || messages.length > HEARTBEAT_BATCH_MAX) {
    throw new WireEncodeError(
      NAME,
      'heartbeats',
      `an array of 1..${HEARTBEAT_BATCH_MAX} heartbeats`,
      Array.isArray(messages) ? `${messages.length} heartbeats` : messages,
    );
  }
  let size = L.entries;
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i] as SyncHeartbeat;
    checkEntry(message, i);
    size += entryBytes(message);
  }
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint16(0, SUBPROTOCOL_REDEX, true);
  view.setUint8(2, DispatchCode.HeartbeatBatch);
  view.setUint16(L.count, messages.length, true);
  let at = L.entries;
  for (const message of messages) {
    out.set(message.channelId, at + L.channelId);
    writeU64(view, at + L.tailSeq, message.tailSeq);
    view.setUint8(at + L.role, message.role);
    writeU64(view, at + L.wallClockMs, message.wallClockMs);
    const quorum = message.quorum;
    view.setUint8(at + L.flags, quorum === undefined ? 0 : HeartbeatBatchFlag.Quorum);
    if (quorum !== undefined) {
      writeU64(view, at + L.epoch, quorum.epoch);
      writeU64(view, at + L.lastEpoch, quorum.lastEpoch);
      writeU64(view, at + L.commitSeq, quorum.commitSeq);
    }
    at += entryBytes(message);
  }
  return out;
}

/** The body of `decodeHeartbeatBatch`, without the catch-all. */
export function readHeartbeatBatch(bytes: Uint8Array, view: DataView): SyncHeartbeat[] {
  const code = readHeader(view);
  if (code !== DispatchCode.HeartbeatBatch) {
    throw new WireError({
      kind: 'DispatchMismatch',
      expected: DispatchCode.HeartbeatBatch,
      actual: code,
    });
  }
  if (view.byteLength < L.entries) throw truncated(L.entries, view.byteLength);
  const count = view.getUint16(L.count, true);
  if (count < 1 || count > HEARTBEAT_BATCH_MAX) {
    throw new WireError({ kind: 'BadBatchCount', count, max: HEARTBEAT_BATCH_MAX });
  }
  // Every entry needs at least the short form: refuse before decoding any of them.
  const minimum = L.entries + count * L.entryBytes;
  if (view.byteLength < minimum) throw truncated(minimum, view.byteLength);
  const out: SyncHeartbeat[] = [];
  let at = L.entries;
  for (let i = 0; i < count; i++) {
    if (view.byteLength < at + L.entryBytes) throw truncated(at + L.entryBytes, view.byteLength);
    const tailSeq = readSafeU64(view, at + L.tailSeq, `heartbeats[${i}].tail_seq`);
    const role = view.getUint8(at + L.role);
    if (role > Role.Idle) throw new WireError({ kind: 'BadRole', role });
    const wallClockMs = readSafeU64(view, at + L.wallClockMs, `heartbeats[${i}].wall_clock_ms`);
    const flags = readFlags(
      view,
      at + L.flags,
      HeartbeatBatchFlag.Quorum,
      `heartbeats[${i}].flags`,
    );
    const channelId = new Uint8Array(CHANNEL_ID_BYTES);
    channelId.set(new Uint8Array(bytes.buffer, bytes.byteOffset + at, CHANNEL_ID_BYTES));
    const base = {
      kind: 'heartbeat' as const,
      channelId,
      tailSeq,
      role: role as Role,
      wallClockMs,
    };
    if ((flags & HeartbeatBatchFlag.Quorum) === 0) {
      out.push(base);
      at += L.entryBytes;
      continue;
    }
    if (view.byteLength < at + L.quorumEntryBytes) {
      throw truncated(at + L.quorumEntryBytes, view.byteLength);
    }
    const quorum: HeartbeatQuorum = {
      epoch: readSafeU64(view, at + L.epoch, `heartbeats[${i}].epoch`),
      lastEpoch: readSafeU64(view, at + L.lastEpoch, `heartbeats[${i}].last_epoch`),
      commitSeq: readSafeU64(view, at + L.commitSeq, `heartbeats[${i}].commit_seq`),
    };
    out.push({ ...base, quorum });
    at += L.quorumEntryBytes;
  }
  return out;
}

/** Whether a frame's third byte names a heartbeat batch. */
export function isHeartbeatBatch(frame: Uint8Array): boolean {
  return frame.length >= HEADER_BYTES && frame[2] === DispatchCode.HeartbeatBatch;
}

/**
 * Builds a batch from 1..HEARTBEAT_BATCH_MAX frames that `encodeHeartbeat` produced (so they are
 * valid already): each entry is the frame's body with the flags byte put before the epoch group.
 * Copies bytes only, so a sender can encode each heartbeat once when it is queued.
 */
export function batchFromHeartbeatFrames(frames: readonly Uint8Array[]): Uint8Array {
  if (frames.length < 1 || frames.length > HEARTBEAT_BATCH_MAX) {
    throw new WireEncodeError(
      NAME,
      'frames',
      `1..${HEARTBEAT_BATCH_MAX} encoded heartbeats`,
      `${frames.length} frames`,
    );
  }
  let size = L.entries;
  for (const [i, frame] of frames.entries()) {
    if (
      frame[2] !== DispatchCode.SyncHeartbeat ||
      (frame.length !== Heartbeat.bytes && frame.length !== Heartbeat.quorumBytes)
    ) {
      throw new WireEncodeError(NAME, `frames[${i}]`, 'an encoded SyncHeartbeat', frame);
    }
    size += frame.length === Heartbeat.bytes ? L.entryBytes : L.quorumEntryBytes;
  }
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint16(0, SUBPROTOCOL_REDEX, true);
  view.setUint8(2, DispatchCode.HeartbeatBatch);
  view.setUint16(L.count, frames.length, true);
  let at = L.entries;
  for (const frame of frames) {
    // channel_id · tail_seq · role · wall_clock_ms sit in the same order in both layouts.
    out.set(frame.subarray(CHANNEL_ID_OFFSET, Heartbeat.bytes), at);
    const quorum = frame.length === Heartbeat.quorumBytes;
    out[at + L.flags] = quorum ? HeartbeatBatchFlag.Quorum : 0;
    if (quorum) out.set(frame.subarray(Heartbeat.epoch, Heartbeat.quorumBytes), at + L.epoch);
    at += quorum ? L.quorumEntryBytes : L.entryBytes;
  }
  return out;
}
