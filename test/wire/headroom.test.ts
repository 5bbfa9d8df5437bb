// Encoded frames with room for the mesh's length prefix, and the pool their buffers return to
// once written (src/wire/headroom.ts).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  allocateWithHeadroom,
  FRAME_HEADROOM_BYTES,
  FRAME_POOL_BUFFER_BYTES_MAX,
  FRAME_POOL_BUFFERS_MAX,
  HEADROOM_FROM_BYTES,
  hasFrameHeadroom,
  pooledFrameBuffers,
  releaseFrameBuffer,
} from '../../src/wire/headroom.js';
import { decodeResponse, encodeResponse } from '../../src/wire/index.js';
import type { SyncResponse } from '../../src/wire/types.js';

/** Empties the pool (it is shared by the whole process) so counts start from 0. */
function drainPool(): void {
  while (pooledFrameBuffers() > 0) allocateWithHeadroom(HEADROOM_FROM_BYTES + 1);
}

describe('frame headroom', () => {
  it('places the body after reserved bytes, and only the whole body has headroom', () => {
    const body = allocateWithHeadroom(HEADROOM_FROM_BYTES + 100);
    assert.equal(body.byteOffset, FRAME_HEADROOM_BYTES);
    assert.equal(body.length, HEADROOM_FROM_BYTES + 100);
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

  it('a body up to HEADROOM_FROM_BYTES gets a buffer of its own, no headroom, never pooled', () => {
    drainPool();
    const small = allocateWithHeadroom(HEADROOM_FROM_BYTES);
    assert.equal(small.byteOffset, 0);
    assert.equal(small.buffer.byteLength, HEADROOM_FROM_BYTES, 'not rounded up');
    assert.equal(hasFrameHeadroom(small), false);
    releaseFrameBuffer(small);
    assert.equal(pooledFrameBuffers(), 0);
  });

  it('keeps at most FRAME_POOL_BUFFERS_MAX buffers, none above FRAME_POOL_BUFFER_BYTES_MAX', () => {
    drainPool();
    const huge = allocateWithHeadroom(FRAME_POOL_BUFFER_BYTES_MAX);
    releaseFrameBuffer(huge);
    assert.equal(pooledFrameBuffers(), 0);
    const bodies = Array.from({ length: FRAME_POOL_BUFFERS_MAX + 3 }, () =>
      allocateWithHeadroom(HEADROOM_FROM_BYTES + 1000),
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
        { seq: 12, payload: new Uint8Array(HEADROOM_FROM_BYTES).fill(9) },
      ],
    };
    const frame = encodeResponse(response);
    assert.ok(hasFrameHeadroom(frame));
    const decoded = decodeResponse(frame);
    assert.equal(decoded.firstSeq, 10);
    assert.equal(decoded.requestId, 77n);
    assert.deepEqual(
      decoded.events.map((e) => [e.seq, e.payload.length, e.payload[0]]),
      [
        [10, 3, 1],
        [11, 0, undefined],
        [12, HEADROOM_FROM_BYTES, 9],
      ],
    );
    // A heartbeat-sized response: its own buffer, no headroom, decoded all the same.
    const small = encodeResponse({ ...response, events: response.events.slice(0, 2) });
    assert.equal(hasFrameHeadroom(small), false);
    assert.equal(decodeResponse(small).events.length, 2);
  });
});
