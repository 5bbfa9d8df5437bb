// The binary batch format of `POST /channels/{name}/events` (content-type
// application/vnd.redex.batch): each event is a 4-byte big-endian length and then that many
// payload bytes, back to back. Large batches need no JSON and no base64, so reading one costs a
// copy-free walk over the body, whatever its size.

import { HttpError, HttpErrorCode } from './errors.js';
import { BATCH_EVENTS_MAX, EVENT_BYTES_MAX } from './limits.js';

export const BATCH_MEDIA_TYPE = 'application/vnd.redex.batch';
const LENGTH_BYTES = 4;

export function parseBatchBody(body: Buffer): Uint8Array[] {
  const payloads: Uint8Array[] = [];
  let offset = 0;
  while (offset < body.byteLength) {
    if (body.byteLength - offset < LENGTH_BYTES) {
      throw bad(`the batch ends inside the length of event ${payloads.length}`);
    }
    const length = body.readUInt32BE(offset);
    offset += LENGTH_BYTES;
    if (length > EVENT_BYTES_MAX) {
      throw new HttpError(
        413,
        HttpErrorCode.BodyTooLarge,
        `event ${payloads.length} of the batch holds ${length} bytes; the limit for one event is ${EVENT_BYTES_MAX}`,
        { details: { limitBytes: EVENT_BYTES_MAX } },
      );
    }
    if (body.byteLength - offset < length) {
      throw bad(`event ${payloads.length} of the batch is cut off (${length} bytes announced)`);
    }
    if (payloads.length === BATCH_EVENTS_MAX) {
      throw bad(`the batch holds more than ${BATCH_EVENTS_MAX} events`);
    }
    payloads.push(body.subarray(offset, offset + length));
    offset += length;
  }
  return payloads;
}

function bad(message: string): HttpError {
  return new HttpError(400, HttpErrorCode.BadRequest, message);
}

/** Frames `payloads` in the batch format (for clients and tests). */
export function encodeBatchBody(payloads: readonly Uint8Array[]): Buffer {
  const parts: Buffer[] = [];
  for (const payload of payloads) {
    const length = Buffer.alloc(LENGTH_BYTES);
    length.writeUInt32BE(payload.byteLength);
    parts.push(length, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength));
  }
  return Buffer.concat(parts);
}
