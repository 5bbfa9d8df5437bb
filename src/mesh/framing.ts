// Stream framing for mesh connections: every frame is a u32 little-endian body length followed by
// the body. TCP delivers arbitrary chunks, so `FrameDecoder` reassembles frames that are split
// across chunks or packed several to a chunk; `packFrames` turns a batch of outgoing bodies into
// few buffers so one socket write carries many small frames.
//
// Costs are linear: a frame that lies inside one chunk is returned as a view (no copy); a frame
// spanning chunks is copied once, after all its bytes have arrived, into a buffer of its own or,
// from 64 KiB, one lent by the receive pool (src/wire/receive-pool.ts, whose header says who
// gives it back). The decoder never allocates
// from a length prefix, so a peer announcing 64 MiB and sending 4 bytes costs 4 bytes; a prefix
// above the limit poisons the decoder (`failure`), and the connection is destroyed.

import { FRAME_HEADROOM_BYTES, hasFrameHeadroom } from '../wire/headroom.js';
import { takeReceiveBuffer } from '../wire/receive-pool.js';

/**
 * Length prefix: u32 little-endian, counting the body only. Its size is the room the wire leaves
 * in front of large encoded bodies, so the prefix can be written there.
 */
export const FRAME_HEADER_BYTES = FRAME_HEADROOM_BYTES;
/** Largest SyncResponse chunk the leader builds (docs/DESIGN.md#catch-up: 64 MiB). */
export const SYNC_CHUNK_BYTES_MAX = 64 * 1024 * 1024;
/**
 * Largest frame body accepted or sent: a 64 MiB chunk plus room for the response header and the
 * first event's own header (the first event is included even when it alone fills the budget).
 */
export const FRAME_BODY_BYTES_MAX = SYNC_CHUNK_BYTES_MAX + 64 * 1024;
/** Bodies up to this size are copied into the batch buffer; larger ones are written by reference. */
export const FRAME_COPY_BYTES_MAX = 16 * 1024;

export interface FrameFailure {
  readonly reason: 'frame-too-large';
  /** The announced body length. */
  readonly length: number;
  /** The limit it exceeded. */
  readonly limit: number;
}

/**
 * Incremental decoder. `push` chunks as they arrive, then call `next()` until it returns null.
 * Returned frames may be views into pushed chunks: copy them to keep them past the chunk's life
 * if the chunk's buffer is reused (socket chunks are not). A reassembled frame may be lent by
 * the receive pool: it stays intact until someone releases it (`releaseReceivedFrame`).
 */
export class FrameDecoder {
  readonly bodyBytesMax: number;
  // Invariants: #chunks[#head..] hold #queued unread bytes, the first starting at #offset;
  // #need is -1 while waiting for a length prefix, else the body length being waited for.
  #chunks: Uint8Array[] = [];
  #head = 0;
  #offset = 0;
  #queued = 0;
  #need = -1;
  #failure: FrameFailure | null = null;

  constructor(bodyBytesMax: number = FRAME_BODY_BYTES_MAX) {
    if (!Number.isSafeInteger(bodyBytesMax) || bodyBytesMax < 0 || bodyBytesMax > 0xffff_ffff) {
      throw new RangeError(`FrameDecoder: bodyBytesMax must be a u32, got ${bodyBytesMax}`);
    }
    this.bodyBytesMax = bodyBytesMax;
  }

  /** Set once a length prefix exceeded the limit; the decoder then yields nothing more. */
  get failure(): FrameFailure | null {
    return this.#failure;
  }

  /** Bytes received but not yet returned as frames (includes a consumed length prefix). */
  get bufferedBytes(): number {
    return this.#queued + (this.#need >= 0 ? FRAME_HEADER_BYTES : 0);
  }

  /** True when the stream ended in the middle of a frame. */
  get midFrame(): boolean {
    return this.bufferedBytes > 0;
  }

