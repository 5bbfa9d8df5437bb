// Sequential disk readers get a read-ahead: reads that go on where the last one ended are served
// from one large verified disk read; a truncation makes every window stale.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DiskLog } from '../../../src/log/disk/disk-log.js';
import type { FileSystem, FsFile } from '../../../src/log/disk/fs.js';
import { MemoryFileSystem } from '../../../src/log/disk/memory-fs.js';
import { READ_AHEAD_BYTES } from '../../../src/log/disk/read-ahead.js';
import { VirtualClock } from '../../../src/time/virtual-clock.js';
import { payloadFor } from './helpers.js';

/** Counts reads of data files. */
class CountingFs extends MemoryFileSystem {
  dataReads = 0;

  override async open(path: string, mode: 'read' | 'readwrite' | 'create'): Promise<FsFile> {
    const file = await super.open(path, mode);
    if (!path.endsWith('.dat')) return file;
    const read = file.read.bind(file);
    file.read = (into, position) => {
      this.dataReads++;
      return read(into, position);
    };
    return file;
  }
}

function openLog(fs: FileSystem): Promise<DiskLog> {
  return DiskLog.open({
    fs,
    clock: new VirtualClock(),
    dir: '/log',
    channel: 'read/ahead',
    fsync: 'never',
    cacheBytes: 64 << 10,
    onChange: () => {},
  });
}

const SIZE = 200;
const EVENTS = Math.ceil((3 * READ_AHEAD_BYTES) / (24 + SIZE));

async function readPages(log: DiskLog, from: number, to: number, page: number) {
  const events = [];
  for (let seq = from; seq < to; seq += page)
    events.push(...(await log.readEvents(seq, Math.min(to, seq + page))));
  return events;
}

test('a sequential reader reads the disk once per READ_AHEAD_BYTES, and gets every payload right', async () => {
  const fs = new CountingFs();
  const log = await openLog(fs);
  for (let seq = 0; seq < EVENTS; seq += 500) {
    const count = Math.min(500, EVENTS - seq);
    await log.append(
      Array.from({ length: count }, (_, i) => payloadFor(seq + i, SIZE)),
      0n,
      null,
    );
  }
  const onDisk = EVENTS - Math.floor((64 << 10) / SIZE);
  const before = fs.dataReads;
  const events = await readPages(log, 0, onDisk, 100);
  const reads = fs.dataReads - before;
  // The first page is read alone; every later disk read covers READ_AHEAD_BYTES.
  assert.ok(reads <= 5, `${reads} disk reads for ${onDisk} events in pages of 100`);
  assert.equal(events.length, onDisk);
  events.forEach((event, seq) => {
    assert.equal(event.seq, seq);
    assert.deepEqual(event.payload, payloadFor(seq, SIZE));
  });
  // A reader that jumps around gets no read-ahead: one read each.
  const jumping = fs.dataReads;
  await log.readEvents(onDisk - 10, onDisk - 5);
  await log.readEvents(7, 9);
  assert.ok(fs.dataReads - jumping <= 2);
  await log.close();
});

test('a truncation makes read-ahead windows stale: rewritten seqs read back their new payloads', async () => {
  const fs = new CountingFs();
  const log = await openLog(fs);
  const total = 4000;
  await log.append(
    Array.from({ length: total }, (_, i) => payloadFor(i, SIZE)),
    0n,
    null,
  );
  // Fill the windows around seq 1000.
  await readPages(log, 0, 1500, 100);
  await log.truncateFrom(1000, () => {});
  await log.append(
    Array.from({ length: total - 1000 }, (_, i) => payloadFor(50_000 + i, SIZE)),
    0n,
    null,
  );
  const events = await readPages(log, 900, 1500, 100);
  events.forEach((event, index) => {
    const seq = 900 + index;
    assert.equal(event.seq, seq);
    assert.deepEqual(
      event.payload,
      seq < 1000 ? payloadFor(seq, SIZE) : payloadFor(50_000 + seq - 1000, SIZE),
      `seq ${seq}`,
    );
  });
  log.assertInvariants();
  await log.close();
});
