// Creating a persistent channel without fsyncing its files: only the directories between the
// manager's root and the store are fsynced before the open resolves; the store's manifest and
// generation files become durable with its first fsync. A crash at any step of either, with a
// power cut keeping any prefix of what was not fsynced and only the directory entries that were
// synced, must reopen cleanly: an acknowledged channel exists, and nothing acknowledged is lost.

import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, test } from 'node:test';
import type { FsyncPolicy } from '../../../src/log/config.js';
import { CoalescingDirSync } from '../../../src/log/disk/dir-sync.js';
import { MemoryFileSystem } from '../../../src/log/disk/memory-fs.js';
import { openMany } from '../../../src/log/open-many.js';
import { Redex } from '../../../src/log/redex.js';
import { SeededRandom } from '../../../src/time/random.js';
import { VirtualClock } from '../../../src/time/virtual-clock.js';
import { FaultyFs } from './faulty-fs.js';
import { payloadFor, readAll, tempDir } from './helpers.js';

const ROOT = '/data';
const CHANNEL = 'orders/eu/audit';
const STORE = `${ROOT}/orders/eu/audit/@redex`;
const EVENTS = 6;

/** A file system whose crashes forget unsynced directory entries, with the manager's root durable. */
async function freshDisk(): Promise<{ memory: MemoryFileSystem; fs: FaultyFs }> {
  const memory = new MemoryFileSystem({ durableEntries: true });
  await memory.mkdir(ROOT);
  await memory.syncDir('/');
  return { memory, fs: new FaultyFs(memory) };
}

function open(fs: FaultyFs | MemoryFileSystem, fsync: FsyncPolicy = 'never') {
  const redex = new Redex({ dir: ROOT, fs, clock: new VirtualClock() });
  return { redex, file: redex.openFile(CHANNEL, { persistent: true, fsync }) };
}

/** Step counts of creating the channel and of its first fsync (an append under `always`). */
async function stepCounts(): Promise<{ create: number; firstSync: number; ops: string[] }> {
  const { fs } = await freshDisk();
  const { redex, file } = open(fs, 'always');
  const opened = await file;
  const create = fs.ops.length;
  await opened.append(payloadFor(0));
  const firstSync = fs.ops.length - create;
  const ops = fs.ops.slice();
  await redex.close();
  return { create, firstSync, ops };
}

