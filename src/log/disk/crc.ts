// CRC-32C (Castagnoli) of a byte range, without a view or a native call per range. The
// persistent format checks every record and index entry on its own, so writes and reads compute
// one checksum per record: through `@node-rs/crc32` each costs a `subarray` (garbage) and a native
// call (~200–300 ns whatever the size). Short ranges (index entries, headers) are cheaper in
// JavaScript (slicing-by-8); longer ones go native through a plain view, where the call is
// amortized (at ~280 bytes the two cost about the same).

import { crc32c } from '@node-rs/crc32';

/** Ranges at least this long use the native implementation. */
const NATIVE_FROM_BYTES = 128;
const POLYNOMIAL = 0x82f63b78;

/** Eight 256-entry tables: table k gives the CRC of a byte followed by k zero bytes. */
const TABLE = (() => {
  const table = new Int32Array(8 * 256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ POLYNOMIAL : crc >>> 1;
    table[byte] = crc;
  }
  for (let byte = 0; byte < 256; byte++) {
    for (let k = 1; k < 8; k++) {
      const previous = table[(k - 1) * 256 + byte]!;
      table[k * 256 + byte] = (previous >>> 8) ^ table[previous & 0xff]!;
    }
  }
  return table;
})();

/** CRC-32C of `bytes[start, end)`; the same value as `crc32c(bytes.subarray(start, end))`. */
export function crc32cRange(bytes: Uint8Array, start: number, end: number): number {
  if (end - start >= NATIVE_FROM_BYTES) return crc32c(bytesAsBuffer(bytes, start, end));
  const t = TABLE;
  let crc = -1;
  let at = start;
  for (; at + 8 <= end; at += 8) {
    crc ^= bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24);
    crc =
      t[1792 + (crc & 0xff)]! ^
      t[1536 + ((crc >>> 8) & 0xff)]! ^
      t[1280 + ((crc >>> 16) & 0xff)]! ^
      t[1024 + (crc >>> 24)]! ^
      t[768 + bytes[at + 4]!]! ^
      t[512 + bytes[at + 5]!]! ^
      t[256 + bytes[at + 6]!]! ^
      t[bytes[at + 7]!]!;
  }
  for (; at < end; at++) crc = t[(crc ^ bytes[at]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}

/** A plain view (cheaper to make than a Buffer's `subarray`); the native binding takes any Uint8Array. */
function bytesAsBuffer(bytes: Uint8Array, start: number, end: number): Buffer {
  return new Uint8Array(bytes.buffer, bytes.byteOffset + start, end - start) as Buffer;
}
