// Frame decoding under every chunking TCP can produce, the length-prefix limit, batching
// (packFrames) and the control-frame classifier.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  CONTROL_FRAME_BYTES,
  classifyFrame,
  encodeControl,
  encodeFrame,
  encodeFrameHeader,
  FRAME_BODY_BYTES_MAX,
  FRAME_COPY_BYTES_MAX,
  FrameDecoder,
  MeshControl,
  packFrames,
  SYNC_CHUNK_BYTES_MAX,
} from '../../src/mesh/index.js';
import {
  allocateWithHeadroom,
  FRAME_HEADROOM_BYTES,
  HEADROOM_FROM_BYTES,
  hasFrameHeadroom,
} from '../../src/wire/headroom.js';
import {
  isLentReceiveBuffer,
  pooledReceiveBuffers,
  RECEIVE_POOL_BUFFERS_MAX,
  RECEIVE_POOL_FROM_BYTES,
  releaseReceivedFrame,
} from '../../src/wire/receive-pool.js';

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function drain(decoder: FrameDecoder): Uint8Array[] {
  const frames: Uint8Array[] = [];
  for (let frame = decoder.next(); frame !== null; frame = decoder.next()) frames.push(frame);
  return frames;
}

/** Splits `bytes` at the given cut points (sorted, deduplicated, within range). */
function chunk(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  return chunks;
}