describe('creating a persistent channel', () => {
  test('fsyncs no file, only the directories from the root to the store (the store itself not)', async () => {
    const { create, ops } = await stepCounts();
    const creation = ops.slice(0, create);
    assert.deepEqual(
      creation.filter((op) => op.startsWith('sync')),
      ['syncDir:data', 'syncDir:orders', 'syncDir:eu', 'syncDir:audit'],
    );
    assert.ok(!creation.some((op) => op.includes('EPOCH')), 'no quorum-state file');
    // The first fsync of the store makes its manifest, files and entries durable with the data.
    const first = ops.slice(create).filter((op) => op.startsWith('sync'));
    assert.deepEqual(first.sort(), [
      'sync:0000000001.dat',
      'sync:0000000001.idx',
      'sync:MANIFEST',
      'syncDir:@redex',
    ]);
  });

  test('a crash at each step of the creation, then a power cut: the channel reopens empty, and exists if the open resolved', async () => {
    const { create } = await stepCounts();
    const random = new SeededRandom(2026_12_01);
    for (let step = 0; step <= create; step++) {
      for (let round = 0; round < 6; round++) {
        const { memory, fs } = await freshDisk();
        fs.arm(step, 'crash');
        const { file } = open(fs);
        const acknowledged = await file.then(
          () => true,
          () => false,
        );
        assert.equal(acknowledged, step === create, `step ${step}`);
        memory.crash((_path, unsynced) => random.nextInt(unsynced + 1));
        if (acknowledged)
          assert.ok(memory.dirs.includes(STORE), `step ${step}: the store survives`);
        const reopened = open(memory);
        const again = await reopened.file;
        assert.equal(again.nextSeq, 0, `step ${step} round ${round}`);
        // And it works: what is appended and synced survives the next power cut.
        for (let i = 0; i < EVENTS; i++) await again.append(payloadFor(i));
        await again.sync();
        memory.crash((_path, unsynced) => random.nextInt(unsynced + 1));
        const third = await open(memory).file;
        assert.deepEqual(
          (await readAll(third)).map((event) => event.payload),
          Array.from({ length: EVENTS }, (_, i) => payloadFor(i)),
          `step ${step} round ${round}`,
        );
        third.assertInvariants();
      }
    }
  });

  test("a crash at each step of a new channel's first fsync ('always' appends) loses no acknowledged append", async () => {
    const { firstSync } = await stepCounts();
    const random = new SeededRandom(17);
    for (let step = 0; step <= firstSync; step++) {
      for (let round = 0; round < 6; round++) {
        const { memory, fs } = await freshDisk();
        const file = await open(fs, 'always').file;
        fs.arm(step, 'crash');
        const acknowledged = await file.append(payloadFor(0)).then(
          () => true,
          () => false,
        );
        assert.equal(acknowledged, step === firstSync, `step ${step}`);
        memory.crash((_path, unsynced) => random.nextInt(unsynced + 1));
        const reopened = await open(memory, 'always').file;
        const events = await readAll(reopened);
        if (acknowledged) assert.equal(events.length, 1, `step ${step}: the append survives`);
        assert.ok(events.length <= 1, `step ${step}`);
        if (events.length === 1) assert.deepEqual(events[0]!.payload, payloadFor(0));
        reopened.assertInvariants();
      }
    }
  });

  test('a power cut before any fsync of the store, its entries synced by a vote, keeps a prefix of the events', async () => {
    const random = new SeededRandom(99);
    for (let round = 0; round < 40; round++) {
      const { memory, fs } = await freshDisk();
      const file = await open(fs).file;
      for (let i = 0; i < EVENTS; i++) await file.append(payloadFor(i));
      // A vote replaces EPOCH and fsyncs the store's directory: every entry there is durable
      // now, while the manifest and generation files are not (any prefix of them may survive).
      const state = file.quorumState;
      await state.load(file.nextSeq);
      await state.saveVote(1, 7n);
      memory.crash((_path, unsynced) => random.nextInt(unsynced + 1));
      const reopened = await open(memory).file;
      const events = await readAll(reopened);
      events.forEach((event, index) => {
        assert.equal(event.seq, index);
        assert.deepEqual(event.payload, payloadFor(index), `round ${round}`);
      });
      const loaded = await reopened.quorumState.load(reopened.nextSeq);
      assert.equal(loaded.epoch, 1, 'the durable vote survives');
      reopened.assertInvariants();
    }
  });

  test('a blank manifest next to records of the first generation is rewritten, and the records kept', async () => {
    const { memory } = await freshDisk();
    const file = await open(memory).file;
    for (let i = 0; i < EVENTS; i++) await file.append(payloadFor(i));
    await file.sync();
    const manifest = await memory.open(`${STORE}/MANIFEST`, 'readwrite');
    await manifest.truncate(0);
    await manifest.write(new Uint8Array(36), 0);
    await manifest.close();
    const reopened = await open(memory).file;
    assert.equal(reopened.nextSeq, EVENTS);
    assert.equal((await readAll(reopened)).length, EVENTS);
  });

  /** A store with records whose manifest is then blank, as a crash before its first fsync leaves it. */
  async function storeWithBlankManifest(): Promise<MemoryFileSystem> {
    const { memory } = await freshDisk();
    const file = await open(memory).file;
    for (let i = 0; i < EVENTS; i++) await file.append(payloadFor(i));
    await file.close();
    const manifest = await memory.open(`${STORE}/MANIFEST`, 'readwrite');
    await manifest.truncate(0);
    await manifest.close();
    return memory;
  }

  for (const kept of [0, 8, 16, 31]) {
    test(`a blank manifest and a data header torn after ${kept} bytes (a crash before the first fsync) open as a new channel`, async () => {
      const memory = await storeWithBlankManifest();
      // What the swarm's torn writes left (seed 1836): the header's first bytes, then zeros,
      // followed by records that reached the disk.
      const data = await memory.open(`${STORE}/0000000001.dat`, 'readwrite');
      await data.write(new Uint8Array(32 - kept), kept);
      await data.close();
      const reopened = await open(memory).file;
      assert.equal(reopened.nextSeq, 0, 'nothing of a store never made durable was promised');
      await reopened.append(payloadFor(0));
      assert.equal((await readAll(reopened)).length, 1);
      reopened.assertInvariants();
    });
  }

  test('a blank manifest next to a data header that is not a torn creation header stays CORRUPT', async () => {
    const memory = await storeWithBlankManifest();
    const data = await memory.open(`${STORE}/0000000001.dat`, 'readwrite');
    await data.write(new Uint8Array([0xff, 0xff]), 20);
    await data.close();
    await assert.rejects(open(memory).file, /is blank, but 0000000001.dat holds records/);
  });

  test('a missing manifest next to records is still refused (CORRUPT), nothing overwritten', async () => {
    const { memory } = await freshDisk();
    const file = await open(memory).file;
    for (let i = 0; i < EVENTS; i++) await file.append(payloadFor(i));
    await file.sync();
    await memory.unlink(`${STORE}/MANIFEST`);
    await assert.rejects(open(memory).file, /is missing, but 0000000001.dat holds records/);
  });

  test('a blank data file under a later manifest is CORRUPT, not taken for a creation', async () => {
    const { memory } = await freshDisk();
    const file = await open(memory).file;
    await file.skipTo(10);
    await file.close();
    const data = await memory.open(`${STORE}/0000000002.dat`, 'readwrite');
    await data.truncate(0);
    await data.close();
    await assert.rejects(open(memory).file, (error: Error & { code?: string }) => {
      return error.code === 'CORRUPT';
    });
  });

  test('a new channel has no quorum-state file: it loads as epoch 0, no vote, not clean, and marking it open writes nothing', async () => {
    const { memory, fs } = await freshDisk();
    const file = await open(fs).file;
    const state = file.quorumState;
    assert.deepEqual(await state.load(file.nextSeq), {
      epoch: 0,
      votedFor: null,
      cleanShutdown: false,
      history: [],
    });
    const before = fs.ops.length;
    await state.markOpen();
    assert.deepEqual(fs.ops.slice(before), [], 'already so: no file, no fsync');
    await state.markCleanShutdown();
    assert.ok(
      fs.ops.slice(before).includes('rename:EPOCH.tmp->EPOCH'),
      'the clean mark is written',
    );
    // After a crash with the clean mark durable, the next open must clear it durably.
    memory.crash();
    const again = open(new FaultyFs(memory));
    const reopened = await again.file;
    assert.equal((await reopened.quorumState.load(reopened.nextSeq)).cleanShutdown, true);
    await reopened.quorumState.markOpen();
    memory.crash();
    const third = await open(memory).file;
    assert.equal((await third.quorumState.load(third.nextSeq)).cleanShutdown, false);
  });

  test('sync() of a new, empty channel makes its store durable', async () => {
    const { memory } = await freshDisk();
    const file = await open(memory).file;
    await file.sync();
    memory.crash();
    assert.ok(
      ['MANIFEST', '0000000001.dat', '0000000001.idx'].every((name) =>
        memory.paths.includes(`${STORE}/${name}`),
      ),
    );
    for (const [name, bytes] of [
      ['MANIFEST', 36],
      ['0000000001.dat', 32],
      ['0000000001.idx', 32],
    ] as const) {
      const kept = await memory.open(`${STORE}/${name}`, 'read');
      assert.equal(await kept.size(), bytes, `${name} survives whole`);
    }
    const reopened = await open(memory).file;
    assert.equal(reopened.nextSeq, 0);
  });

  test('many channels created at once share the fsyncs of their common parents', async () => {
    const { fs } = await freshDisk();
    const redex = new Redex({ dir: ROOT, fs, clock: new VirtualClock() });
    const names = Array.from({ length: 32 }, (_, i) => `many/c${i}`);
    await Promise.all(names.map((name) => redex.openFile(name, { persistent: true })));
    const count = (op: string) => fs.ops.filter((seen) => seen === op).length;
    assert.ok(count('syncDir:many') < names.length, `${count('syncDir:many')} syncs of many/`);
    assert.ok(count('syncDir:data') < names.length);
    assert.equal(count('syncDir:c7'), 1, 'each channel directory is synced once');
    await redex.close();
  });
});

