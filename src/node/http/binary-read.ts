// The binary answer of `GET /channels/{name}/events` with `Accept: application/octet-stream`:
// raw payloads, no base64. The body is the page's events back to back, each
//
//   seq      8 bytes, unsigned, big-endian
//   length   4 bytes, unsigned, big-endian
//   payload  `length` bytes
//
// and the page's cursors travel as headers (`x-redex-next`: where the following page starts;
// `x-redex-next-seq`; `x-redex-first-seq` when anything is retained; `x-redex-count`). An empty
// page is an empty body. docs/OPERATIONS.md describes the same format for clients.

import type { ServerResponse } from 'node:http';
import type { ReadResult } from '../service.js';

export const BINARY_READ_MEDIA_TYPE = 'application/octet-stream';
export const NEXT_HEADER = 'x-redex-next';
export const NEXT_SEQ_HEADER = 'x-redex-next-seq';
export const FIRST_SEQ_HEADER = 'x-redex-first-seq';
export const COUNT_HEADER = 'x-redex-count';
const EVENT_HEADER_BYTES = 12;

/**
 * Whether `accept` asks for the binary format over JSON: octet-stream listed with a higher
 * quality than JSON (or `*` types), or with the same quality and first. Anything else is JSON,
 * the default.
 */
export function prefersBinary(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  let binary: Preference | null = null;
  let json: Preference | null = null;
  const parts = accept.split(',');
  for (let at = 0; at < parts.length; at++) {
    const [type = '', ...parameters] = parts[at]!.split(';').map((p) => p.trim().toLowerCase());
    const qParam = parameters.find((parameter) => parameter.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (!Number.isFinite(q)) continue;
    if (type === BINARY_READ_MEDIA_TYPE) binary ??= { q, at };
    else if (type === 'application/json' || type === 'application/*' || type === '*/*') {
      json ??= { q, at };
    }
  }
  if (binary === null || binary.q <= 0) return false;
  return json === null || binary.q > json.q || (binary.q === json.q && binary.at < json.at);
}

interface Preference {
  readonly q: number;
  readonly at: number;
}

/** Frames `events` in the binary read format. */
export function encodeBinaryRead(events: ReadResult['events']): Buffer {
  let size = 0;
  for (const event of events) size += EVENT_HEADER_BYTES + event.payload.byteLength;
  const out = Buffer.allocUnsafe(size);
  let offset = 0;
  for (const event of events) {
    out.writeBigUInt64BE(BigInt(event.seq), offset);
    out.writeUInt32BE(event.payload.byteLength, offset + 8);
    out.set(event.payload, offset + EVENT_HEADER_BYTES);
    offset += EVENT_HEADER_BYTES + event.payload.byteLength;
  }
  return out;
}

/** Reads the binary read format back (for clients and tests); throws on a cut-off body. */
export function decodeBinaryRead(body: Uint8Array): { seq: number; payload: Uint8Array }[] {
  const view = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const events: { seq: number; payload: Uint8Array }[] = [];
  let offset = 0;
  while (offset < view.byteLength) {
    if (view.byteLength - offset < EVENT_HEADER_BYTES) throw new Error('cut off in a header');
    const seq = Number(view.readBigUInt64BE(offset));
    const length = view.readUInt32BE(offset + 8);
    offset += EVENT_HEADER_BYTES;
    if (view.byteLength - offset < length) throw new Error(`cut off in event ${seq}`);
    events.push({ seq, payload: view.subarray(offset, offset + length) });
    offset += length;
  }
  return events;
}

export function sendBinaryRead(res: ServerResponse, result: ReadResult): void {
  const body = encodeBinaryRead(result.events);
  res.writeHead(200, {
    'content-type': BINARY_READ_MEDIA_TYPE,
    'content-length': String(body.byteLength),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    [NEXT_HEADER]: String(result.nextFromSeq),
    [NEXT_SEQ_HEADER]: String(result.nextSeq),
    [COUNT_HEADER]: String(result.events.length),
    ...(result.firstSeq === null ? {} : { [FIRST_SEQ_HEADER]: String(result.firstSeq) }),
  });
  res.end(body);
}
