// The two-slot `EPOCH` file: a change is written over the older slot and fdatasynced, so a torn
// write loses only itself; both slots bad is corruption; the one-slot file of the previous layout
// is read and converted with no window in which a crash loses its state.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, test } from 'node:test';
import { crc32c } from '@node-rs/crc32';
import fc from 'fast-check';
import type { FileSystem } from '../../../src/log/disk/fs.js';
import { nodeFileSystem } from '../../../src/log/disk/fs.js';
import { MemoryFileSystem } from '../../../src/log/disk/memory-fs.js';
import {
  VOTE_FILE_BYTES,
  VOTE_FILE_NAME,
  VOTE_SLOT_BYTES,
  VOTE_SLOT_STRIDE,
} from '../../../src/log/disk/quorum-format.js';
import { DiskQuorumState } from '../../../src/log/disk/quorum-state.js';
import { CorruptError, IoError } from '../../../src/log/errors.js';
import type { QuorumState } from '../../../src/log/quorum-state.js';
import { FaultyFs } from './faulty-fs.js';
import { FAR, freshQuorumState, tempDir } from './helpers.js';

function reload(dir: string, fs: FileSystem = nodeFileSystem): Promise<QuorumState> {
  return new DiskQuorumState(fs, dir).load(FAR);
}

/** The 40-byte `EPOCH` of the previous version, built field by field from its documented layout. */
function legacyVoteFile(epoch: number, votedFor: bigint | null, clean: boolean): Uint8Array {
  const bytes = new Uint8Array(40);
  const data = new DataView(bytes.buffer);
  bytes.set(new TextEncoder().encode('RDXVOTE1'), 0);
  data.setUint32(8, 1, true);
  data.setUint32(12, (votedFor === null ? 0 : 1) | (clean ? 2 : 0), true);
  data.setBigUint64(16, BigInt(epoch), true);
  data.setBigUint64(24, votedFor ?? 0n, true);
  data.setUint32(36, crc32c(bytes.subarray(0, 36)), true);
  return bytes;
}

function damage(path: string, offset: number): void {
  const bytes = readFileSync(path);
  bytes[offset]! ^= 0xff;
  writeFileSync(path, bytes);
}

