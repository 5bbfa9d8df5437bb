// Reusable buffers for the records of replicated chunks. Encoding a chunk's records into fresh
// memory costs a page fault per 4 KiB touched, which dominated the replica's apply path; a chunk's
// records are only needed until their group is written (the payload cache keeps the received
// frame instead), so their buffer goes back here and the next chunk is encoded into warm memory.
// A group's index entries are built in one of these too, for the same reason.
// Shared by every channel of the process, and bounded.

/** Buffers kept for reuse, at most. */
export const RECORD_POOL_BUFFERS_MAX = 8;
/** Larger record buffers are not kept: the pool holds at most 8 × 4 MiB. */
export const RECORD_POOL_BUFFER_BYTES_MAX = 4 << 20;
/** New pooled buffers are rounded up to this, so chunks of slightly different sizes share them. */
const ROUND_BYTES = 256 << 10;

const free: ArrayBuffer[] = [];
/** The buffers this pool made: only those may come back (never one of Node's shared slabs). */
const ours = new WeakSet<ArrayBuffer>();

/**
 * A buffer of exactly `bytes` bytes, from the pool when one is large enough: the smallest such,
 * so a group's index entries do not take the buffer the next chunk's records need.
 */
export function takeRecordBuffer(bytes: number): Buffer {
  let best = -1;
  for (let i = free.length - 1; i >= 0; i--) {
    const length = free[i]!.byteLength;
    if (length >= bytes && (best < 0 || length < free[best]!.byteLength)) best = i;
  }
  if (best >= 0) {
    const buffer = free[best]!;
    free.splice(best, 1);
    return Buffer.from(buffer, 0, bytes);
  }
  if (bytes > RECORD_POOL_BUFFER_BYTES_MAX) return Buffer.allocUnsafe(bytes);
  const capacity = Math.min(
    RECORD_POOL_BUFFER_BYTES_MAX,
    Math.ceil(bytes / ROUND_BYTES) * ROUND_BYTES,
  );
  const buffer = Buffer.allocUnsafeSlow(capacity).buffer as ArrayBuffer;
  ours.add(buffer);
  return Buffer.from(buffer, 0, bytes);
}

/**
 * Hands back a buffer from `takeRecordBuffer` that nothing reads or writes any more. Buffers the
 * pool did not make, or beyond its limits, are left to the garbage collector.
 */
export function giveRecordBuffer(records: Buffer): void {
  const buffer = records.buffer;
  if (
    !(buffer instanceof ArrayBuffer) ||
    !ours.has(buffer) ||
    free.length >= RECORD_POOL_BUFFERS_MAX ||
    free.includes(buffer)
  ) {
    return;
  }
  free.push(buffer);
}

/** Buffers waiting for reuse (tests). */
export function pooledRecordBuffers(): number {
  return free.length;
}
