// Zeros ahead of the data under `fsync: always`: written only once a file is busy, never read as
// records, cut at close and (quietly) at recovery after a crash, and harmless when they fail.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { DiskLog } from '../../../src/log/disk/disk-log.js';
import { type FileSystem, type FsFile, nodeFileSystem } from '../../../src/log/disk/fs.js';
import {
  ZERO_FILL_AFTER_GROUPS,
  ZERO_FILL_STEP_MAX,
  ZERO_FILL_STEP_MIN,
  ZeroedTail,
} from '../../../src/log/disk/zero-fill.js';
import { VirtualClock } from '../../../src/time/virtual-clock.js';
import { payloadFor, tempDir } from './helpers.js';

async function openLog(dir: string, fs: FileSystem = nodeFileSystem): Promise<DiskLog> {
  return DiskLog.open({
    fs,
    clock: new VirtualClock(),
    dir,
    channel: 'orders',
    fsync: 'always',
    cacheBytes: 1 << 20,
    onChange: () => {},
  });
}

function dataFile(dir: string): string {
  const name = readdirSync(dir).find((n) => n.endsWith('.dat'));
  assert.ok(name !== undefined, 'a data file exists');
  return join(dir, name);
}

/** Appends `count` events one group at a time (each waits for its fsync). */
async function appendEach(log: DiskLog, from: number, count: number): Promise<void> {
  for (let i = from; i < from + count; i++) await log.append([payloadFor(i, 200)], BigInt(i), null);
}

async function payloads(log: DiskLog): Promise<number[][]> {
  return (await log.readEvents(0, log.nextSeq)).map((e) => [...e.payload]);
}

const expected = (count: number) =>
  Array.from({ length: count }, (_, i) => [...payloadFor(i, 200)]);

