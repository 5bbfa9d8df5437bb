// Reusable buffers for received frames that the transport has to reassemble (a catch-up chunk
// spans many TLS records). Copying each chunk into new memory costs a page fault per 4 KiB on
// first write, which was the largest item of a replica's main thread; a chunk's bytes are only
// needed until the log has copied what it keeps, so its buffer comes back here and the next chunk
// is reassembled into memory already touched.
//
// Ownership: a body from `takeReceiveBuffer` is lent to whoever the transport hands the frame to.
// Only the catch-up apply path gives it back (`releaseReceivedFrame`), after a successful append:
// the log copies every byte it keeps, and nothing else holds the decoded response then. Every
// other frame (a heartbeat, a refused or failed chunk, one kept for a retry) is never released and
// is left to the garbage collector, so a missed release costs an allocation, never a corruption.
// A release names the exact view that was lent: a stale holder of an earlier loan of the same
// buffer cannot give it back again.

/** Released buffers kept for reuse, at most (shared by every connection of the process). */
export const RECEIVE_POOL_BUFFERS_MAX = 8;
/** Larger frames get a buffer of their own and are never pooled: the pool pins at most 8 × 4 MiB. */
export const RECEIVE_POOL_BUFFER_BYTES_MAX = 4 << 20;
/** Smaller frames get a buffer of their own: a pooled, rounded-up buffer would waste more. */
export const RECEIVE_POOL_FROM_BYTES = 64 << 10;
/** Pooled buffers are rounded up to this, so frames of slightly different sizes share them. */
const ROUND_BYTES = 256 << 10;

// The exact view each pooled buffer is lent out as; absent while the buffer is free.
const lent = new WeakMap<ArrayBuffer, Uint8Array>();
const free: ArrayBuffer[] = [];

/**
 * `length` bytes for the transport to fill completely before anyone reads them (not zeroed), at
 * offset 0 of a buffer never shared with Node's pool slabs; from the pool when `length` is in
 * its range, and then possibly in a reused buffer (whose bytes past `length` are old frames').
 */
export function takeReceiveBuffer(length: number): Uint8Array {
  if (length < RECEIVE_POOL_FROM_BYTES || length > RECEIVE_POOL_BUFFER_BYTES_MAX)
    return new Uint8Array(Buffer.allocUnsafeSlow(length).buffer, 0, length);
  let best = -1;
  for (let i = free.length - 1; i >= 0; i--) {
    const size = free[i]!.byteLength;
    if (size >= length && (best < 0 || size < free[best]!.byteLength)) best = i;
  }
  let buffer: ArrayBuffer;
  if (best >= 0) {
    buffer = free[best]!;
    free.splice(best, 1);
  } else {
    const capacity = Math.min(
      RECEIVE_POOL_BUFFER_BYTES_MAX,
      Math.ceil(length / ROUND_BYTES) * ROUND_BYTES,
    );
    buffer = Buffer.allocUnsafeSlow(capacity).buffer as ArrayBuffer;
  }
  const body = new Uint8Array(buffer, 0, length);
  lent.set(buffer, body);
  return body;
}

/** True when `body` is exactly a frame lent by `takeReceiveBuffer` and not yet released. */
export function isLentReceiveBuffer(body: Uint8Array): boolean {
  return lent.get(body.buffer as ArrayBuffer) === body;
}

/**
 * Nothing reads `body` (a frame from `takeReceiveBuffer`) or any view into it any more: its
 * buffer may be reused for the next frame. Anything else is left alone, so a caller may pass any
 * frame; a second release of the same loan does nothing.
 */
export function releaseReceivedFrame(body: Uint8Array): void {
  if (!isLentReceiveBuffer(body)) return;
  const buffer = body.buffer as ArrayBuffer;
  lent.delete(buffer);
  if (free.length < RECEIVE_POOL_BUFFERS_MAX) free.push(buffer);
}

/** Buffers waiting for reuse (tests). */
export function pooledReceiveBuffers(): number {
  return free.length;
}
