// CRC-32C (Castagnoli) of a byte range, without a view or a native call per range. The
// persistent format checks every record and index entry on its own, so writes and reads compute
// one checksum per record: through `@node-rs/crc32` each costs a `subarray` (garbage) and a native
// call (~200–300 ns whatever the size). Short ranges (index entries, headers) are cheaper in
// JavaScript (slicing-by-8); longer ones go native through a plain view, where the call is
// amortized (at ~280 bytes the two cost about the same). A caller holding a DataView over the
// bytes (sealing a batch) uses `crc32cRangeOf`, which reads words and stays in JavaScript up to
// 512 bytes.

import { crc32c } from '@node-rs/crc32';

/** Ranges at least this long use the native implementation. */
const NATIVE_FROM_BYTES = 128;
const POLYNOMIAL = 0x82f63b78;

/**
 * Sixteen 256-entry tables: table k gives the CRC of a byte followed by k zero bytes (the first
 * eight serve slicing-by-8 over bytes, all sixteen slicing-by-16 over words).
 */
const TABLE = (() => {
  const table = new Int32Array(16 * 256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ POLYNOMIAL : crc >>> 1;
    table[byte] = crc;
  }
  for (let byte = 0; byte < 256; byte++) {
    for (let k = 1; k < 16; k++) {
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

/**
 * Ranges of a buffer the caller already has a DataView over use JavaScript below this: reading it
 * four bytes at a time (slicing-by-16) costs about 0.65 ns a byte against the native call's
 * ~0.3 µs plus 0.4 ns a byte, so a 280-byte record takes ~180 ns instead of ~270.
 */
const WORDS_NATIVE_FROM_BYTES = 512;

/**
 * `crc32cRange` for a range of `bytes`, with `data` a DataView over the same bytes (a record
 * sealing pass has one): no view and no native call per range below 512 bytes.
 */
export function crc32cRangeOf(
  bytes: Uint8Array,
  data: DataView,
  start: number,
  end: number,
): number {
  if (end - start >= WORDS_NATIVE_FROM_BYTES) return crc32c(bytesAsBuffer(bytes, start, end));
  const t = TABLE;
  let crc = -1;
  let at = start;
  for (; at + 16 <= end; at += 16) {
    const a = data.getInt32(at, true) ^ crc;
    const b = data.getInt32(at + 4, true);
    const c = data.getInt32(at + 8, true);
    const d = data.getInt32(at + 12, true);
    crc =
      t[3840 + (a & 0xff)]! ^
      t[3584 + ((a >>> 8) & 0xff)]! ^
      t[3328 + ((a >>> 16) & 0xff)]! ^
      t[3072 + (a >>> 24)]! ^
      t[2816 + (b & 0xff)]! ^
      t[2560 + ((b >>> 8) & 0xff)]! ^
      t[2304 + ((b >>> 16) & 0xff)]! ^
      t[2048 + (b >>> 24)]! ^
      t[1792 + (c & 0xff)]! ^
      t[1536 + ((c >>> 8) & 0xff)]! ^
      t[1280 + ((c >>> 16) & 0xff)]! ^
      t[1024 + (c >>> 24)]! ^
      t[768 + (d & 0xff)]! ^
      t[512 + ((d >>> 8) & 0xff)]! ^
      t[256 + ((d >>> 16) & 0xff)]! ^
      t[d >>> 24]!;
  }
  for (; at < end; at++) crc = t[(crc ^ bytes[at]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}

/** A plain view (cheaper to make than a Buffer's `subarray`); the native binding takes any Uint8Array. */
function bytesAsBuffer(bytes: Uint8Array, start: number, end: number): Buffer {
  return new Uint8Array(bytes.buffer, bytes.byteOffset + start, end - start) as Buffer;
}

// Combining checksums (the method of zlib's crc32_combine). CRC-32C is linear over GF(2): for
// byte strings A and B, crc(A‖B) = crc(A)·x^(8·|B|) mod P  ⊕  crc(B), in the reflected bit order
// these checksums use. So the checksum of a span of records follows from the checksums stored in
// them, and one native call over the span can stand for one call per record (format.ts).

/** a·b modulo the polynomial, both reflected (bit 31 is x^0). */
function multiplyModP(a: number, b: number): number {
  let product = 0;
  for (let bit = 0x8000_0000; bit !== 0; bit >>>= 1) {
    if ((a & bit) !== 0) product ^= b;
    b = b & 1 ? (b >>> 1) ^ POLYNOMIAL : b >>> 1;
  }
  return product >>> 0;
}

/** x^(2^k) mod P for k = 0..31 (x^1 is bit 30 when reflected). */
const X_POW_2K = (() => {
  const powers = new Uint32Array(32);
  let p = 0x4000_0000;
  for (let k = 0; k < 32; k++) {
    powers[k] = p;
    p = multiplyModP(p, p);
  }
  return powers;
})();

/** x^(8·bytes) mod P: what a checksum is multiplied by to move it `bytes` further. */
function shiftFactor(bytes: number): number {
  let factor = 0x8000_0000; // x^0
  let k = 3; // 8 = 2^3
  for (let n = bytes; n > 0; n = Math.floor(n / 2), k++)
    if (n % 2 === 1) factor = multiplyModP(X_POW_2K[k & 31]!, factor);
  return factor;
}

/**
 * Multiplication by one shift factor as four byte tables (linear, so a checksum's four bytes
 * are multiplied separately and xored): four lookups instead of a 32-step loop per record.
 */
function shiftTables(bytes: number): Int32Array {
  const factor = shiftFactor(bytes);
  const tables = new Int32Array(4 * 256);
  for (let position = 0; position < 4; position++) {
    const base = position * 256;
    for (let value = 1; value < 256; value++) {
      const low = value & -value;
      tables[base + value] =
        value === low
          ? multiplyModP(factor, (value << (8 * position)) >>> 0)
          : tables[base + low]! ^ tables[base + (value ^ low)]!;
    }
  }
  return tables;
}

/** Tables kept for this many distinct span lengths at most (records of a log repeat lengths). */
const SHIFT_TABLES_MAX = 64;
const shiftTableCache = new Map<number, Int32Array>();
// The last length asked for: consecutive records mostly have the same length.
let lastShiftBytes = -1;
let lastShiftTables: Int32Array = new Int32Array(4 * 256);

/**
 * `crc` moved `bytes` further: crc(A‖B) = crc32cShift(crc(A), |B|) ⊕ crc(B). Int32 in and out
 * (compare with `| 0`): a uint32 above 2³¹ would be boxed on every call.
 */
export function crc32cShift(crc: number, bytes: number): number {
  if (bytes !== lastShiftBytes) {
    let tables = shiftTableCache.get(bytes);
    if (tables === undefined) {
      if (shiftTableCache.size >= SHIFT_TABLES_MAX) shiftTableCache.clear();
      tables = shiftTables(bytes);
      shiftTableCache.set(bytes, tables);
    }
    lastShiftBytes = bytes;
    lastShiftTables = tables;
  }
  const t = lastShiftTables;
  return (
    t[crc & 0xff]! ^
    t[256 + ((crc >>> 8) & 0xff)]! ^
    t[512 + ((crc >>> 16) & 0xff)]! ^
    t[768 + (crc >>> 24)]!
  );
}

/** crc(A‖bytes[start, end)) from crc(A) (a short range: byte by byte). Int32 in and out. */
export function crc32cContinue(crc: number, bytes: Uint8Array, start: number, end: number): number {
  const t = TABLE;
  let c = ~crc;
  for (let at = start; at < end; at++) c = t[(c ^ bytes[at]!) & 0xff]! ^ (c >>> 8);
  return ~c;
}