describe('FrameDecoder', () => {
  it('decodes frames packed into one chunk, including empty bodies', () => {
    const bodies = [new Uint8Array([1, 2, 3]), new Uint8Array(0), new Uint8Array([9])];
    const decoder = new FrameDecoder();
    decoder.push(concat(bodies.map(encodeFrame)));
    assert.deepEqual(drain(decoder), bodies);
    assert.equal(decoder.bufferedBytes, 0);
    assert.equal(decoder.midFrame, false);
  });

  it('decodes a frame fed one byte at a time, returning nothing until it is complete', () => {
    const body = new Uint8Array(300).map((_, i) => i & 0xff);
    const stream = encodeFrame(body);
    const decoder = new FrameDecoder();
    for (let i = 0; i < stream.length - 1; i++) {
      decoder.push(stream.subarray(i, i + 1));
      assert.equal(decoder.next(), null, `byte ${i}`);
      assert.equal(decoder.midFrame, true);
    }
    decoder.push(stream.subarray(stream.length - 1));
    assert.deepEqual(decoder.next(), body);
    assert.equal(decoder.midFrame, false);
  });

  it('returns a frame lying inside one chunk as a view, without copying', () => {
    const stream = concat([encodeFrame(new Uint8Array([7, 7])), encodeFrame(new Uint8Array([8]))]);
    const decoder = new FrameDecoder();
    decoder.push(stream);
    const [first, second] = drain(decoder);
    assert.equal(first!.buffer, stream.buffer);
    assert.equal(first!.byteOffset, 4);
    assert.equal(second!.buffer, stream.buffer);
  });

  it('gives the same frames for any chunking of the stream (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 20 }),
        fc.array(fc.nat(5000), { maxLength: 40 }),
        (bodies, cuts) => {
          const stream = concat(bodies.map(encodeFrame));
          const decoder = new FrameDecoder();
          const frames: Uint8Array[] = [];
          for (const part of chunk(stream, cuts)) {
            decoder.push(part);
            frames.push(...drain(decoder));
          }
          assert.deepEqual(
            frames.map((f) => [...f]),
            bodies.map((b) => [...b]),
          );
          assert.equal(decoder.bufferedBytes, 0);
          assert.equal(decoder.failure, null);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reports exactly the bytes of an unfinished frame (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 100 }), fc.nat(), (body, cutSeed) => {
        const stream = encodeFrame(body);
        const cut = 1 + (cutSeed % (stream.length - 1)); // 1..length-1 bytes arrive
        const decoder = new FrameDecoder();
        decoder.push(stream.subarray(0, cut));
        assert.equal(decoder.next(), null);
        assert.equal(decoder.bufferedBytes, cut);
        assert.equal(decoder.midFrame, true);
      }),
    );
  });

  it('accepts a body exactly at the limit and fails one byte above it', () => {
    const atLimit = new FrameDecoder(100);
    atLimit.push(encodeFrame(new Uint8Array(100)));
    assert.equal(atLimit.next()?.length, 100);
    assert.equal(atLimit.failure, null);

    const above = new FrameDecoder(100);
    above.push(encodeFrameHeader(101));
    assert.equal(above.next(), null);
    assert.deepEqual(above.failure, { reason: 'frame-too-large', length: 101, limit: 100 });
  });

  it('fails on an absurd prefix, then ignores everything after it', () => {
    const decoder = new FrameDecoder();
    decoder.push(
      concat([encodeFrame(new Uint8Array([1])), new Uint8Array([0xff, 0xff, 0xff, 0xff])]),
    );
    assert.deepEqual(decoder.next(), new Uint8Array([1]));
    assert.equal(decoder.next(), null);
    assert.equal(decoder.failure?.length, 0xffff_ffff);
    decoder.push(encodeFrame(new Uint8Array([2])));
    assert.equal(decoder.next(), null);
    assert.equal(decoder.bufferedBytes, 0, 'a failed decoder holds no bytes');
  });

  it('does not allocate from a length prefix: a big announced frame holds only what arrived', () => {
    const decoder = new FrameDecoder();
    decoder.push(encodeFrameHeader(FRAME_BODY_BYTES_MAX));
    decoder.push(new Uint8Array(10));
    assert.equal(decoder.next(), null);
    assert.equal(decoder.bufferedBytes, 14);
    assert.equal(decoder.failure, null);
  });

  it('copies a frame spanning chunks into a buffer of its own, every byte from the chunks', () => {
    const body = new Uint8Array(40_000).map((_, i) => (i * 7 + 1) & 0xff);
    const stream = encodeFrame(body);
    const decoder = new FrameDecoder();
    for (const part of chunk(stream, [10, 16_389, 32_000])) decoder.push(part);
    const [frame] = drain(decoder);
    assert.deepEqual(frame, body);
    // Its own ArrayBuffer from offset 0: no pooled neighbour's bytes reachable through `.buffer`.
    assert.equal(frame!.byteOffset, 0);
    assert.equal(frame!.buffer.byteLength, body.length);
    assert.ok(!Buffer.isBuffer(frame));
  });

  it('reassembles a large frame from many small chunks', () => {
    const body = new Uint8Array(1 << 20).map((_, i) => (i * 31) & 0xff);
    const stream = encodeFrame(body);
    const decoder = new FrameDecoder();
    let frame: Uint8Array | null = null;
    for (let offset = 0; offset < stream.length; offset += 1000) {
      decoder.push(stream.subarray(offset, offset + 1000));
      frame ??= decoder.next();
    }
    assert.ok(frame !== null);
    assert.deepEqual(frame, body);
  });

  it('hands out frames that stay intact whatever is pushed after them (property)', () => {
    // The consumer contract: a frame is the consumer's to keep (the catch-up apply path) until it
    // releases it. Decoding later chunks must never change a frame returned earlier, and a small
    // reassembled frame owns all of its ArrayBuffer (no neighbour's bytes behind `.buffer`).
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 3000 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 24 }),
        (bodies, cuts) => {
          const stream = concat(bodies.map(encodeFrame));
          const decoder = new FrameDecoder();
          const kept: Uint8Array[] = [];
          for (const part of chunk(stream, cuts)) {
            // Each chunk is fresh memory, as a socket's are; never written again once pushed.
            decoder.push(part.slice());
            kept.push(...drain(decoder));
          }
          assert.deepEqual(kept, bodies);
          for (const frame of kept) {
            const own = frame.byteOffset === 0 && frame.buffer.byteLength === frame.length;
            const inChunk = frame.buffer.byteLength >= frame.byteOffset + frame.length;
            assert.ok(own || inChunk);
          }
          assert.equal(decoder.bufferedBytes, 0);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('reassembles large frames into the receive pool; released ones are reused, kept ones never change (property)', () => {
    // The catch-up apply path releases a chunk once the log copied it; any frame not released
    // (a heartbeat, a chunk kept for a retry) must stay byte for byte what arrived, whatever
    // later frames are reassembled into released buffers.
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            size: fc.oneof(
              fc.nat({ max: 2000 }),
              fc.integer({ min: RECEIVE_POOL_FROM_BYTES, max: RECEIVE_POOL_FROM_BYTES + 150_000 }),
            ),
            seed: fc.nat({ max: 255 }),
            release: fc.boolean(),
          }),
          { minLength: 1, maxLength: 8 },
        ),
        fc.integer({ min: 1000, max: 40_000 }),
        (specs, piece) => {
          const bodies = specs.map(({ size, seed }) =>
            new Uint8Array(size).map((_, i) => (i * 13 + seed) & 0xff),
          );
          const stream = concat(bodies.map(encodeFrame));
          const decoder = new FrameDecoder();
          const kept: Array<{ frame: Uint8Array; index: number }> = [];
          let index = 0;
          for (let at = 0; at < stream.length; at += piece) {
            decoder.push(stream.slice(at, at + piece));
            for (const frame of drain(decoder)) {
              assert.deepEqual(frame, bodies[index], 'byte-identical to what was sent');
              if (frame.length >= RECEIVE_POOL_FROM_BYTES && frame.length > piece)
                assert.ok(isLentReceiveBuffer(frame), 'a large reassembled frame is pooled');
              if (specs[index]!.release) releaseReceivedFrame(frame);
              else kept.push({ frame, index });
              index++;
            }
          }
          assert.equal(index, bodies.length);
          for (const { frame, index: i } of kept) assert.deepEqual(frame, bodies[i]);
          assert.ok(pooledReceiveBuffers() <= RECEIVE_POOL_BUFFERS_MAX, 'the pool is bounded');
        },
      ),
      { numRuns: 40 },
    );
  });

  it('leaves room for the largest SyncResponse chunk', () => {
    assert.ok(FRAME_BODY_BYTES_MAX > SYNC_CHUNK_BYTES_MAX + 63 + 12);
    assert.ok(FRAME_BODY_BYTES_MAX <= 0xffff_ffff);
    assert.throws(() => new FrameDecoder(-1), RangeError);
  });
});

