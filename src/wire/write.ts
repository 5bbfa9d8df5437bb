// Encode-side primitives: input validation that names the offending field, and the writes the
// encoders share. Encoders validate everything before allocating, so a bad value never yields a
// half-written frame.

import { WireEncodeError } from './errors.js';
import { CHANNEL_ID_BYTES, CHANNEL_ID_OFFSET } from './layout.js';
import { SUBPROTOCOL_REDEX } from './types.js';

const TWO_POW_32 = 0x1_0000_0000;
const U32_MAX = 0xffff_ffff;
const U64_MAX = 0xffff_ffff_ffff_ffffn;

/** `message` is the message name used in errors, e.g. `SyncRequest`. */
export function checkSeq(message: string, field: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new WireEncodeError(message, field, 'a safe integer >= 0', value);
  }
}

export function checkU32(message: string, field: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > U32_MAX) {
    throw new WireEncodeError(message, field, `an integer in 0..${U32_MAX}`, value);
  }
}

export function checkU64(message: string, field: string, value: bigint): void {
  if (typeof value !== 'bigint' || value < 0n || value > U64_MAX) {
    throw new WireEncodeError(message, field, `a bigint in 0..${U64_MAX}`, value);
  }
}

export function checkByte(
  message: string,
  field: string,
  value: number,
  min: number,
  max: number,
): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new WireEncodeError(message, field, `an integer in ${min}..${max}`, value);
  }
}

export function checkChannelId(message: string, value: Uint8Array): void {
  if (!(value instanceof Uint8Array) || value.length !== CHANNEL_ID_BYTES) {
    throw new WireEncodeError(
      message,
      'channelId',
      `a Uint8Array of ${CHANNEL_ID_BYTES} bytes`,
      value,
    );
  }
}

/** Writes the header and channel id that open every message. */
export function writeHead(
  out: Uint8Array,
  view: DataView,
  code: number,
  channelId: Uint8Array,
): void {
  view.setUint16(0, SUBPROTOCOL_REDEX, true);
  view.setUint8(2, code);
  out.set(channelId, CHANNEL_ID_OFFSET);
}

/** Writes a checked safe integer as u64 without going through BigInt. */
export function writeU64(view: DataView, offset: number, value: number): void {
  view.setUint32(offset, value >>> 0, true);
  view.setUint32(offset + 4, Math.floor(value / TWO_POW_32), true);
}

/** An optional group must be a plain object when present; `field` names it (e.g. `quorum`). */
export function checkGroup(message: string, field: string, value: unknown): void {
  if (typeof value !== 'object' || value === null) {
    throw new WireEncodeError(message, field, 'an object or absent', value);
  }
}

export function checkBoolean(message: string, field: string, value: boolean): void {
  if (typeof value !== 'boolean') throw new WireEncodeError(message, field, 'a boolean', value);
}
