// The index is a hint fsynced lazily: under fsync 'always' a group costs one fsync (the data
// file's), and recovery rebuilds from the data whatever part of the index a power cut lost or tore.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DiskLog, INDEX_SYNC_LAG_BYTES } from '../../../src/log/disk/disk-log.js';
import { MemoryFileSystem } from '../../../src/log/disk/memory-fs.js';
import { Redex } from '../../../src/log/redex.js';
import { VirtualClock } from '../../../src/time/virtual-clock.js';
import { FaultyFs } from './faulty-fs.js';
import { openPersistent, payloadFor, tempDir } from './helpers.js';

const syncsOf = (fs: FaultyFs, name: string) => fs.ops.filter((op) => op === `sync:${name}`).length;
const DATA = '0000000001.dat';
const INDEX = '0000000001.idx';

async function openOn(fs: MemoryFileSystem | FaultyFs) {
  const redex = new Redex({ dir: '/data', fs, clock: new VirtualClock() });
  return { redex, file: await redex.openFile('lazy/index', { persistent: true, fsync: 'always' }) };
}

/** The log body itself, to see what recovery repaired. */
async function openLog(fs: MemoryFileSystem | FaultyFs): Promise<DiskLog> {
  return DiskLog.open({
    fs,
    clock: new VirtualClock(),
    dir: '/log',
    channel: 'lazy/index',
    fsync: 'always',
    cacheBytes: 1 << 20,
    onChange: () => {},
  });
}

const appendOne = (log: DiskLog, payload: Uint8Array) => log.append([payload], 0n, null);

async function readLog(log: DiskLog) {
  return (await log.readEvents(0, log.nextSeq)).map(({ seq, payload }) => ({ seq, payload }));
}

function assertPayloads(events: { seq: number; payload: Uint8Array }[], expected: Uint8Array[]) {
  assert.equal(events.length, expected.length);
  for (let seq = 0; seq < expected.length; seq++) {
    assert.equal(events[seq]!.seq, seq);
    assert.deepEqual(events[seq]!.payload, expected[seq], `payload of seq ${seq}`);
  }
}

describe('one fsync per group commit', () => {
  test("'always': each group fsyncs the data file once and the index not at all; close fsyncs the index", async () => {
    const fs = new FaultyFs();
    const { redex, file } = await openPersistent(tempDir(), { fsync: 'always' }, { fs });
    // A new store's first fsync makes all of it durable, the index too; the rule holds after it.
    await file.sync();
    const dataBefore = syncsOf(fs, DATA);
    const indexBefore = syncsOf(fs, INDEX);
    for (let i = 0; i < 20; i++) await file.append(payloadFor(i));
    assert.equal(syncsOf(fs, DATA) - dataBefore, 20, 'one data fsync per sequential append');
    await Promise.all(Array.from({ length: 64 }, (_, i) => file.append(payloadFor(i))));
    const groups = syncsOf(fs, DATA) - dataBefore - 20;
    assert.ok(groups >= 1 && groups <= 2, `64 concurrent appends took ${groups} data fsyncs`);
    assert.equal(syncsOf(fs, INDEX) - indexBefore, 0, 'no index fsync on the append path');
    await redex.close();
    assert.equal(syncsOf(fs, INDEX) - indexBefore, 1, 'close makes the index durable');
  });

  test('the index is fsynced along with a group once INDEX_SYNC_LAG_BYTES of data lag behind it', async () => {
    const fs = new FaultyFs(new MemoryFileSystem());
    const { redex, file } = await openOn(fs);
    await file.sync();
    const payload = new Uint8Array(64 << 10).fill(7);
    const perGroup = 16 * (24 + payload.byteLength);
    const groups = Math.ceil(INDEX_SYNC_LAG_BYTES / perGroup);
    const indexBefore = syncsOf(fs, INDEX);
    for (let group = 0; group < groups - 1; group++)
      await file.appendBatch(Array.from({ length: 16 }, () => payload));
    assert.equal(syncsOf(fs, INDEX) - indexBefore, 0);
    await file.appendBatch(Array.from({ length: 16 }, () => payload));
    assert.equal(syncsOf(fs, INDEX) - indexBefore, 1);
    await redex.close();
  });
});