describe('CoalescingDirSync', () => {
  function manual() {
    const calls: { path: string; done: () => void; fail: (error: Error) => void }[] = [];
    const syncer = new CoalescingDirSync(
      (path) =>
        new Promise<void>((resolve, reject) => {
          calls.push({ path, done: resolve, fail: reject });
        }),
    );
    return { calls, syncer };
  }
  const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

  test('callers during a sync in flight share the next one, which starts after it', async () => {
    const { calls, syncer } = manual();
    const order: string[] = [];
    const first = syncer.sync('/d').then(() => order.push('first'));
    const second = syncer.sync('/d').then(() => order.push('second'));
    const third = syncer.sync('/d').then(() => order.push('third'));
    const other = syncer.sync('/e').then(() => order.push('other'));
    assert.equal(calls.length, 2, 'one sync of /d in flight, one of /e');
    calls[0]!.done();
    await first;
    await tick();
    assert.equal(calls.length, 3, 'the next sync of /d started once the first ended');
    assert.deepEqual(order, ['first'], 'the late callers wait for it');
    calls[2]!.done();
    calls[1]!.done();
    await Promise.all([second, third, other]);
    assert.equal(calls.length, 3, 'two late callers, one sync');
    assert.equal(syncer.inFlight, 0, 'nothing left behind');
  });

  test('a failed sync rejects the callers sharing it; the next caller gets a new one', async () => {
    const { calls, syncer } = manual();
    const first = syncer.sync('/d');
    calls[0]!.fail(new Error('EIO'));
    await assert.rejects(first, /EIO/);
    const again = syncer.sync('/d');
    assert.equal(calls.length, 2);
    calls[1]!.done();
    await again;
    assert.equal(syncer.inFlight, 0);
  });
});

describe('descriptors of idle channels', () => {
  const openDescriptors = () => readdirSync('/proc/self/fd').length;

  test('an opened channel holds no descriptor until its first read or write', async () => {
    const dir = tempDir();
    const names = Array.from({ length: 50 }, (_, i) => `idle/c${i}`);
    for (const round of ['create', 'reopen']) {
      const redex = new Redex({ dir, clock: new VirtualClock() });
      const before = openDescriptors();
      const files = await openMany(
        redex,
        names.map((name) => ({ name, config: { persistent: true } })),
      );
      assert.ok(openDescriptors() - before < 5, `${round}: ${openDescriptors() - before} held`);
      await files[0]!.append(payloadFor(round.length));
      assert.equal(openDescriptors() - before, 2, `${round}: the data and index files, once used`);
      assert.equal((await readAll(files[0]!)).length, round === 'create' ? 1 : 2);
      await redex.close();
      assert.ok(openDescriptors() - before <= 0, `${round}: all closed`);
    }
  });
});
