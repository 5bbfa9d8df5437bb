import assert from 'node:assert/strict';
import {
  appendFileSync,
  existsSync,
  readdirSync,
  readFileSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  FILE_HEADER_BYTES,
  INDEX_ENTRY_BYTES,
  RECORD_HEADER_BYTES,
  readIndexEntry,
  writeIndexEntry,
} from '../../../src/log/disk/format.js';
import { CorruptError, RedexErrorCode } from '../../../src/log/errors.js';
import { Redex } from '../../../src/log/redex.js';
import { CHANNEL, openPersistent, payloadFor, readAll, storeDir, tempDir } from './helpers.js';

const DATA = '0000000001.dat';
const INDEX = '0000000001.idx';

async function writeEvents(dir: string, count: number, config = {}): Promise<Uint8Array[]> {
  const { redex, file } = await openPersistent(dir, config);
  const payloads = Array.from({ length: count }, (_, i) => payloadFor(i));
  for (const payload of payloads.slice(0, count >> 1)) await file.append(payload);
  await file.appendBatch(payloads.slice(count >> 1));
  await redex.close();
  return payloads;
}

describe('persistent files: reopen', () => {
  test('payloads (empty ones too) and timestamps round trip; appends continue at the next seq', async () => {
    const dir = tempDir();
    const { redex, file, clock } = await openPersistent(dir);
    await file.append(new Uint8Array(0));
    await clock.advance(1234);
    await file.appendBatch([payloadFor(1), new Uint8Array(0), payloadFor(3, 70_000)]);
    const before = await file.readRange(0, 10);
    await redex.close();

    const reopened = await openPersistent(dir);
    assert.equal(reopened.file.nextSeq, 4);
    assert.equal(reopened.file.firstSeq, 0);
    const after = await reopened.file.readRange(0, 10);
    assert.deepEqual(
      after.map((event) => [event.seq, event.payload.byteLength, event.timestampNs]),
      before.map((event) => [event.seq, event.payload.byteLength, event.timestampNs]),
    );
    assert.deepEqual(after[3]!.payload, payloadFor(3, 70_000));
    assert.equal(after[1]!.timestampNs - after[0]!.timestampNs, 1_234_000_000n);
    assert.equal(await reopened.file.append(payloadFor(4)), 4);
    reopened.file.assertInvariants();
    await reopened.redex.close();
  });

  test('reads past the cache come from disk and match', async () => {
    const dir = tempDir();
    const { redex, file } = await openPersistent(dir, { cacheBytes: 1000 });
    const payloads = Array.from({ length: 200 }, (_, i) => payloadFor(i));
    for (const payload of payloads) await file.append(payload);
    const events = await file.readRange(0, 200);
    assert.deepEqual(
      events.map((event) => event.payload),
      payloads,
    );
    assert.deepEqual((await file.readOne(3))?.payload, payloads[3]);
    const limited = await file.readRangeLimited(10, 200, 1000, 12);
    assert.ok(limited.length > 1 && limited.length < 190);
    assert.equal(limited[0]!.seq, 10);
    await redex.close();
  });

  test('a tail backfills from disk, then goes live, in order', async () => {
    const dir = tempDir();
    const payloads = await writeEvents(dir, 150);
    const { redex, file } = await openPersistent(dir, { cacheBytes: 0 });
    const tail = file.tail();
    const seen: number[] = [];
    const consumer = (async () => {
      for await (const event of tail) {
        assert.deepEqual(
          event.payload,
          event.seq < 150 ? payloads[event.seq] : payloadFor(event.seq),
        );
        seen.push(event.seq);
        if (event.seq === 159) break;
      }
    })();
    for (let i = 150; i < 160; i++) await file.append(payloadFor(i));
    await consumer;
    assert.deepEqual(
      seen,
      Array.from({ length: 160 }, (_, i) => i),
    );
    await redex.close();
  });

  test('skipTo is durable', async () => {
    const dir = tempDir();
    await writeEvents(dir, 10);
    const first = await openPersistent(dir);
    await first.file.skipTo(100);
    assert.equal(first.file.nextSeq, 100);
    assert.equal(first.file.firstSeq, null);
    await first.redex.close();
    const second = await openPersistent(dir);
    assert.equal(second.file.nextSeq, 100);
    assert.equal(second.file.firstSeq, null);
    assert.equal(await second.file.append(payloadFor(100)), 100);
    await second.file.skipTo(50); // no-op
    assert.equal(second.file.nextSeq, 101);
    await second.redex.close();
    const third = await openPersistent(dir);
    assert.deepEqual(
      (await readAll(third.file)).map((event) => event.seq),
      [100],
    );
    await third.redex.close();
  });

  test('retention survives a restart; a big eviction compacts into a new generation', async () => {
    const dir = tempDir();
    const { redex, file } = await openPersistent(dir, { retention: { maxEvents: 5 } });
    for (let i = 0; i < 40; i++) await file.append(payloadFor(i, 100_000));
    assert.equal(await file.sweepRetention(), 35);
    const names = readdirSync(storeDir(dir)).sort();
    assert.deepEqual(names, ['0000000002.dat', '0000000002.idx', 'MANIFEST']);
    assert.ok(statSync(join(storeDir(dir), '0000000002.dat')).size < 6 * 100_100);
    assert.equal(await file.append(payloadFor(40, 10)), 40);
    file.assertInvariants();
    await redex.close();
    const reopened = await openPersistent(dir, { retention: { maxEvents: 5 } });
    assert.equal(reopened.file.firstSeq, 35);
    const events = await readAll(reopened.file);
    assert.deepEqual(
      events.map((event) => event.seq),
      [35, 36, 37, 38, 39, 40],
    );
    assert.deepEqual(events[0]!.payload, payloadFor(35, 100_000));
    await reopened.redex.close();
  });

  test('a small eviction only moves the floor in the manifest', async () => {
    const dir = tempDir();
    const { redex, file } = await openPersistent(dir, { retention: { maxEvents: 8 } });
    for (let i = 0; i < 10; i++) await file.append(payloadFor(i));
    assert.equal(await file.sweepRetention(), 2);
    assert.ok(existsSync(join(storeDir(dir), DATA)), 'no compaction for 2 small events');
    await redex.close();
    const reopened = await openPersistent(dir, { retention: { maxEvents: 8 } });
    assert.equal(reopened.file.firstSeq, 2);
    assert.equal(reopened.file.len, 8);
    await reopened.redex.close();
  });

  test('channels nest without colliding with each other or with internal files', async () => {
    const dir = tempDir();
    const redex = new Redex({ dir });
    const names = [
      'orders',
      'orders/audit',
      'orders/0000000001.dat',
      'orders/manifest',
      'orders/redex',
    ];
    for (const name of names) {
      const file = await redex.openFile(name, { persistent: true });
      await file.append(new TextEncoder().encode(name));
    }
    await redex.close();
    const again = new Redex({ dir });
    for (const name of names) {
      const file = await again.openFile(name, { persistent: true });
      assert.equal(file.nextSeq, 1, name);
      assert.equal(new TextDecoder().decode((await file.readOne(0))!.payload), name);
    }
    await again.close();
  });

  test('closeAndUnlinkFile deletes the files and the directories it leaves empty', async () => {
    const dir = tempDir();
    await writeEvents(dir, 3);
    writeFileSync(join(dir, 'orders', 'keep-me.txt'), 'not ours');
    const redex = new Redex({ dir });
    await redex.openFile(CHANNEL, { persistent: true });
    await redex.closeAndUnlinkFile(CHANNEL);
    assert.equal(existsSync(join(dir, 'orders', 'audit')), false);
    assert.equal(readFileSync(join(dir, 'orders', 'keep-me.txt'), 'utf8'), 'not ours');
    const fresh = await redex.openFile(CHANNEL, { persistent: true });
    assert.equal(fresh.nextSeq, 0);
    await redex.close();
  });
});

