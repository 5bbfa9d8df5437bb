// The pool of record buffers for replicated chunks: buffers come back only when the pool made
// them, within its limits, and a chunk appended after another reuses the first one's memory.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  giveRecordBuffer,
  pooledRecordBuffers,
  RECORD_POOL_BUFFER_BYTES_MAX,
  RECORD_POOL_BUFFERS_MAX,
  takeRecordBuffer,
} from '../../../src/log/disk/record-pool.js';
import { payloadRunOf } from '../../../src/log/payload-run.js';
import { openPersistent, tempDir } from './helpers.js';

/** Empties the pool (it is shared by the whole process) and returns what it held. */
function drain(): Buffer[] {
  const taken: Buffer[] = [];
  while (pooledRecordBuffers() > 0) taken.push(takeRecordBuffer(1));
  return taken;
}

describe('record pool', () => {
  it('hands a returned buffer out again, sized to the request', () => {
    drain();
    const first = takeRecordBuffer(1000);
    assert.equal(first.byteLength, 1000);
    giveRecordBuffer(first);
    assert.equal(pooledRecordBuffers(), 1);
    const second = takeRecordBuffer(2000);
    assert.equal(second.byteLength, 2000);
    assert.equal(second.buffer, first.buffer);
    assert.equal(pooledRecordBuffers(), 0);
    giveRecordBuffer(second);
    giveRecordBuffer(second); // twice: kept once
    assert.equal(pooledRecordBuffers(), 1);
    drain();
  });

  it('hands out the smallest free buffer that is large enough', () => {
    drain();
    const large = takeRecordBuffer(1 << 20);
    const small = takeRecordBuffer(1000);
    giveRecordBuffer(small);
    giveRecordBuffer(large);
    assert.equal(takeRecordBuffer(500).buffer, small.buffer);
    assert.equal(takeRecordBuffer(500_000).buffer, large.buffer);
    drain();
  });

  it('refuses buffers it did not make and keeps no more than its limits', () => {
    drain();
    giveRecordBuffer(Buffer.allocUnsafe(100)); // a slice of Node's shared slab
    giveRecordBuffer(Buffer.allocUnsafeSlow(100_000));
    assert.equal(pooledRecordBuffers(), 0);
    const huge = takeRecordBuffer(RECORD_POOL_BUFFER_BYTES_MAX + 1);
    giveRecordBuffer(huge);
    assert.equal(pooledRecordBuffers(), 0);
    const many = Array.from({ length: RECORD_POOL_BUFFERS_MAX + 3 }, () => takeRecordBuffer(10));
    for (const buffer of many) giveRecordBuffer(buffer);
    assert.equal(pooledRecordBuffers(), RECORD_POOL_BUFFERS_MAX);
    drain();
  });

  it('a written chunk gives its buffer back; the next chunk reuses it and both read back', async () => {
    drain();
    const dir = tempDir();
    const { file } = await openPersistent(dir, { fsync: 'never', cacheBytes: 1 << 20 });
    const chunk = (fill: number) =>
      payloadRunOf(Array.from({ length: 1000 }, (_, i) => new Uint8Array(300).fill(fill + i)));
    // Two buffers come back after each group: its records and its index entries (24 KB here;
    // a small group's index entries are not pooled).
    assert.equal(await file.applyReplicatedRun(0, chunk(0)), 0);
    assert.equal(pooledRecordBuffers(), 2);
    assert.equal(await file.applyReplicatedRun(1000, chunk(1000)), 1000);
    assert.equal(pooledRecordBuffers(), 2);
    const cached = await file.readRange(0, 2000);
    assert.equal(cached.length, 2000);
    for (const event of cached)
      assert.deepEqual(event.payload, new Uint8Array(300).fill(event.seq));
    await file.close();
    const { file: reopened } = await openPersistent(dir, { fsync: 'never' });
    const events = await reopened.readRange(0, 2000);
    assert.equal(events.length, 2000);
    for (const event of events)
      assert.deepEqual(event.payload, new Uint8Array(300).fill(event.seq));
    await reopened.close();
  });
});
