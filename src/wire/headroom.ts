// Room for the transport's length prefix in front of a large encoded frame, and reuse of the
// buffers once sent. A TLS socket copies a write made of several buffers (prefix and body, a
// corked batch) into one freshly allocated buffer before encrypting it; with four bytes reserved
// in front of the body, the transport writes the prefix there and sends prefix and body as one
// buffer, which TLS encrypts in place. And since every catch-up chunk is a megabyte or more,
// encoding each into new memory costs a page fault per 4 KiB (the leader's largest item after
// the socket writes): the transport hands a written frame back (`releaseFrameBuffer`) and the
// next one is encoded into the same, already touched, memory.
//
// Ownership: a body from `allocateWithHeadroom` belongs to its encoder until it is handed to the
// transport, and to the transport from then on; whoever sends it must not keep or resend it (the
// replication dispatcher encodes every message it sends). Only the mesh connection releases it,
// after its socket write completed; a body never released is left to the garbage collector.

/** Bytes reserved in front of a frame: the mesh's u32 length prefix. */
export const FRAME_HEADROOM_BYTES = 4;
/** Released buffers kept for reuse, at most (shared by every connection of the process). */
export const FRAME_POOL_BUFFERS_MAX = 8;
/** Larger buffers are not kept: the pool pins at most 8 × 4 MiB. */
export const FRAME_POOL_BUFFER_BYTES_MAX = 4 << 20;
/**
 * Bodies up to this size get a buffer of their own with no headroom, as any encoder's: the
 * transport copies them into its batch anyway (the mesh's `FRAME_COPY_BYTES_MAX`), so they are
 * never released, and a pooled, rounded-up buffer per heartbeat-sized response would only feed
 * the garbage collector.
 */
export const HEADROOM_FROM_BYTES = 16 * 1024;
/** Pooled buffers are rounded up to this, so frames of slightly different sizes share them. */
const ROUND_BYTES = 64 << 10;

// The length of the body each buffer of ours is lent out for; absent while the buffer is free.
const lent = new WeakMap<ArrayBuffer, number>();
const free: ArrayBuffer[] = [];

/**
 * `length` bytes for an encoder to fill (not zeroed), in a buffer of their own (never one of
 * Node's shared pool slabs); above `HEADROOM_FROM_BYTES`, placed after `FRAME_HEADROOM_BYTES`
 * reserved ones, in a released buffer when one is large enough.
 */
export function allocateWithHeadroom(length: number): Uint8Array {
  if (length <= HEADROOM_FROM_BYTES)
    return new Uint8Array(Buffer.allocUnsafeSlow(length).buffer, 0, length);
  const bytes = FRAME_HEADROOM_BYTES + length;
  let buffer: ArrayBuffer | undefined;
  for (let i = free.length - 1; i >= 0; i--) {
    if (free[i]!.byteLength < bytes) continue;
    buffer = free[i]!;
    free.splice(i, 1);
    break;
  }
  if (buffer === undefined) {
    const capacity =
      bytes > FRAME_POOL_BUFFER_BYTES_MAX
        ? bytes
        : Math.min(FRAME_POOL_BUFFER_BYTES_MAX, Math.ceil(bytes / ROUND_BYTES) * ROUND_BYTES);
    buffer = Buffer.allocUnsafeSlow(capacity).buffer as ArrayBuffer;
  }
  lent.set(buffer, length);
  return new Uint8Array(buffer, FRAME_HEADROOM_BYTES, length);
}

/**
 * True when `body` is exactly a body from `allocateWithHeadroom`, not yet released: its owner
 * may write the length prefix into the reserved bytes. Any other view (part of such a body
 * included) is false, so the prefix written there is always this body's length.
 */
export function hasFrameHeadroom(body: Uint8Array): boolean {
  return (
    body.byteOffset === FRAME_HEADROOM_BYTES &&
    lent.get(body.buffer as ArrayBuffer) === body.byteLength
  );
}

/**
 * The transport wrote `body` (a body with `hasFrameHeadroom`) and nothing reads it any more: its
 * buffer may be reused. Anything else, or a buffer beyond the pool's limits, is left alone.
 */
export function releaseFrameBuffer(body: Uint8Array): void {
  if (!hasFrameHeadroom(body)) return;
  const buffer = body.buffer as ArrayBuffer;
  lent.delete(buffer);
  if (free.length < FRAME_POOL_BUFFERS_MAX && buffer.byteLength <= FRAME_POOL_BUFFER_BYTES_MAX) {
    free.push(buffer);
  }
}

/** Buffers waiting for reuse (tests). */
export function pooledFrameBuffers(): number {
  return free.length;
}