describe('zero fill ahead of the data (DiskLog, fsync always)', () => {
  test('a busy file gets zeros past its data; reads see the records only; close cuts them', async () => {
    const dir = tempDir();
    const log = await openLog(dir);
    await appendEach(log, 0, ZERO_FILL_AFTER_GROUPS - 2);
    const path = dataFile(dir);
    const dataBytes = statSync(path).size;
    await appendEach(log, ZERO_FILL_AFTER_GROUPS - 2, 4);
    const size = statSync(path).size;
    assert.ok(size >= dataBytes + ZERO_FILL_STEP_MIN, `zeros were written (${size} bytes)`);
    const tail = readFileSync(path).subarray(dataBytes + 4 * (24 + 200));
    assert.ok(
      tail.every((b) => b === 0),
      'everything past the records is zero',
    );
    log.assertInvariants();
    assert.deepEqual(await payloads(log), expected(ZERO_FILL_AFTER_GROUPS + 2));
    await log.close();
    assert.equal(statSync(path).size, dataBytes + 4 * (24 + 200), 'close cut the zeros');
    const again = await openLog(dir);
    assert.deepEqual(again.repairs, []);
    assert.deepEqual(await payloads(again), expected(ZERO_FILL_AFTER_GROUPS + 2));
    await again.close();
  });

  test('a file that appends rarely keeps no zeros', async () => {
    const dir = tempDir();
    const log = await openLog(dir);
    await appendEach(log, 0, ZERO_FILL_AFTER_GROUPS - 1);
    const path = dataFile(dir);
    assert.equal(statSync(path).size, 32 + (ZERO_FILL_AFTER_GROUPS - 1) * (24 + 200));
    await log.close();
  });

  test('after a crash the zeros are cut without a repair; a torn record before them is one', async () => {
    const dir = tempDir();
    const log = await openLog(dir);
    await appendEach(log, 0, ZERO_FILL_AFTER_GROUPS + 3);
    const path = dataFile(dir);
    const recordsEnd = 32 + (ZERO_FILL_AFTER_GROUPS + 3) * (24 + 200);
    assert.ok(statSync(path).size > recordsEnd);
    // A crash: the process is gone without close (the descriptors are dropped with the test).
    const copy = readFileSync(path);
    const reopened = await openLog(dir);
    assert.deepEqual(reopened.repairs, [], 'zeros are not a torn tail');
    assert.equal(statSync(path).size, recordsEnd);
    assert.deepEqual(await payloads(reopened), expected(ZERO_FILL_AFTER_GROUPS + 3));
    await reopened.close();

    // The same file with half a record written into the zeros: that is a torn tail.
    const torn = Buffer.from(copy);
    torn.fill(0xab, recordsEnd, recordsEnd + 30);
    writeFileSync(path, torn);
    const repaired = await openLog(dir);
    assert.equal(repaired.repairs.length, 1, repaired.repairs.join('; '));
    assert.match(repaired.repairs[0]!, /torn tail/);
    assert.equal(statSync(path).size, recordsEnd);
    assert.deepEqual(await payloads(repaired), expected(ZERO_FILL_AFTER_GROUPS + 3));
    await repaired.close();
  });

  test('a failed zero write fails no append and stops zero-filling that file', async () => {
    const dir = tempDir();
    let zeroWritesFailed = 0;
    const fs: FileSystem = {
      ...nodeFileSystem,
      open: async (path, mode) => {
        const file = await nodeFileSystem.open(path, mode);
        if (!path.endsWith('.dat')) return file;
        const failing: FsFile = {
          write: async (data, position) => {
            if (data.byteLength >= ZERO_FILL_STEP_MIN && data.every((b) => b === 0)) {
              zeroWritesFailed++;
              throw Object.assign(new Error('injected ENOSPC'), { code: 'ENOSPC' });
            }
            return file.write(data, position);
          },
          writev: (buffers, position) => file.writev(buffers, position),
          read: (into, position) => file.read(into, position),
          size: () => file.size(),
          truncate: (size) => file.truncate(size),
          sync: () => file.sync(),
          close: () => file.close(),
        };
        return failing;
      },
    };
    const log = await openLog(dir, fs);
    await appendEach(log, 0, ZERO_FILL_AFTER_GROUPS * 3);
    assert.equal(zeroWritesFailed, 1, 'tried once, then stopped');
    assert.deepEqual(await payloads(log), expected(ZERO_FILL_AFTER_GROUPS * 3));
    log.assertInvariants();
    await log.close();
    const again = await openLog(dir);
    assert.deepEqual(await payloads(again), expected(ZERO_FILL_AFTER_GROUPS * 3));
    await again.close();
  });
});

describe('ZeroedTail (the policy)', () => {
  test('zeros start after the group threshold, stay ahead of the data, steps double to the max', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 3 * ZERO_FILL_STEP_MAX }), { maxLength: 300 }),
        (groups) => {
          const tail = new ZeroedTail(32);
          let dataEnd = 32;
          let lastStep = 0;
          for (const [i, bytes] of groups.entries()) {
            dataEnd += bytes;
            const plan = tail.plan(dataEnd);
            if (i + 1 < ZERO_FILL_AFTER_GROUPS) assert.equal(plan, null);
            if (plan !== null) {
              assert.ok(plan.from >= dataEnd, 'zeros never overwrite the data');
              assert.ok(
                plan.from === dataEnd || plan.from === tail.fileEnd,
                'no gap after the file',
              );
              assert.ok(plan.bytes >= ZERO_FILL_STEP_MIN && plan.bytes <= ZERO_FILL_STEP_MAX);
              assert.ok(plan.bytes >= lastStep, 'steps do not shrink');
              lastStep = plan.bytes;
            }
            tail.wrote(dataEnd, plan);
            tail.assertInvariants(dataEnd);
            assert.ok(tail.fileEnd - dataEnd <= ZERO_FILL_STEP_MAX, 'at most one step of zeros');
            if (plan !== null)
              assert.ok(tail.fileEnd - dataEnd >= plan.bytes, 'a whole step ahead');
          }
        },
      ),
    );
  });
});
