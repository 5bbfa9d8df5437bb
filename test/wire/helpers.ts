// Small helpers shared by the wire tests.

import assert from 'node:assert/strict';
import { WireError, type WireErrorKind } from '../../src/wire/index.js';

/** Runs `fn` and returns the WireError it throws; fails if it returns or throws anything else. */
export function wireErrorOf(fn: () => unknown): WireError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof WireError, `expected a WireError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a WireError, but decoding succeeded');
}

export function assertWireError(fn: () => unknown, kind: WireErrorKind): WireError {
  const error = wireErrorOf(fn);
  assert.equal(error.kind, kind, error.message);
  assert.equal(error.detail.kind, kind);
  return error;
}

/** Outcome of a decode on hostile input: a value or a WireError, never anything else. */
export function valueOrWireError<T>(fn: () => T): T | WireError {
  try {
    return fn();
  } catch (error) {
    if (error instanceof WireError) return error;
    throw new Error(`decoder threw a non-WireError: ${String(error)}`, { cause: error });
  }
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function fromHex(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'hex'));
}

/** A copy of `frame` with a u64 written little-endian at `offset`. */
export function withU64(frame: Uint8Array, offset: number, value: bigint): Uint8Array {
  const copy = frame.slice();
  new DataView(copy.buffer).setBigUint64(offset, value, true);
  return copy;
}

export function withU32(frame: Uint8Array, offset: number, value: number): Uint8Array {
  const copy = frame.slice();
  new DataView(copy.buffer).setUint32(offset, value, true);
  return copy;
}

export function withU16(frame: Uint8Array, offset: number, value: number): Uint8Array {
  const copy = frame.slice();
  new DataView(copy.buffer).setUint16(offset, value, true);
  return copy;
}

export function withByte(frame: Uint8Array, offset: number, value: number): Uint8Array {
  const copy = frame.slice();
  copy[offset] = value;
  return copy;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}
