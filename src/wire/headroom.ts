// Room for the transport's length prefix in front of a large encoded frame. A TLS socket copies
// a write made of several buffers (the prefix and the body, a corked batch, writes queued behind
// a pending one) into one freshly allocated buffer before encrypting it: a megabyte of new memory
// per catch-up chunk on the leader. With four bytes reserved in front of the body, the transport
// writes the prefix there and sends prefix and body as one buffer, which TLS encrypts in place.

/** Bytes reserved in front of a frame: the mesh's u32 length prefix. */
export const FRAME_HEADROOM_BYTES = 4;

// Buffers made by `allocateWithHeadroom`: only their reserved bytes may be written by others.
const reserved = new WeakSet<ArrayBuffer>();

/**
 * `length` bytes for an encoder to fill (not zeroed), placed after `FRAME_HEADROOM_BYTES`
 * reserved ones in a buffer of their own (never one of Node's shared pool slabs).
 */
export function allocateWithHeadroom(length: number): Uint8Array {
  const buffer = Buffer.allocUnsafeSlow(FRAME_HEADROOM_BYTES + length).buffer as ArrayBuffer;
  reserved.add(buffer);
  return new Uint8Array(buffer, FRAME_HEADROOM_BYTES, length);
}

/**
 * True when `body` is a whole buffer from `allocateWithHeadroom`: its owner may write the length
 * prefix into the reserved bytes. Any other view (a part of such a buffer included) is false, so
 * the prefix written there is always this body's length, however often the body is sent.
 */
export function hasFrameHeadroom(body: Uint8Array): boolean {
  return (
    body.byteOffset === FRAME_HEADROOM_BYTES &&
    body.byteLength === body.buffer.byteLength - FRAME_HEADROOM_BYTES &&
    reserved.has(body.buffer as ArrayBuffer)
  );
}
