// Encoded frames with room for the mesh's length prefix, and the pool their buffers return to
// once written (src/wire/headroom.ts).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  allocateWithHeadroom,
  FRAME_HEADROOM_BYTES,
  FRAME_POOL_BUFFER_BYTES_MAX,
  FRAME_POOL_BUFFERS_MAX,
  hasFrameHeadroom,
  pooledFrameBuffers,
  releaseFrameBuffer,
} from '../../src/wire/headroom.js';
import { decodeResponse, encodeResponse } from '../../src/wire/index.js';
import type { SyncResponse } from '../../src/wire/types.js';

/** Empties the pool (it is shared by the whole process) so counts start from 0. */
function drainPool(): void {
  while (pooledFrameBuffers() > 0) allocateWithHeadroom(1);
}

describe('frame headroom', () => {
  it('places the body after reserved bytes, and only the whole body has headroom', () => {
    const body = allocateWithHeadroom(100);
    assert.equal(body.byteOffset, FRAME_HEADROOM_BYTES);
    assert.equal(body.length, 100);
    assert.ok(hasFrameHeadroom(body));
    assert.equal(hasFrameHeadroom(body.subarray(0, 50)), false);
    assert.equal(hasFrameHeadroom(body.subarray(1)), false);
    assert.equal(hasFrameHeadroom(new Uint8Array(new ArrayBuffer(104), 4, 100)), false);
    assert.equal(hasFrameHeadroom(Buffer.alloc(100)), false);
  });

  it('reuses a released buffer for the next body, which the old view no longer claims', () => {
    drainPool();
    const first = allocateWithHeadroom(300_000);
    releaseFrameBuffer(first);
    assert.equal(pooledFrameBuffers(), 1);
    assert.equal(hasFrameHeadroom(first), false, 'released: no longer the owner of the prefix');
    releaseFrameBuffer(first);
    assert.equal(pooledFrameBuffers(), 1, 'a second release is ignored');
    const second = allocateWithHeadroom(290_000);
    assert.equal(second.buffer, first.buffer, 'the same memory, already touched');
    assert.ok(hasFrameHeadroom(second));
    assert.equal(pooledFrameBuffers(), 0);
    releaseFrameBuffer(second);
    const bigger = allocateWithHeadroom(second.buffer.byteLength);
    assert.notEqual(bigger.buffer, second.buffer, 'a buffer too small is not used');
    assert.equal(pooledFrameBuffers(), 1);
    drainPool();
  });

  it('keeps at most FRAME_POOL_BUFFERS_MAX buffers, none above FRAME_POOL_BUFFER_BYTES_MAX', () => {
    drainPool();
    const huge = allocateWithHeadroom(FRAME_POOL_BUFFER_BYTES_MAX);
    releaseFrameBuffer(huge);
    assert.equal(pooledFrameBuffers(), 0);
    const bodies = Array.from({ length: FRAME_POOL_BUFFERS_MAX + 3 }, () =>
      allocateWithHeadroom(1000),
    );
    for (const body of bodies) releaseFrameBuffer(body);
    assert.equal(pooledFrameBuffers(), FRAME_POOL_BUFFERS_MAX);
    releaseFrameBuffer(new Uint8Array(2000).subarray(4));
    assert.equal(pooledFrameBuffers(), FRAME_POOL_BUFFERS_MAX, 'foreign buffers never enter');
    drainPool();
  });

  it('encodes a SyncResponse into a body with headroom that decodes at its offset', () => {
    const response: SyncResponse = {
      kind: 'response',
      channelId: new Uint8Array(32).fill(3),
      firstSeq: 10,
      leaderFirstRetainedSeq: 2,
      requestId: 77n,
      events: [
        { seq: 10, payload: new Uint8Array([1, 2, 3]) },
        { seq: 11, payload: new Uint8Array(0) },
      ],
    };
    const frame = encodeResponse(response);
    assert.ok(hasFrameHeadroom(frame));
    const decoded = decodeResponse(frame);
    assert.equal(decoded.firstSeq, 10);
    assert.equal(decoded.requestId, 77n);
    assert.deepEqual(
      decoded.events.map((e) => [e.seq, [...e.payload]]),
      [
        [10, [1, 2, 3]],
        [11, []],
      ],
    );
  });
});
