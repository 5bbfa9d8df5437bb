// SyncResponse (0x21): header · channel_id[32] · first_seq u64 · leader_first_retained_seq u64 ·
// request_id u64 · event_count u32 · events, each `event_seq u64 · payload_len u32 · payload`.
// The bulk carrier of replication, so both directions are written for speed: the encoder sizes
// the frame once and writes into a single buffer; the decoder returns payloads as views into the
// frame (no copy) and never trusts event_count or payload_len before the bytes are there.

import { WireEncodeError } from './errors.js';
import { EVENT_COUNT_MAX, EVENT_HEADER_BYTES, PAYLOAD_BYTES_MAX, Response } from './layout.js';
import { expectFrame, readChannelId, readSafeU64, truncated } from './read.js';
import { DispatchCode, type SyncResponse, type WireEvent } from './types.js';
import { checkChannelId, checkSeq, checkU64, writeHead, writeU64 } from './write.js';

const NAME = 'SyncResponse';

/** The encoded size of a response carrying `events`; the bandwidth budget charges this much. */
export function responseEncodedBytes(events: readonly WireEvent[]): number {
  let total = Response.events;
  for (let i = 0; i < events.length; i++) {
    total += EVENT_HEADER_BYTES + events[i]!.payload.byteLength;
  }
  return total;
}

export function encodeResponse(message: SyncResponse): Uint8Array {
  checkChannelId(NAME, message.channelId);
  checkSeq(NAME, 'firstSeq', message.firstSeq);
  checkSeq(NAME, 'leaderFirstRetainedSeq', message.leaderFirstRetainedSeq);
  checkU64(NAME, 'requestId', message.requestId);
  const events = message.events;
  if (!Array.isArray(events) || events.length > EVENT_COUNT_MAX) {
    throw new WireEncodeError(NAME, 'events', `an array of at most ${EVENT_COUNT_MAX}`, events);
  }
  // One pass validates and sizes, so the frame is allocated once and never half-written.
  let total = Response.events;
  for (let i = 0; i < events.length; i++) {
    const event = events[i] as WireEvent;
    // Inline rather than checkSeq: the field name is only built on failure (hot loop).
    if (!Number.isSafeInteger(event.seq) || event.seq < 0) {
      throw new WireEncodeError(NAME, `events[${i}].seq`, 'a safe integer >= 0', event.seq);
    }
    const payload = event.payload;
    if (!(payload instanceof Uint8Array) || payload.byteLength > PAYLOAD_BYTES_MAX) {
      throw new WireEncodeError(NAME, `events[${i}].payload`, 'a Uint8Array under 4 GiB', payload);
    }
    total += EVENT_HEADER_BYTES + payload.byteLength;
  }
  // Every byte below is written, so skip zero-filling; the buffer is not pooled (offset 0, own
  // ArrayBuffer), so no other allocation's bytes can leak through `.buffer`.
  const out = new Uint8Array(Buffer.allocUnsafeSlow(total).buffer, 0, total);
  const view = new DataView(out.buffer, 0, total);
  writeHead(out, view, DispatchCode.SyncResponse, message.channelId);
  writeU64(view, Response.firstSeq, message.firstSeq);
  writeU64(view, Response.leaderFirstRetainedSeq, message.leaderFirstRetainedSeq);
  view.setBigUint64(Response.requestId, message.requestId, true);
  view.setUint32(Response.eventCount, events.length, true);
  let offset = Response.events;
  for (let i = 0; i < events.length; i++) {
    const event = events[i] as WireEvent;
    const payload = event.payload;
    writeU64(view, offset, event.seq);
    view.setUint32(offset + 8, payload.byteLength, true);
    offset += EVENT_HEADER_BYTES;
    out.set(payload, offset);
    offset += payload.byteLength;
  }
  return out;
}

export function readResponse(bytes: Uint8Array, view: DataView): SyncResponse {
  expectFrame(view, DispatchCode.SyncResponse, Response.minBytes);
  const end = view.byteLength;
  const firstSeq = readSafeU64(view, Response.firstSeq, 'first_seq');
  const leaderFirstRetainedSeq = readSafeU64(
    view,
    Response.leaderFirstRetainedSeq,
    'leader_first_retained_seq',
  );
  const requestId = view.getBigUint64(Response.requestId, true);
  const count = view.getUint32(Response.eventCount, true);
  // Every event takes at least its 12-byte header, so a count the frame cannot hold is refused
  // before the array is sized from it: pre-allocation stays bounded by the bytes received.
  const minEnd = Response.events + count * EVENT_HEADER_BYTES;
  if (minEnd > end) throw truncated(minEnd, end);
  const events: WireEvent[] = new Array(count);
  const buffer = bytes.buffer;
  const base = bytes.byteOffset;
  let offset = Response.events;
  for (let i = 0; i < count; i++) {
    if (end - offset < EVENT_HEADER_BYTES) throw truncated(offset + EVENT_HEADER_BYTES, end);
    const seq = readSafeU64(view, offset, 'event_seq');
    const length = view.getUint32(offset + 8, true);
    offset += EVENT_HEADER_BYTES;
    if (end - offset < length) throw truncated(offset + length, end);
    // A view, not a copy: same ArrayBuffer as the frame (the constructor is cheaper than
    // subarray on a Buffer input, which would go through Symbol.species).
    events[i] = { seq, payload: new Uint8Array(buffer, base + offset, length) };
    offset += length;
  }
  return {
    kind: 'response',
    channelId: readChannelId(bytes),
    firstSeq,
    leaderFirstRetainedSeq,
    requestId,
    events,
  };
}
