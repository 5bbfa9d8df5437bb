// Decode-side primitives shared by the per-message decoders: header checks, bounds checks and
// u64 → number reads that refuse anything past Number.MAX_SAFE_INTEGER. Everything here throws
// WireError only; the public decoders wrap the rest.

import { WireError } from './errors.js';
import { CHANNEL_ID_BYTES, CHANNEL_ID_OFFSET, HEADER_BYTES } from './layout.js';
import { SUBPROTOCOL_REDEX } from './types.js';

/** 2^32, to combine the two u32 halves of a u64 without going through BigInt. */
const TWO_POW_32 = 0x1_0000_0000;
/** The high u32 of Number.MAX_SAFE_INTEGER (2^53 - 1). */
const SAFE_HIGH_MAX = 0x1f_ffff;

export function truncated(needed: number, available: number): WireError {
  return new WireError({ kind: 'Truncated', needed, available });
}

/** A DataView over exactly the bytes of `bytes`; refuses anything that is not a Uint8Array. */
export function viewOf(bytes: Uint8Array): DataView {
  if (!(bytes instanceof Uint8Array)) {
    throw new WireError({ kind: 'BadInput', reason: `expected a Uint8Array, got ${typeof bytes}` });
  }
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Checks the 3-byte header and returns the dispatch code. */
export function readHeader(view: DataView): number {
  if (view.byteLength < HEADER_BYTES) throw truncated(HEADER_BYTES, view.byteLength);
  const subprotocol = view.getUint16(0, true);
  if (subprotocol !== SUBPROTOCOL_REDEX) {
    throw new WireError({ kind: 'SubprotocolMismatch', subprotocol });
  }
  return view.getUint8(2);
}

/** Checks the header names `expected` and that the fixed part (`minBytes`) is all there. */
export function expectFrame(view: DataView, expected: number, minBytes: number): void {
  const actual = readHeader(view);
  if (actual !== expected) throw new WireError({ kind: 'DispatchMismatch', expected, actual });
  if (view.byteLength < minBytes) throw truncated(minBytes, view.byteLength);
}

/**
 * Copies the channel id out of the frame: it is small and often kept (maps, state), and a view
 * would pin a possibly large frame for as long as it lives.
 */
export function readChannelId(bytes: Uint8Array): Uint8Array {
  // Not `bytes.slice`: on a Buffer that is a view, not a copy. This always yields a plain
  // Uint8Array over its own ArrayBuffer, whatever the input's class or backing buffer.
  const id = new Uint8Array(CHANNEL_ID_BYTES);
  id.set(new Uint8Array(bytes.buffer, bytes.byteOffset + CHANNEL_ID_OFFSET, CHANNEL_ID_BYTES));
  return id;
}

/** A u64 that must fit a JS number exactly (seqs, wall clock); read as two u32 to avoid BigInt. */
export function readSafeU64(view: DataView, offset: number, field: string): number {
  const low = view.getUint32(offset, true);
  const high = view.getUint32(offset + 4, true);
  if (high > SAFE_HIGH_MAX) {
    throw new WireError({
      kind: 'SeqOutOfRange',
      field,
      value: view.getBigUint64(offset, true),
    });
  }
  return high * TWO_POW_32 + low;
}

/**
 * Whether an all-or-nothing trailing group of `size` bytes starts at `at`: absent when the frame
 * ends there, present when all of it is there, and Truncated when only part of it is.
 */
export function hasGroup(view: DataView, at: number, size: number): boolean {
  if (view.byteLength <= at) return false;
  if (view.byteLength < at + size) throw truncated(at + size, view.byteLength);
  return true;
}

/** A flags byte whose bits outside `known` must be zero. */
export function readFlags(view: DataView, offset: number, known: number, field: string): number {
  const flags = view.getUint8(offset);
  if ((flags & ~known) !== 0) throw new WireError({ kind: 'BadFlags', field, flags });
  return flags;
}