describe('recovery rebuilds the index from the data', () => {
  const EVENTS = 200;
  const payloads = Array.from({ length: EVENTS }, (_, i) => payloadFor(i));

  async function appendAllThenPowerCut(keepIndex: (unsynced: number) => number) {
    const memory = new MemoryFileSystem();
    const file = await openLog(memory);
    await file.sync();
    // Sequential appends: 200 groups, each acknowledged after its data fsync only.
    for (const payload of payloads) await appendOne(file, payload);
    memory.crash((path, unsynced) => (path.endsWith('.idx') ? keepIndex(unsynced) : 0));
    return openLog(memory);
  }

  test('an index behind the data by every group since creation (power cut)', async () => {
    const file = await appendAllThenPowerCut(() => 0);
    assertPayloads(await readLog(file), payloads);
    assert.ok(
      file.repairs.some((repair) => /200 records past the index were re-indexed/.test(repair)),
    );
    file.assertInvariants();
    assert.equal(await appendOne(file, payloadFor(EVENTS)), EVENTS);
    await file.close();
  });

  test('an index torn inside an entry, at many cut points', async () => {
    for (const entries of [0, 1, 37, 150, 199]) {
      for (const extra of [0, 7, 23]) {
        const file = await appendAllThenPowerCut((unsynced) =>
          Math.min(unsynced, entries * 24 + extra),
        );
        assertPayloads(await readLog(file), payloads);
        file.assertInvariants();
        await file.close();
      }
    }
  });

  test('a rebuilt index is durable: a second power cut right after the reopen loses nothing', async () => {
    const memory = new MemoryFileSystem();
    {
      const file = await openLog(memory);
      for (const payload of payloads) await appendOne(file, payload);
      memory.crash(() => 0);
    }
    await openLog(memory);
    memory.crash(() => 0);
    const file = await openLog(memory);
    assertPayloads(await readLog(file), payloads);
    assert.deepEqual(file.repairs, [], 'the first recovery left nothing to repair');
    await file.close();
  });

  test('index fsynced lazily, then a power cut: records past the last index fsync are re-indexed', async () => {
    const memory = new MemoryFileSystem();
    const fs = new FaultyFs(memory);
    const file = await openLog(fs);
    const big = new Uint8Array(64 << 10);
    const expected: Uint8Array[] = [];
    let after = -1;
    // Up to one lazy index fsync, then five groups more.
    for (let group = 0; after < 5; group++) {
      const batch = Array.from({ length: 16 }, (_, i) => big.slice().fill((group * 16 + i) & 0xff));
      await file.append(batch, 0n, null);
      expected.push(...batch);
      if (after >= 0 || syncsOf(fs, INDEX) > 0) after++;
    }
    const rebuiltExpected = 5 * 16;
    memory.crash((path, unsynced) => (path.endsWith('.idx') ? Math.floor(unsynced / 3) : 0));
    const reopened = await openLog(memory);
    assertPayloads(await readLog(reopened), expected);
    const rebuilt = reopened.repairs
      .map((repair) => /^(\d+) records past the index/.exec(repair))
      .find((match) => match !== null);
    assert.ok(rebuilt !== undefined, `repairs: ${reopened.repairs.join('; ')}`);
    const count = Number(rebuilt![1]);
    assert.ok(
      count > 0 && count <= rebuiltExpected,
      `only the lagging part was rebuilt (${count})`,
    );
    reopened.assertInvariants();
    await reopened.close();
  });

  test('truncateFrom makes the index durable with the cut: appends after it survive a power cut', async () => {
    const memory = new MemoryFileSystem();
    const file = await openLog(memory);
    for (const payload of payloads) await appendOne(file, payload);
    await file.truncateFrom(120, () => {});
    const after = Array.from({ length: 30 }, (_, i) => payloadFor(1000 + i));
    for (const payload of after) await appendOne(file, payload);
    memory.crash((path, unsynced) => (path.endsWith('.idx') ? Math.floor(unsynced / 2) : 0));
    const reopened = await openLog(memory);
    assertPayloads(await readLog(reopened), [...payloads.slice(0, 120), ...after]);
    await reopened.close();
  });
});
