// SyncNack (0x23): header · channel_id[32] · since_seq u64 · error_code u8 ·
// leader_first_retained_seq u64 · request_id u64 · detail_len u16 · detail (UTF-8).
// The leader refuses a request; detail is for humans and is cut to 65535 bytes on a code point
// boundary when encoding. A Diverged (5) NACK, and only that one, continues after the detail with
// diverging_epoch u64 · end_seq u64; detail_len says where the detail ends, so it is unambiguous.

import { WireEncodeError, WireError } from './errors.js';
import { NACK_DETAIL_BYTES_MAX, Nack, NackDiverged } from './layout.js';
import { expectFrame, readChannelId, readSafeU64, truncated } from './read.js';
import { DispatchCode, type NackDiverged as Diverged, NackCode, type SyncNack } from './types.js';
import {
  checkByte,
  checkChannelId,
  checkGroup,
  checkSeq,
  checkU64,
  writeHead,
  writeU64,
} from './write.js';

const NAME = 'SyncNack';
const encoder = new TextEncoder();
// fatal: reject bad UTF-8 instead of inventing U+FFFD; ignoreBOM: keep a leading U+FEFF, which is
// part of the detail, not a byte-order mark.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function encodeNack(message: SyncNack): Uint8Array {
  checkChannelId(NAME, message.channelId);
  checkSeq(NAME, 'sinceSeq', message.sinceSeq);
  checkByte(NAME, 'errorCode', message.errorCode, NackCode.NotLeader, NackCode.Diverged);
  checkSeq(NAME, 'leaderFirstRetainedSeq', message.leaderFirstRetainedSeq);
  checkU64(NAME, 'requestId', message.requestId);
  const detail = message.detail;
  if (typeof detail !== 'string') throw new WireEncodeError(NAME, 'detail', 'a string', detail);
  const diverged = message.diverged;
  if (message.errorCode === NackCode.Diverged) {
    if (diverged === undefined) {
      throw new WireEncodeError(NAME, 'diverged', 'present when errorCode is Diverged', diverged);
    }
    checkGroup(NAME, 'diverged', diverged);
    checkSeq(NAME, 'diverged.divergingEpoch', diverged.divergingEpoch);
    checkSeq(NAME, 'diverged.endSeq', diverged.endSeq);
  } else if (diverged !== undefined) {
    throw new WireEncodeError(NAME, 'diverged', 'absent unless errorCode is Diverged', diverged);
  }
  const trailer = diverged === undefined ? 0 : NackDiverged.bytes;
  // Lone surrogates count 3 bytes here and are written as U+FFFD (3 bytes) by encodeInto.
  const room = Math.min(Buffer.byteLength(detail, 'utf8'), NACK_DETAIL_BYTES_MAX);
  const out = new Uint8Array(Nack.detail + room + trailer);
  const view = new DataView(out.buffer);
  writeHead(out, view, DispatchCode.SyncNack, message.channelId);
  writeU64(view, Nack.sinceSeq, message.sinceSeq);
  view.setUint8(Nack.errorCode, message.errorCode);
  writeU64(view, Nack.leaderFirstRetainedSeq, message.leaderFirstRetainedSeq);
  view.setBigUint64(Nack.requestId, message.requestId, true);
  // encodeInto never writes part of a code point, so a cut lands on a character boundary.
  // The subarray keeps encodeInto out of the trailer's bytes.
  const written =
    room === 0
      ? 0
      : encoder.encodeInto(detail, out.subarray(Nack.detail, Nack.detail + room)).written;
  view.setUint16(Nack.detailLen, written, true);
  const detailEnd = Nack.detail + written;
  if (diverged !== undefined) {
    writeU64(view, detailEnd + NackDiverged.divergingEpoch, diverged.divergingEpoch);
    writeU64(view, detailEnd + NackDiverged.endSeq, diverged.endSeq);
  }
  return written === room ? out : out.subarray(0, detailEnd + trailer);
}

export function readNack(bytes: Uint8Array, view: DataView): SyncNack {
  expectFrame(view, DispatchCode.SyncNack, Nack.minBytes);
  const sinceSeq = readSafeU64(view, Nack.sinceSeq, 'since_seq');
  const errorCode = view.getUint8(Nack.errorCode);
  if (errorCode < NackCode.NotLeader || errorCode > NackCode.Diverged) {
    throw new WireError({ kind: 'BadErrorCode', errorCode });
  }
  const leaderFirstRetainedSeq = readSafeU64(
    view,
    Nack.leaderFirstRetainedSeq,
    'leader_first_retained_seq',
  );
  const requestId = view.getBigUint64(Nack.requestId, true);
  const detailEnd = Nack.detail + view.getUint16(Nack.detailLen, true);
  if (view.byteLength < detailEnd) throw truncated(detailEnd, view.byteLength);
  let detail: string;
  try {
    detail = decoder.decode(bytes.subarray(Nack.detail, detailEnd));
  } catch (error) {
    throw new WireError({ kind: 'InvalidUtf8', field: 'detail' }, { cause: error });
  }
  const base = {
    kind: 'nack' as const,
    channelId: readChannelId(bytes),
    sinceSeq,
    errorCode: errorCode as NackCode,
    leaderFirstRetainedSeq,
    requestId,
    detail,
  };
  // Other codes carry no group: whatever follows their detail is a later version's, ignored.
  if (errorCode !== NackCode.Diverged) return base;
  const groupEnd = detailEnd + NackDiverged.bytes;
  if (view.byteLength < groupEnd) throw truncated(groupEnd, view.byteLength);
  const diverged: Diverged = {
    divergingEpoch: readSafeU64(view, detailEnd + NackDiverged.divergingEpoch, 'diverging_epoch'),
    endSeq: readSafeU64(view, detailEnd + NackDiverged.endSeq, 'end_seq'),
  };
  return { ...base, diverged };
}
