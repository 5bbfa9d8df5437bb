// Keyed BLAKE2s (RFC 7693) for the ids and the placement scores: every channel a node opens costs
// one channel id and one rendezvous score per member. The general-purpose implementation this
// replaces allocated an object per mixing step (about 11 KB of garbage per hash), which made
// opening thousands of channels at once spend a good part of its time collecting it; this one
// works in fixed scratch arrays and allocates only its result. Same output: the tests compare it
// with @noble/hashes over random inputs, keys and lengths.

// biome-ignore format: the eight words
const IV = Uint32Array.of(
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
);

/** The message schedule (RFC 7693): which word of the block each mixing step takes, per round. */
// biome-ignore format: one row per round
const SIGMA = Uint8Array.of(
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
  14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3,
  11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4,
  7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8,
  9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13,
  2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9,
  12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11,
  13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10,
  6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5,
  10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0,
);

const BLOCK_BYTES = 64;
export const BLAKE2S_KEY_BYTES_MAX = 32;
export const BLAKE2S_OUT_BYTES_MAX = 32;

// Scratch state, reused by every call (the function is synchronous, so calls never interleave).
const h = new Uint32Array(8);
const v = new Uint32Array(16);
const m = new Uint32Array(16);
const block = new Uint8Array(BLOCK_BYTES);
const blockView = new DataView(block.buffer);

function mix(a: number, b: number, c: number, d: number, x: number, y: number): void {
  v[a] = v[a]! + v[b]! + x;
  let t = v[d]! ^ v[a]!;
  v[d] = (t >>> 16) | (t << 16);
  v[c] = v[c]! + v[d]!;
  t = v[b]! ^ v[c]!;
  v[b] = (t >>> 12) | (t << 20);
  v[a] = v[a]! + v[b]! + y;
  t = v[d]! ^ v[a]!;
  v[d] = (t >>> 8) | (t << 24);
  v[c] = v[c]! + v[d]!;
  t = v[b]! ^ v[c]!;
  v[b] = (t >>> 7) | (t << 25);
}

/** Compresses `block` into `h`; `bytes` counts every byte hashed so far, this block's included. */
function compress(bytes: number, last: boolean): void {
  for (let i = 0; i < 16; i++) m[i] = blockView.getUint32(i * 4, true);
  for (let i = 0; i < 8; i++) {
    v[i] = h[i]!;
    v[i + 8] = IV[i]!;
  }
  v[12] = v[12]! ^ bytes;
  v[13] = v[13]! ^ Math.floor(bytes / 0x1_0000_0000);
  if (last) v[14] = ~v[14]!;
  for (let round = 0; round < 10; round++) {
    const s = round * 16;
    mix(0, 4, 8, 12, m[SIGMA[s]!]!, m[SIGMA[s + 1]!]!);
    mix(1, 5, 9, 13, m[SIGMA[s + 2]!]!, m[SIGMA[s + 3]!]!);
    mix(2, 6, 10, 14, m[SIGMA[s + 4]!]!, m[SIGMA[s + 5]!]!);
    mix(3, 7, 11, 15, m[SIGMA[s + 6]!]!, m[SIGMA[s + 7]!]!);
    mix(0, 5, 10, 15, m[SIGMA[s + 8]!]!, m[SIGMA[s + 9]!]!);
    mix(1, 6, 11, 12, m[SIGMA[s + 10]!]!, m[SIGMA[s + 11]!]!);
    mix(2, 7, 8, 13, m[SIGMA[s + 12]!]!, m[SIGMA[s + 13]!]!);
    mix(3, 4, 9, 14, m[SIGMA[s + 14]!]!, m[SIGMA[s + 15]!]!);
  }
  for (let i = 0; i < 8; i++) h[i] = h[i]! ^ v[i]! ^ v[i + 8]!;
}

/** BLAKE2s of `input` under `key` (0..32 bytes), `outBytes` (1..32) long. */
export function blake2s(input: Uint8Array, key: Uint8Array, outBytes: number): Uint8Array {
  if (key.byteLength > BLAKE2S_KEY_BYTES_MAX) throw new RangeError('blake2s: key over 32 bytes');
  if (!Number.isInteger(outBytes) || outBytes < 1 || outBytes > BLAKE2S_OUT_BYTES_MAX) {
    throw new RangeError('blake2s: output length must be 1..32 bytes');
  }
  h.set(IV);
  h[0] = h[0]! ^ 0x0101_0000 ^ (key.byteLength << 8) ^ outBytes;
  let bytes = 0;
  if (key.byteLength > 0) {
    block.fill(0);
    block.set(key);
    bytes = BLOCK_BYTES;
    if (input.byteLength === 0) {
      compress(bytes, true);
      return output(outBytes);
    }
    compress(bytes, false);
  }
  // Every full block but the last is compressed as it comes; the last (possibly partial, or
  // empty for an empty unkeyed input) is padded with zeros and flagged.
  let at = 0;
  while (input.byteLength - at > BLOCK_BYTES) {
    block.set(input.subarray(at, at + BLOCK_BYTES));
    bytes += BLOCK_BYTES;
    at += BLOCK_BYTES;
    compress(bytes, false);
  }
  block.fill(0);
  block.set(input.subarray(at));
  bytes += input.byteLength - at;
  compress(bytes, true);
  return output(outBytes);
}

function output(outBytes: number): Uint8Array {
  const out = new Uint8Array(BLAKE2S_OUT_BYTES_MAX);
  const view = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) view.setUint32(i * 4, h[i]!, true);
  return outBytes === BLAKE2S_OUT_BYTES_MAX ? out : out.slice(0, outBytes);
}