  push(chunk: Uint8Array): void {
    if (this.#failure !== null || chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#queued += chunk.length;
  }

  /** The next complete frame body, or null if more bytes are needed (or the decoder failed). */
  next(): Uint8Array | null {
    if (this.#failure !== null) return null;
    if (this.#need < 0) {
      if (this.#queued < FRAME_HEADER_BYTES) return null;
      const length = this.#readU32();
      if (length > this.bodyBytesMax) {
        this.#failure = { reason: 'frame-too-large', length, limit: this.bodyBytesMax };
        this.#chunks = [];
        this.#head = 0;
        this.#offset = 0;
        this.#queued = 0;
        return null;
      }
      this.#need = length;
    }
    if (this.#queued < this.#need) return null;
    const body = this.#take(this.#need);
    this.#need = -1;
    return body;
  }

  #readU32(): number {
    const first = this.#chunks[this.#head]!;
    if (first.length - this.#offset >= FRAME_HEADER_BYTES) {
      const o = this.#offset;
      const value =
        (first[o]! | (first[o + 1]! << 8) | (first[o + 2]! << 16)) + first[o + 3]! * 2 ** 24;
      this.#advance(FRAME_HEADER_BYTES);
      return value;
    }
    const bytes = this.#take(FRAME_HEADER_BYTES);
    return (bytes[0]! | (bytes[1]! << 8) | (bytes[2]! << 16)) + bytes[3]! * 2 ** 24;
  }

  /** Removes `length` bytes from the front: a view when they lie in one chunk, else one copy. */
  #take(length: number): Uint8Array {
    const first = this.#chunks[this.#head];
    if (length === 0 || first === undefined) return new Uint8Array(0);
    if (first.length - this.#offset >= length) {
      const view = first.subarray(this.#offset, this.#offset + length);
      this.#advance(length);
      return view;
    }
    // Every byte is copied in below, so skip zero-filling (a replica reassembles most batched
    // responses: they span TLS records). A large frame goes into a reused buffer, already touched.
    const out = takeReceiveBuffer(length);
    let filled = 0;
    while (filled < length) {
      const chunk = this.#chunks[this.#head]!;
      const n = Math.min(chunk.length - this.#offset, length - filled);
      out.set(chunk.subarray(this.#offset, this.#offset + n), filled);
      filled += n;
      this.#advance(n);
    }
    return out;
  }

  /** Drops `n` bytes that lie within the first chunk. */
  #advance(n: number): void {
    this.#offset += n;
    this.#queued -= n;
    if (this.#offset === this.#chunks[this.#head]!.length) {
      this.#chunks[this.#head] = EMPTY; // release the chunk now, not at the next compaction
      this.#head++;
      this.#offset = 0;
      if (this.#head === this.#chunks.length) {
        this.#chunks = [];
        this.#head = 0;
      } else if (this.#head >= 64 && this.#head * 2 >= this.#chunks.length) {
        // Keep the array from growing without bound when chunks arrive faster than frames end.
        this.#chunks = this.#chunks.slice(this.#head);
        this.#head = 0;
      }
    }
  }
}

const EMPTY = new Uint8Array(0);

/** The 4-byte length prefix of a body of `length` bytes. */
export function encodeFrameHeader(length: number): Uint8Array {
  const header = new Uint8Array(FRAME_HEADER_BYTES);
  new DataView(header.buffer).setUint32(0, length, true);
  return header;
}

/** One frame as a single buffer (prefix + body): for tests and one-off writes. */
export function encodeFrame(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_BYTES + body.length);
  new DataView(out.buffer).setUint32(0, body.length, true);
  out.set(body, FRAME_HEADER_BYTES);
  return out;
}

/**
 * True when `body` goes out as one buffer with its prefix (`framedInPlace`): a body above
 * `FRAME_COPY_BYTES_MAX` encoded with room for the prefix in front (src/wire/headroom.ts).
 */
export function canFrameInPlace(body: Uint8Array): boolean {
  return body.length > FRAME_COPY_BYTES_MAX && hasFrameHeadroom(body);
}

/**
 * Prefix and body as one view of the body's buffer: the prefix is written into the headroom.
 * Only for a body that `canFrameInPlace`.
 */
export function framedInPlace(body: Uint8Array): Uint8Array {
  const framed = new Uint8Array(
    body.buffer,
    body.byteOffset - FRAME_HEADER_BYTES,
    FRAME_HEADER_BYTES + body.length,
  );
  new DataView(framed.buffer, framed.byteOffset, FRAME_HEADER_BYTES).setUint32(
    0,
    body.length,
    true,
  );
  return framed;
}

/**
 * Packs bodies into buffers for one socket write: all prefixes and small bodies are copied, in
 * order, into one allocation; bodies above `FRAME_COPY_BYTES_MAX` are passed through by
 * reference between the copied segments (with their prefix, when they have headroom for it:
 * `framedInPlace`). Concatenating the result gives exactly the framed stream of the bodies.
 */
export function packFrames(bodies: readonly Uint8Array[]): Uint8Array[] {
  let copyBytes = 0;
  for (const body of bodies) {
    if (body.length <= FRAME_COPY_BYTES_MAX) copyBytes += FRAME_HEADER_BYTES + body.length;
    else if (!canFrameInPlace(body)) copyBytes += FRAME_HEADER_BYTES;
  }
  const buffer = Buffer.allocUnsafe(copyBytes);
  const out: Uint8Array[] = [];
  let position = 0;
  let segmentStart = 0;
  for (const body of bodies) {
    if (body.length <= FRAME_COPY_BYTES_MAX) {
      buffer.writeUInt32LE(body.length, position);
      position += FRAME_HEADER_BYTES;
      buffer.set(body, position);
      position += body.length;
      continue;
    }
    const inPlace = canFrameInPlace(body);
    if (!inPlace) {
      buffer.writeUInt32LE(body.length, position);
      position += FRAME_HEADER_BYTES;
    }
    if (position > segmentStart) out.push(buffer.subarray(segmentStart, position));
    out.push(inPlace ? framedInPlace(body) : body);
    segmentStart = position;
  }
  if (position > segmentStart) out.push(buffer.subarray(segmentStart, position));
  return out;
}
