// Hex text for ids and frames: logs, docs, test vectors, map keys. Lowercase out, strict in.

import { RedexError, RedexErrorCode } from '../errors/redex-error.js';

const DIGITS = '0123456789abcdef';

export function bytesToHex(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    text += DIGITS[byte >> 4]! + DIGITS[byte & 15]!;
  }
  return text;
}

/** Parses an even-length hex string (either case, no separators); throws INVALID_ARGUMENT. */
export function hexToBytes(hex: string): Uint8Array {
  if (typeof hex !== 'string' || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new RedexError(
      RedexErrorCode.InvalidArgument,
      `not an even-length hex string: ${String(hex).slice(0, 80)}`,
    );
  }
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) {
    bytes[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  }
  return bytes;
}
