// The pool of reassembly buffers for received frames (src/wire/receive-pool.ts): bounded, reused
// only after a release, and a release names the exact loan, so a stale holder cannot give back a
// buffer that was lent again.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  isLentReceiveBuffer,
  pooledReceiveBuffers,
  RECEIVE_POOL_BUFFER_BYTES_MAX,
  RECEIVE_POOL_BUFFERS_MAX,
  RECEIVE_POOL_FROM_BYTES,
  releaseReceivedFrame,
  takeReceiveBuffer,
} from '../../src/wire/receive-pool.js';

/** Empties the pool (it is shared by the whole process) so counts start from 0. */
function drainPool(): void {
  while (pooledReceiveBuffers() > 0) takeReceiveBuffer(RECEIVE_POOL_FROM_BYTES);
}

describe('receive pool', () => {
  it('lends a frame at offset 0 of a buffer of its own, not one of Node’s pool slabs', () => {
    const body = takeReceiveBuffer(RECEIVE_POOL_FROM_BYTES + 10);
    assert.equal(body.byteOffset, 0);
    assert.equal(body.length, RECEIVE_POOL_FROM_BYTES + 10);
    assert.ok(!Buffer.isBuffer(body));
    assert.ok(isLentReceiveBuffer(body));
    assert.equal(isLentReceiveBuffer(body.subarray(0, 10)), false, 'only the loan itself');
    assert.equal(isLentReceiveBuffer(new Uint8Array(body.buffer, 0, body.length)), false);
  });

  it('reuses a released buffer for the next frame, and only after the release', () => {
    drainPool();
    const first = takeReceiveBuffer(300_000);
    const second = takeReceiveBuffer(300_000);
    assert.notEqual(second.buffer, first.buffer, 'a lent buffer is never lent twice');
    releaseReceivedFrame(first);
    assert.equal(pooledReceiveBuffers(), 1);
    assert.equal(isLentReceiveBuffer(first), false);
    const third = takeReceiveBuffer(200_000);
    assert.equal(third.buffer, first.buffer, 'the warm buffer comes back');
    assert.equal(pooledReceiveBuffers(), 0);
  });

  it('a second release of an old loan does not give back the buffer lent again since', () => {
    drainPool();
    const old = takeReceiveBuffer(300_000);
    releaseReceivedFrame(old);
    const current = takeReceiveBuffer(300_000);
    assert.equal(current.buffer, old.buffer);
    releaseReceivedFrame(old); // a stale holder
    assert.equal(pooledReceiveBuffers(), 0);
    assert.ok(isLentReceiveBuffer(current), 'the current loan stands');
    const other = takeReceiveBuffer(300_000);
    assert.notEqual(other.buffer, current.buffer);
  });

  it('small and oversized frames are never pooled; foreign buffers are ignored', () => {
    drainPool();
    const small = takeReceiveBuffer(RECEIVE_POOL_FROM_BYTES - 1);
    const large = takeReceiveBuffer(RECEIVE_POOL_BUFFER_BYTES_MAX + 1);
    assert.equal(small.buffer.byteLength, small.length, 'exactly its own size');
    assert.equal(large.buffer.byteLength, large.length);
    for (const body of [small, large, new Uint8Array(RECEIVE_POOL_FROM_BYTES), Buffer.alloc(10)])
      releaseReceivedFrame(body);
    assert.equal(pooledReceiveBuffers(), 0);
  });

  it('holds at most RECEIVE_POOL_BUFFERS_MAX buffers however many are released', () => {
    drainPool();
    const bodies = Array.from({ length: RECEIVE_POOL_BUFFERS_MAX + 5 }, () =>
      takeReceiveBuffer(2 << 20),
    );
    for (const body of bodies) releaseReceivedFrame(body);
    assert.equal(pooledReceiveBuffers(), RECEIVE_POOL_BUFFERS_MAX);
    // The smallest buffer that fits is taken, so small frames do not take the big ones.
    drainPool();
    const big = takeReceiveBuffer(RECEIVE_POOL_BUFFER_BYTES_MAX);
    releaseReceivedFrame(takeReceiveBuffer(RECEIVE_POOL_FROM_BYTES));
    releaseReceivedFrame(big);
    const small = takeReceiveBuffer(RECEIVE_POOL_FROM_BYTES + 1);
    assert.ok(small.buffer.byteLength < RECEIVE_POOL_BUFFER_BYTES_MAX);
  });
});
