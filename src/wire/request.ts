// SyncRequest (0x20), 56 bytes: header · channel_id[32] · since_seq u64 · chunk_max u32 ·
// request_id u64 · class u8. A replica asks the leader for events from since_seq (inclusive).
// Older senders omit the class byte (55 bytes); missing or unknown classes mean Foreground.

import { Request } from './layout.js';
import { expectFrame, readChannelId, readSafeU64 } from './read.js';
import { DispatchCode, SyncClass, type SyncRequest } from './types.js';
import {
  checkByte,
  checkChannelId,
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
  const out = new Uint8Array(Request.bytes);
  const view = new DataView(out.buffer);
  writeHead(out, view, DispatchCode.SyncRequest, message.channelId);
  writeU64(view, Request.sinceSeq, message.sinceSeq);
  view.setUint32(Request.chunkMax, message.chunkMax, true);
  view.setBigUint64(Request.requestId, message.requestId, true);
  view.setUint8(Request.syncClass, message.syncClass);
  return out;
}

export function readRequest(bytes: Uint8Array, view: DataView): SyncRequest {
  expectFrame(view, DispatchCode.SyncRequest, Request.minBytes);
  const sinceSeq = readSafeU64(view, Request.sinceSeq, 'since_seq');
  const classByte = view.byteLength > Request.syncClass ? view.getUint8(Request.syncClass) : 0;
  // Unknown classes degrade to Foreground, as upstream does, so a newer sender is still served.
  const syncClass =
    classByte <= SyncClass.Realtime ? (classByte as SyncClass) : SyncClass.Foreground;
  return {
    kind: 'request',
    channelId: readChannelId(bytes),
    sinceSeq,
    chunkMax: view.getUint32(Request.chunkMax, true),
    requestId: view.getBigUint64(Request.requestId, true),
    syncClass,
  };
}
