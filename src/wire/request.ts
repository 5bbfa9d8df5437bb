// SyncRequest (0x20), 56 bytes: header · channel_id[32] · since_seq u64 · chunk_max u32 ·
// request_id u64 · class u8, then optionally the epoch group: epoch u64 ·
// last_fetched_epoch u64 (72 bytes). A replica asks the leader for events from since_seq
// (inclusive). Older senders omit the class byte (55 bytes); missing or unknown classes mean
// Foreground. The group comes only after the class byte.

import { Request } from './layout.js';
import { expectFrame, hasGroup, readChannelId, readSafeU64 } from './read.js';
import { DispatchCode, type RequestQuorum, SyncClass, type SyncRequest } from './types.js';
import {
  checkByte,
  checkChannelId,
  checkGroup,
  checkSeq,
  checkU32,
  checkU64,
  writeHead,
  writeU64,
} from './write.js';

const NAME = 'SyncRequest';

export function encodeRequest(message: SyncRequest): Uint8Array {
  checkChannelId(NAME, message.channelId);
  checkSeq(NAME, 'sinceSeq', message.sinceSeq);
  checkU32(NAME, 'chunkMax', message.chunkMax);
  checkU64(NAME, 'requestId', message.requestId);
  checkByte(NAME, 'syncClass', message.syncClass, SyncClass.Foreground, SyncClass.Realtime);
  const quorum = message.quorum;
  if (quorum !== undefined) {
    checkGroup(NAME, 'quorum', quorum);
    checkSeq(NAME, 'quorum.epoch', quorum.epoch);
    checkSeq(NAME, 'quorum.lastFetchedEpoch', quorum.lastFetchedEpoch);
  }
  const out = new Uint8Array(quorum === undefined ? Request.bytes : Request.quorumBytes);
  const view = new DataView(out.buffer);
  writeHead(out, view, DispatchCode.SyncRequest, message.channelId);
  writeU64(view, Request.sinceSeq, message.sinceSeq);
  view.setUint32(Request.chunkMax, message.chunkMax, true);
  view.setBigUint64(Request.requestId, message.requestId, true);
  view.setUint8(Request.syncClass, message.syncClass);
  if (quorum !== undefined) {
    writeU64(view, Request.epoch, quorum.epoch);
    writeU64(view, Request.lastFetchedEpoch, quorum.lastFetchedEpoch);
  }
  return out;
}

export function readRequest(bytes: Uint8Array, view: DataView): SyncRequest {
  expectFrame(view, DispatchCode.SyncRequest, Request.minBytes);
  const sinceSeq = readSafeU64(view, Request.sinceSeq, 'since_seq');
  const classByte = view.byteLength > Request.syncClass ? view.getUint8(Request.syncClass) : 0;
  // Unknown classes degrade to Foreground, as upstream does, so a newer sender is still served.
  const syncClass =
    classByte <= SyncClass.Realtime ? (classByte as SyncClass) : SyncClass.Foreground;
  const base = {
    kind: 'request' as const,
    channelId: readChannelId(bytes),
    sinceSeq,
    chunkMax: view.getUint32(Request.chunkMax, true),
    requestId: view.getBigUint64(Request.requestId, true),
    syncClass,
  };
  if (!hasGroup(view, Request.epoch, Request.quorumBytes - Request.epoch)) return base;
  const quorum: RequestQuorum = {
    epoch: readSafeU64(view, Request.epoch, 'epoch'),
    lastFetchedEpoch: readSafeU64(view, Request.lastFetchedEpoch, 'last_fetched_epoch'),
  };
  return { ...base, quorum };
}
