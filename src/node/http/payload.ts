// Event payloads in JSON: base64 (the default, any bytes) or utf8 (text). Reading with utf8, an
// event whose bytes are not UTF-8 comes back in base64 with `"encoding": "base64"` on that event,
// so a reader never gets silently mangled text and never gets stuck on a binary event.

import type { RedexEvent } from '../../log/event.js';
import { badRequest, HttpError, HttpErrorCode } from './errors.js';
import { EVENT_BYTES_MAX } from './limits.js';

export type PayloadEncoding = 'base64' | 'utf8';

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** `value` is a string (the append schema checked it); its size and base64 are checked here. */
export function decodePayload(value: string, encoding: PayloadEncoding, field: string): Uint8Array {
  if (encoding === 'utf8') {
    if (Buffer.byteLength(value, 'utf8') > EVENT_BYTES_MAX) throw tooBig(field);
    return Buffer.from(value, 'utf8');
  }
  // Checked before decoding: 4 base64 characters carry 3 bytes.
  if (value.length > Math.ceil(EVENT_BYTES_MAX / 3) * 4) throw tooBig(field);
  if (!BASE64.test(value)) throw badRequest(`${field} is not valid base64`);
  const bytes = Buffer.from(value, 'base64');
  if (bytes.byteLength > EVENT_BYTES_MAX) throw tooBig(field);
  return bytes;
}

function tooBig(field: string): HttpError {
  return new HttpError(
    413,
    HttpErrorCode.BodyTooLarge,
    `${field} holds more than ${EVENT_BYTES_MAX} bytes; that is the limit for one event`,
    { details: { limitBytes: EVENT_BYTES_MAX } },
  );
}

export interface EventJson {
  readonly seq: number;
  /** Nanoseconds since the epoch, as a decimal string (JSON numbers lose precision). */
  readonly timestampNs: string;
  readonly payload: string;
  readonly encoding?: 'base64';
}

export function encodeEvent(event: RedexEvent, encoding: PayloadEncoding): EventJson {
  const base = { seq: event.seq, timestampNs: event.timestampNs.toString() };
  const bytes = event.payload;
  if (encoding === 'utf8') {
    try {
      return { ...base, payload: strictUtf8.decode(bytes) };
    } catch {
      return { ...base, payload: base64(bytes), encoding: 'base64' };
    }
  }
  return { ...base, payload: base64(bytes) };
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}