describe('EPOCH slots', () => {
  test('a vote after the first is written in place: one fdatasync, no temp, no rename, no dir fsync', async () => {
    const fs = new FaultyFs();
    const { dir, store } = await freshQuorumState(fs);
    let start = fs.ops.length;
    await store.saveVote(1, 1n);
    assert.deepEqual(fs.ops.slice(start), [
      'open:create:EPOCH.tmp',
      'truncate:EPOCH.tmp',
      'write:EPOCH.tmp',
      'sync:EPOCH.tmp',
      // An empty EPOCHS for the first epoch entry, its name durable by the same dir fsync.
      'open:create:EPOCHS',
      'rename:EPOCH.tmp->EPOCH',
      `syncDir:${basename(dir)}`,
    ]);
    for (const [epoch, votedFor] of [
      [2, 2n],
      [3, null],
    ] as const) {
      start = fs.ops.length;
      await store.saveVote(epoch, votedFor);
      assert.deepEqual(fs.ops.slice(start), ['open:readwrite:EPOCH', 'write:EPOCH', 'sync:EPOCH']);
    }
  });

  test('slots alternate, and the file keeps its size', async () => {
    const { dir, store } = await freshQuorumState();
    const path = join(dir, VOTE_FILE_NAME);
    await store.saveVote(1, 1n);
    const first = readFileSync(path);
    await store.saveVote(2, 2n);
    const second = readFileSync(path);
    assert.equal(second.byteLength, VOTE_FILE_BYTES);
    assert.deepEqual(second.subarray(0, VOTE_SLOT_BYTES), first.subarray(0, VOTE_SLOT_BYTES));
    await store.saveVote(3, 3n);
    const third = readFileSync(path);
    assert.equal(third.byteLength, VOTE_FILE_BYTES);
    assert.deepEqual(
      third.subarray(VOTE_SLOT_STRIDE),
      second.subarray(VOTE_SLOT_STRIDE),
      'the third write leaves slot 1 alone',
    );
    assert.equal((await reload(dir)).epoch, 3);
  });

  test('a torn slot reads as the state before it; the next write goes over it again', async () => {
    const { dir, store } = await freshQuorumState();
    const path = join(dir, VOTE_FILE_NAME);
    await store.saveVote(1, 1n); // slot 0
    await store.saveVote(2, 2n); // slot 1
    await store.markCleanShutdown(); // slot 0
    damage(path, 20); // slot 0, the newest, torn
    const state = await reload(dir);
    assert.deepEqual([state.epoch, state.votedFor, state.cleanShutdown], [2, 2n, false]);
    // The write after that load goes over the torn slot, not over the valid one.
    const again = new DiskQuorumState(nodeFileSystem, dir);
    await again.load(FAR);
    const slot1 = readFileSync(path).subarray(VOTE_SLOT_STRIDE);
    await again.saveVote(4, 4n);
    assert.deepEqual(readFileSync(path).subarray(VOTE_SLOT_STRIDE), slot1);
    assert.equal((await reload(dir)).epoch, 4);
    damage(path, VOTE_SLOT_STRIDE + 3); // the older slot bad too: still the newest state
    assert.equal((await reload(dir)).epoch, 4);
  });

  test('both slots bad is a CorruptError naming the file; the file is left as it was', async () => {
    const { dir, store } = await freshQuorumState();
    const path = join(dir, VOTE_FILE_NAME);
    await store.saveVote(1, 1n);
    await store.saveVote(2, 2n);
    damage(path, 20);
    damage(path, VOTE_SLOT_STRIDE + 20);
    const before = readFileSync(path);
    await assert.rejects(reload(dir), (error: CorruptError) => {
      assert.ok(error instanceof CorruptError, String(error));
      assert.equal(error.path, path);
      assert.match(error.message, /no slot is valid/);
      return true;
    });
    assert.deepEqual(readFileSync(path), before);
    for (const size of [VOTE_SLOT_BYTES - 1, VOTE_FILE_BYTES + 1]) {
      writeFileSync(path, new Uint8Array(size));
      await assert.rejects(reload(dir), CorruptError);
    }
  });

  test('the 40-byte file of the previous version is read, and converted by the next write', async () => {
    const { dir } = await freshQuorumState();
    const path = join(dir, VOTE_FILE_NAME);
    const legacy = legacyVoteFile(6, 3n, true);
    writeFileSync(path, legacy);
    const store = new DiskQuorumState(nodeFileSystem, dir);
    assert.deepEqual(await store.load(FAR), {
      epoch: 6,
      votedFor: 3n,
      cleanShutdown: true,
      history: [],
    });
    await store.markOpen();
    const converted = readFileSync(path);
    assert.equal(converted.byteLength, VOTE_FILE_BYTES);
    assert.deepEqual(converted.subarray(0, 40), Buffer.from(legacy), 'slot 1 is written first');
    assert.deepEqual(await reload(dir), {
      epoch: 6,
      votedFor: 3n,
      cleanShutdown: false,
      history: [],
    });
    await store.saveVote(7, null);
    assert.equal((await reload(dir)).epoch, 7);
  });

  test('a crash at each step of the conversion leaves the old state or the new one', async () => {
    const old = { epoch: 6, votedFor: 3n, cleanShutdown: true, history: [] };
    const next = { epoch: 8, votedFor: 1n, cleanShutdown: true, history: [] };
    const outcomes = new Set<string>();
    for (let step = 0; step < 3; step++) {
      for (const fraction of [0, 0.5, 0.99]) {
        const fs = new FaultyFs();
        fs.partialWriteFraction = fraction;
        const dir = tempDir();
        await fs.mkdir(dir);
        writeFileSync(join(dir, VOTE_FILE_NAME), legacyVoteFile(6, 3n, true));
        const store = new DiskQuorumState(fs, dir);
        await store.load(FAR);
        fs.arm(step, 'crash');
        await assert.rejects(store.saveVote(8, 1n), IoError);
        const state = await reload(dir);
        if (state.epoch === 6) {
          assert.deepEqual(state, old, `step ${step}`);
          outcomes.add('old');
        } else {
          assert.deepEqual(state, next, `step ${step}`);
          outcomes.add('new');
        }
      }
    }
    assert.ok(outcomes.has('old'));
  });

  test('any sequence of writes, torn writes, process crashes and power cuts keeps the newest acknowledged state', async () => {
    type Step = {
      clean: boolean;
      fault: null | { at: number; fraction: number; powerCut: boolean };
    };
    const step: fc.Arbitrary<Step> = fc.record({
      clean: fc.boolean(),
      fault: fc.option(
        fc.record({
          at: fc.integer({ min: 0, max: 7 }),
          fraction: fc.double({ min: 0, max: 1, noNaN: true }),
          powerCut: fc.boolean(),
        }),
        { freq: 3 },
      ),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 14 }), async (steps) => {
        const memory = new MemoryFileSystem();
        const fs = new FaultyFs(memory);
        const dir = '/data/v/@redex';
        let { store } = await freshQuorumState(fs, dir);
        // What the store holds, and every state a reload may find: the last acknowledged one and
        // each unacknowledged write since (it may or may not have landed, or stayed after a cut).
        let current = await reload(dir, memory);
        let possible = [current];
        let epoch = 0;
        for (const { clean, fault } of steps) {
          epoch++;
          const votedFor = clean ? null : BigInt(epoch);
          const voteOnly = { ...current, epoch, votedFor };
          const intended = { ...voteOnly, cleanShutdown: clean };
          if (fault !== null) {
            fs.partialWriteFraction = fault.fraction;
            fs.arm(fault.at, 'crash');
          }
          const done = await store.saveVote(epoch, votedFor).then(
            () => true,
            () => false,
          );
          // After a failed vote the store refuses this write as well.
          const flagDone = await (clean ? store.markCleanShutdown() : store.markOpen()).then(
            () => done,
            () => false,
          );
          fs.disarm();
          if (flagDone) possible = [intended];
          else if (done) possible = [voteOnly, intended];
          else possible.push(voteOnly, intended);
          if (fault?.powerCut === true) memory.crash();
          if (fault !== null) {
            // The process died: a new store reads what the disk holds.
            store = new DiskQuorumState(fs, dir);
            current = await store.load(FAR);
          } else {
            assert.ok(flagDone);
            current = await reload(dir, memory);
          }
          assert.ok(
            possible.some((candidate) => show(candidate) === show(current)),
            `${show(current)} is none of ${possible.map(show).join(', ')}`,
          );
        }
      }),
      { numRuns: 80 },
    );
  });
});

function show(state: QuorumState): string {
  return JSON.stringify(state, (_key, value) => (typeof value === 'bigint' ? `${value}n` : value));
}