describe('persistent files: recovery', () => {
  test('garbage appended to the data file is cut off', async () => {
    const dir = tempDir();
    const payloads = await writeEvents(dir, 20);
    const dataPath = join(storeDir(dir), DATA);
    const goodSize = statSync(dataPath).size;
    appendFileSync(dataPath, Buffer.from('this is not a record, just garbage bytes'.repeat(5)));
    const { redex, file } = await openPersistent(dir);
    assert.equal(file.nextSeq, 20);
    assert.deepEqual(
      (await readAll(file)).map((event) => event.payload),
      payloads,
    );
    assert.equal(statSync(dataPath).size, goodSize);
    assert.equal(await file.append(payloadFor(20)), 20);
    await redex.close();
  });

  test('garbage appended to the index file is cut off', async () => {
    const dir = tempDir();
    await writeEvents(dir, 20);
    const indexPath = join(storeDir(dir), INDEX);
    appendFileSync(indexPath, Buffer.alloc(100, 0xab));
    const { redex, file } = await openPersistent(dir);
    assert.equal(file.nextSeq, 20);
    assert.equal(statSync(indexPath).size, FILE_HEADER_BYTES + 20 * INDEX_ENTRY_BYTES);
    await redex.close();
  });

  test('a 7-byte torn tail of the index: the missing entry is rebuilt from the data', async () => {
    const dir = tempDir();
    const payloads = await writeEvents(dir, 20);
    const indexPath = join(storeDir(dir), INDEX);
    truncateSync(indexPath, statSync(indexPath).size - 7);
    const { redex, file } = await openPersistent(dir);
    assert.equal(file.nextSeq, 20);
    assert.deepEqual(
      (await readAll(file)).map((event) => event.payload),
      payloads,
    );
    assert.equal(statSync(indexPath).size, FILE_HEADER_BYTES + 20 * INDEX_ENTRY_BYTES);
    await redex.close();
  });

  test('an index lost entirely past the header is rebuilt from the data', async () => {
    const dir = tempDir();
    const payloads = await writeEvents(dir, 50);
    truncateSync(join(storeDir(dir), INDEX), FILE_HEADER_BYTES);
    const { redex, file } = await openPersistent(dir);
    assert.deepEqual(
      (await readAll(file)).map((event) => event.payload),
      payloads,
    );
    await redex.close();
  });

  test('records re-indexed before a torn tail in the same read are kept (an index lost, then a torn data tail)', async () => {
    const dir = tempDir();
    const payloads = await writeEvents(dir, 10);
    truncateSync(join(storeDir(dir), INDEX), FILE_HEADER_BYTES);
    const dataPath = join(storeDir(dir), DATA);
    truncateSync(dataPath, statSync(dataPath).size - 3);
    const { redex, file } = await openPersistent(dir);
    assert.equal(file.nextSeq, 9);
    assert.deepEqual(
      (await readAll(file)).map((event) => event.payload),
      payloads.slice(0, 9),
    );
    await redex.close();
  });

  test('a torn data tail (the last record half written) is cut back; the next seq follows the last good record', async () => {
    const dir = tempDir();
    const payloads = await writeEvents(dir, 10);
    const dataPath = join(storeDir(dir), DATA);
    truncateSync(dataPath, statSync(dataPath).size - 3);
    const { redex, file } = await openPersistent(dir);
    assert.equal(file.nextSeq, 9);
    assert.deepEqual(
      (await readAll(file)).map((event) => event.payload),
      payloads.slice(0, 9),
    );
    assert.equal(await file.append(payloadFor(99)), 9);
    await redex.close();
    const again = await openPersistent(dir);
    assert.deepEqual((await again.file.readOne(9))?.payload, payloadFor(99));
    await again.redex.close();
  });

  test('an index entry pointing past the data (data never reached the disk) is dropped', async () => {
    const dir = tempDir();
    await writeEvents(dir, 10);
    const indexPath = join(storeDir(dir), INDEX);
    const entry = new Uint8Array(INDEX_ENTRY_BYTES);
    writeIndexEntry(entry, 0, {
      dataOffset: statSync(join(storeDir(dir), DATA)).size,
      timestampNs: 1n,
      length: 5,
    });
    appendFileSync(indexPath, entry);
    const { redex, file } = await openPersistent(dir);
    assert.equal(file.nextSeq, 10);
    await redex.close();
  });

  test('a retention floor past the surviving records: the channel continues at the floor', async () => {
    const dir = tempDir();
    const { redex, file } = await openPersistent(dir, { retention: { maxEvents: 2 } });
    for (let i = 0; i < 10; i++) await file.append(payloadFor(i, 10));
    assert.equal(await file.sweepRetention(), 8);
    await redex.close();
    // The floor (8) reached the disk but the last records did not: keep only records 0..4.
    const index = readFileSync(join(storeDir(dir), INDEX));
    const fifth = readIndexEntry(index, FILE_HEADER_BYTES + 5 * INDEX_ENTRY_BYTES)!;
    truncateSync(join(storeDir(dir), DATA), fifth.dataOffset);
    const reopened = await openPersistent(dir, { retention: { maxEvents: 2 } });
    assert.equal(reopened.file.nextSeq, 8);
    assert.equal(reopened.file.firstSeq, null);
    assert.equal(await reopened.file.append(payloadFor(8)), 8);
    reopened.file.assertInvariants();
    await reopened.redex.close();
    const again = await openPersistent(dir, { retention: { maxEvents: 2 } });
    assert.deepEqual(
      (await readAll(again.file)).map((event) => event.seq),
      [8],
    );
    await again.redex.close();
  });

  test('a flipped payload byte: that record is never returned, the others are', async () => {
    const dir = tempDir();
    const payloads = await writeEvents(dir, 10);
    const dataPath = join(storeDir(dir), DATA);
    const data = readFileSync(dataPath);
    const index = readFileSync(join(storeDir(dir), INDEX));
    const entry = readIndexEntry(index, FILE_HEADER_BYTES + 4 * INDEX_ENTRY_BYTES)!;
    assert.ok(entry.length > 0);
    data[entry.dataOffset + RECORD_HEADER_BYTES + 1]! ^= 0x40;
    writeFileSync(dataPath, data);
    const { redex, file } = await openPersistent(dir);
    assert.equal(file.nextSeq, 10, 'a bad record in the middle is not a torn tail');
    await assert.rejects(file.readOne(4), (error: CorruptError) => {
      return error.code === RedexErrorCode.Corrupt && error.seq === 4 && error.path.endsWith(DATA);
    });
    await assert.rejects(file.readRange(0, 10), CorruptError);
    assert.deepEqual((await file.readOne(5))?.payload, payloads[5]);
    assert.deepEqual(
      (await file.readRange(5, 10)).map((event) => event.payload),
      payloads.slice(5),
    );
    await redex.close();
  });

  test('a foreign manifest is a CORRUPT error naming it, and nothing is deleted', async () => {
    const dir = tempDir();
    await writeEvents(dir, 5);
    const manifestPath = join(storeDir(dir), 'MANIFEST');
    writeFileSync(manifestPath, "hello, I am somebody else's file; please keep me");
    const redex = new Redex({ dir });
    await assert.rejects(redex.openFile(CHANNEL, { persistent: true }), (error: CorruptError) => {
      return (
        error.code === RedexErrorCode.Corrupt &&
        error.path === manifestPath &&
        /manifest magic/.test(error.message)
      );
    });
    assert.deepEqual(readdirSync(storeDir(dir)).sort(), [DATA, INDEX, 'MANIFEST']);
    assert.equal(
      readFileSync(manifestPath, 'utf8'),
      "hello, I am somebody else's file; please keep me",
    );
  });

  test('a foreign data file is a CORRUPT error naming it', async () => {
    const dir = tempDir();
    await writeEvents(dir, 5);
    const dataPath = join(storeDir(dir), DATA);
    writeFileSync(dataPath, Buffer.alloc(4096, 7));
    await assert.rejects(
      new Redex({ dir }).openFile(CHANNEL, { persistent: true }),
      (error: CorruptError) => {
        return error.code === RedexErrorCode.Corrupt && error.path === dataPath;
      },
    );
    assert.equal(statSync(dataPath).size, 4096);
  });

  test('a missing manifest next to data with records is refused, not overwritten', async () => {
    const dir = tempDir();
    await writeEvents(dir, 5);
    const store = storeDir(dir);
    const dataBefore = readFileSync(join(store, DATA));
    const { unlinkSync } = await import('node:fs');
    unlinkSync(join(store, 'MANIFEST'));
    await assert.rejects(
      new Redex({ dir }).openFile(CHANNEL, { persistent: true }),
      /is missing, but 0000000001.dat holds records/,
    );
    assert.deepEqual(readFileSync(join(store, DATA)), dataBefore);
  });

  test('a half-written later generation is ignored and removed', async () => {
    const dir = tempDir();
    const payloads = await writeEvents(dir, 5);
    const store = storeDir(dir);
    writeFileSync(join(store, '0000000002.dat'), Buffer.alloc(10, 1));
    writeFileSync(join(store, 'MANIFEST.tmp'), Buffer.alloc(3, 1));
    const { redex, file } = await openPersistent(dir);
    assert.deepEqual(
      (await readAll(file)).map((event) => event.payload),
      payloads,
    );
    assert.deepEqual(readdirSync(store).sort(), [DATA, INDEX, 'MANIFEST']);
    await redex.close();
  });

  test('unknown files in the store directory are left alone', async () => {
    const dir = tempDir();
    await writeEvents(dir, 2);
    writeFileSync(join(storeDir(dir), 'notes.txt'), 'mine');
    const { redex, file } = await openPersistent(dir);
    assert.equal(file.nextSeq, 2);
    await redex.close();
    assert.equal(readFileSync(join(storeDir(dir), 'notes.txt'), 'utf8'), 'mine');
  });

  test('index offsets are 64-bit: entries past 4 GiB round trip', () => {
    const bytes = new Uint8Array(INDEX_ENTRY_BYTES);
    const dataOffset = 5 * 2 ** 32 + 123;
    writeIndexEntry(bytes, 0, { dataOffset, timestampNs: -5n, length: 2 ** 32 - 1 });
    assert.deepEqual(readIndexEntry(bytes, 0), {
      dataOffset,
      timestampNs: -5n,
      length: 2 ** 32 - 1,
    });
    bytes[3]! ^= 1;
    assert.equal(readIndexEntry(bytes, 0), null);
  });
});
