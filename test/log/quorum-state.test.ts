// The quorum-state store's rules, the same for an in-memory file (MemoryQuorumState) and a
// persistent one (files next to the log), reached through the internal `file.quorumState`.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MemoryFileSystem } from '../../src/log/disk/memory-fs.js';
import { type RedexError, RedexErrorCode } from '../../src/log/errors.js';
import type { QuorumStateStore } from '../../src/log/quorum-state.js';
import { Redex } from '../../src/log/redex.js';
import type { RedexFile } from '../../src/log/redex-file.js';
import { VirtualClock } from '../../src/time/virtual-clock.js';
import { openMemoryFile } from './helpers.js';

const STORES: [string, () => Promise<RedexFile>][] = [
  ['memory', async () => (await openMemoryFile()).file],
  [
    'disk',
    () =>
      new Redex({ dir: '/data', fs: new MemoryFileSystem(), clock: new VirtualClock() }).openFile(
        'quorum/log',
        { persistent: true },
      ),
  ],
];

const invalidArgument = (error: RedexError) => error.code === RedexErrorCode.InvalidArgument;

for (const [name, open] of STORES) {
  describe(`quorum state (${name})`, () => {
    async function loaded(): Promise<{ file: RedexFile; store: QuorumStateStore }> {
      const file = await open();
      const store = file.quorumState;
      assert.equal(file.quorumState, store, 'the file hands out one store');
      await store.load(file.nextSeq);
      return { file, store };
    }

    test('a channel that never had one loads as epoch 0, no vote, no history, not clean', async () => {
      const file = await open();
      assert.deepEqual(await file.quorumState.load(0), {
        epoch: 0,
        votedFor: null,
        history: [],
        cleanShutdown: false,
      });
    });

    test('every change before load is refused', async () => {
      const store = (await open()).quorumState;
      await assert.rejects(store.saveVote(1, 2n), invalidArgument);
      await assert.rejects(store.appendEpoch(1, 0), invalidArgument);
      await assert.rejects(store.truncateHistory(0), invalidArgument);
      await assert.rejects(store.markOpen(), invalidArgument);
    });

    test('votes: the epoch never decreases; votedFor is null or a u64 bigint', async () => {
      const { store } = await loaded();
      await store.saveVote(3, 0xffff_ffff_ffff_ffffn);
      await store.saveVote(3, null);
      await store.saveVote(4, 7n);
      await assert.rejects(store.saveVote(2, 7n), invalidArgument);
      await assert.rejects(store.saveVote(5, -1n), invalidArgument);
      await assert.rejects(store.saveVote(5, 1n << 64n), invalidArgument);
      await assert.rejects(store.saveVote(5, 7 as unknown as bigint), invalidArgument);
      await assert.rejects(store.saveVote(-1, null), invalidArgument);
      await assert.rejects(store.saveVote(1.5, null), invalidArgument);
      const state = await store.load(0);
      assert.equal(state.epoch, 4);
      assert.equal(state.votedFor, 7n);
    });

    test('history: epochs increase, start seqs never decrease, an equal start seq replaces', async () => {
      const { store } = await loaded();
      await store.appendEpoch(1, 0);
      await store.appendEpoch(2, 0); // epoch 1's leader wrote nothing: epoch 2 replaces it
      await store.appendEpoch(4, 10);
      await assert.rejects(store.appendEpoch(4, 12), invalidArgument);
      await assert.rejects(store.appendEpoch(3, 12), invalidArgument);
      await assert.rejects(store.appendEpoch(5, 9), invalidArgument);
      await store.appendEpoch(5, 10);
      await store.appendEpoch(7, 25);
      assert.deepEqual((await store.load(100)).history, [
        { epoch: 2, startSeq: 0 },
        { epoch: 5, startSeq: 10 },
        { epoch: 7, startSeq: 25 },
      ]);
    });

    test('truncateHistory drops the entries at or past a seq; load drops those past the log', async () => {
      const { store } = await loaded();
      for (const [epoch, startSeq] of [
        [1, 0],
        [2, 5],
        [3, 9],
        [4, 14],
      ] as const)
        await store.appendEpoch(epoch, startSeq);
      await store.truncateHistory(14);
      assert.deepEqual(
        (await store.load(100)).history.map((entry) => entry.epoch),
        [1, 2, 3],
      );
      // The log ends at 9: epoch 3 owns no seq of it.
      assert.deepEqual(
        (await store.load(9)).history.map((entry) => entry.epoch),
        [1, 2],
      );
      // A later epoch may start where the dropped one did.
      await store.appendEpoch(6, 9);
      assert.deepEqual((await store.load(100)).history.at(-1), { epoch: 6, startSeq: 9 });
    });

    test('the clean-shutdown marker follows markOpen and markCleanShutdown', async () => {
      const { store } = await loaded();
      await store.markCleanShutdown();
      assert.equal((await store.load(0)).cleanShutdown, true);
      await store.markOpen();
      assert.equal((await store.load(0)).cleanShutdown, false);
    });

    test('a closed file does not hand its store out', async () => {
      const file = await open();
      await file.close();
      assert.throws(() => file.quorumState, { code: RedexErrorCode.Closed });
    });
  });
}

describe('opening the quorum state of a persistent file', () => {
  /** A file closed cleanly once (its marker says clean), reopened with `fsync`. */
  async function reopened(fsync: 'always' | 'never') {
    const fs = new MemoryFileSystem();
    const redex = () => new Redex({ dir: '/data', fs, clock: new VirtualClock() });
    const first = await redex().openFile('quorum/log', { persistent: true, fsync });
    await first.quorumState.load(first.nextSeq);
    await first.openQuorumState();
    await first.quorumState.saveVote(1, null);
    // What a replicated file's clean close does last (this one has no replication attached).
    await first.quorumState.markCleanShutdown();
    await first.close();
    const file = await redex().openFile('quorum/log', { persistent: true, fsync });
    assert.equal((await file.quorumState.load(file.nextSeq)).cleanShutdown, true);
    await file.openQuorumState();
    return file;
  }

  test("under fsync 'never' it is marked open at once (a crash may lose acknowledged events)", async () => {
    const file = await reopened('never');
    assert.equal((await file.quorumState.load(file.nextSeq)).cleanShutdown, false);
  });

  test("under fsync 'always' nothing is written at open (no acknowledged event can be lost)", async () => {
    const file = await reopened('always');
    assert.equal((await file.quorumState.load(file.nextSeq)).cleanShutdown, true);
  });
});