describe('packFrames', () => {
  it('produces exactly the framed stream of its bodies (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.uint8Array({ maxLength: 64 }),
            fc
              .integer({ min: FRAME_COPY_BYTES_MAX - 2, max: FRAME_COPY_BYTES_MAX + 2 })
              .map((n) => new Uint8Array(n).fill(n & 0xff)),
          ),
          { maxLength: 12 },
        ),
        (bodies) => {
          assert.deepEqual(concat(packFrames(bodies)), concat(bodies.map(encodeFrame)));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('copies small frames into one buffer and passes large bodies by reference', () => {
    const small = [new Uint8Array([1]), new Uint8Array([2, 2]), new Uint8Array([3])];
    const packed = packFrames(small);
    assert.equal(packed.length, 1, 'three small frames, one write');
    assert.equal(packed[0]!.length, 3 * 4 + 4);

    const big = new Uint8Array(FRAME_COPY_BYTES_MAX + 1);
    const mixed = packFrames([small[0]!, big, small[1]!]);
    assert.equal(mixed.length, 3);
    assert.equal(mixed[1], big, 'the large body is not copied');
    assert.deepEqual(packFrames([]), []);
  });

  it('sends a large body with headroom as one buffer: its prefix written in front of it', () => {
    assert.equal(FRAME_HEADROOM_BYTES, 4, 'the headroom fits the length prefix');
    const big = allocateWithHeadroom(2 * FRAME_COPY_BYTES_MAX).fill(5);
    assert.ok(hasFrameHeadroom(big));
    const small = new Uint8Array([1, 2]);
    const packed = packFrames([small, big, small]);
    assert.equal(packed.length, 3);
    assert.equal(packed[1]!.buffer, big.buffer, 'not copied');
    assert.equal(packed[1]!.byteOffset, 0);
    assert.deepEqual(packed[1], encodeFrame(big));
    assert.deepEqual(concat(packed), concat([small, big, small].map(encodeFrame)));
    assert.equal(packFrames([big]).length, 1, 'alone: one write, one buffer');
    // A part of such a body has no headroom of its own: prefix copied, body by reference.
    const part = big.subarray(0, FRAME_COPY_BYTES_MAX + 1);
    assert.equal(hasFrameHeadroom(part), false);
    assert.equal(packFrames([part]).length, 2);
    assert.deepEqual(concat(packFrames([part])), encodeFrame(part));
    assert.equal(hasFrameHeadroom(new Uint8Array(FRAME_COPY_BYTES_MAX + 1)), false);
  });

  it('the wire gives headroom exactly to the bodies the mesh frames in place', () => {
    assert.equal(HEADROOM_FROM_BYTES, FRAME_COPY_BYTES_MAX);
  });

  it('frames bodies with and without headroom alike (property)', () => {
    const body = (n: number, headroom: boolean) => {
      const out = headroom ? allocateWithHeadroom(n) : new Uint8Array(n);
      return out.fill(n & 0xff);
    };
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.oneof(
              fc.nat({ max: 64 }),
              fc.integer({ min: FRAME_COPY_BYTES_MAX - 2, max: FRAME_COPY_BYTES_MAX + 40 }),
            ),
            fc.boolean(),
          ),
          { maxLength: 10 },
        ),
        (specs) => {
          const bodies = specs.map(([n, headroom]) => body(n, headroom));
          const expected = concat(bodies.map(encodeFrame));
          assert.deepEqual(concat(packFrames(bodies)), expected);
          // Packing again (a body resent) writes the same prefix into the same headroom.
          assert.deepEqual(concat(packFrames(bodies)), expected);
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('control frames', () => {
  it('classifies by the first bytes', () => {
    assert.deepEqual(classifyFrame(new Uint8Array([0x00, 0x0e, 0x22])), { kind: 'replication' });
    assert.deepEqual(classifyFrame(new Uint8Array([0x00, 0x0e])), {
      kind: 'drop',
      reason: 'short-frame',
    });
    assert.deepEqual(classifyFrame(new Uint8Array([0x01, 0x0e, 0x22])), {
      kind: 'drop',
      reason: 'unknown-subprotocol',
    });
    assert.deepEqual(classifyFrame(new Uint8Array([0x00, 0xfe, 0x01, 1])), {
      kind: 'drop',
      reason: 'bad-control',
    });
    const unknownType = encodeControl(MeshControl.Ping, 1n);
    unknownType[2] = 0x7f;
    assert.deepEqual(classifyFrame(unknownType), { kind: 'drop', reason: 'bad-control' });
  });

  it('round-trips ping and pong tokens and ignores trailing bytes', () => {
    const ping = encodeControl(MeshControl.Ping, 0xfedc_ba98_7654_3210n);
    assert.equal(ping.length, CONTROL_FRAME_BYTES);
    assert.deepEqual([...ping.subarray(0, 3)], [0x00, 0xfe, 0x01]);
    assert.deepEqual(classifyFrame(ping), { kind: 'ping', token: 0xfedc_ba98_7654_3210n });
    const pong = concat([encodeControl(MeshControl.Pong, 5n), new Uint8Array([9, 9])]);
    assert.deepEqual(classifyFrame(pong), { kind: 'pong', token: 5n });
  });
});

describe('docs/MESH.md', () => {
  it('shows control frames exactly as the encoder writes them', async () => {
    const { readFile } = await import('node:fs/promises');
    const doc = await readFile(new URL('../../docs/MESH.md', import.meta.url), 'utf8');
    const block = /```hex\n([\s\S]*?)```/.exec(doc)?.[1];
    assert.ok(block !== undefined, 'the hex block exists');
    const lines = block
      .trim()
      .split('\n')
      .map((line) => line.replace(/#.*/, '').trim().split(/\s+/).join(''));
    assert.deepEqual(lines, [
      Buffer.from(encodeControl(MeshControl.Ping, 7n)).toString('hex'),
      Buffer.from(encodeControl(MeshControl.Pong, 7n)).toString('hex'),
    ]);
  });
});
