// The node file system's files on raw descriptors: opened and closed synchronously, so a close must
// wait for the operations in flight (or a reused descriptor number could take their effect), and
// nothing may reach the descriptor once a close was asked for.

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { nodeFileSystem, SYNC_WRITE_BYTES_MAX } from '../../../src/log/disk/fs.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'redex-node-fs-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('nodeFileSystem files', () => {
  it('lets a close wait for a large write and an fsync in flight, both of which land', async () => {
    const path = join(dir, 'in-flight');
    const file = await nodeFileSystem.open(path, 'create');
    // Larger than the synchronous limit: the write goes to the thread pool.
    const big = new Uint8Array(SYNC_WRITE_BYTES_MAX + 4096).fill(7);
    const writing = file.write(big, 0);
    // Both in the pool when the close is asked for.
    const syncing = file.sync();
    const closing = file.close();
    // The close ends only after both: until then the descriptor number is not free for reuse.
    const order: string[] = [];
    await Promise.all([
      writing.then(() => order.push('write')),
      syncing.then(() => order.push('sync')),
      closing.then(() => order.push('close')),
    ]);
    assert.equal(order.at(-1), 'close', `order: ${order.join(', ')}`);
    const back = await readFile(path);
    assert.equal(back.byteLength, big.byteLength);
    assert.ok(back.every((byte) => byte === 7));
  });

  it('refuses every operation once a close was asked for, and a second close is the same', async () => {
    const file = await nodeFileSystem.open(join(dir, 'closed'), 'create');
    await file.write(new Uint8Array([1, 2, 3]), 0);
    const first = file.close();
    assert.equal(file.close(), first);
    await first;
    await assert.rejects(file.write(new Uint8Array([4]), 0), { code: 'EBADF' });
    await assert.rejects(file.read(new Uint8Array(3), 0), { code: 'EBADF' });
    await assert.rejects(file.sync(), { code: 'EBADF' });
    await assert.rejects(file.size(), { code: 'EBADF' });
    await assert.rejects(file.truncate(0), { code: 'EBADF' });
  });

  it('opens, reads back, sizes and truncates through the descriptor', async () => {
    const path = join(dir, 'round-trip');
    await assert.rejects(nodeFileSystem.open(path, 'read'), { code: 'ENOENT' });
    const file = await nodeFileSystem.open(path, 'create');
    await file.writev([new Uint8Array([1, 2]), new Uint8Array([3, 4, 5])], 0);
    assert.equal(await file.size(), 5);
    await file.truncate(4);
    const into = new Uint8Array(8);
    assert.equal(await file.read(into, 0), 4);
    assert.deepEqual([...into.subarray(0, 4)], [1, 2, 3, 4]);
    await file.close();
    assert.deepEqual(await nodeFileSystem.readdir(dir), ['closed', 'in-flight', 'round-trip']);
    assert.deepEqual(await nodeFileSystem.readdir(join(dir, 'missing')), []);
  });
});
