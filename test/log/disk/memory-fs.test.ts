import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MemoryFileSystem } from '../../../src/log/disk/memory-fs.js';
import { Redex } from '../../../src/log/redex.js';
import { VirtualClock } from '../../../src/time/virtual-clock.js';
import { payloadFor } from './helpers.js';

async function open(fs: MemoryFileSystem, fsync: 'never' | 'always') {
  const redex = new Redex({ dir: '/data', fs, clock: new VirtualClock() });
  return { redex, file: await redex.openFile('sim/log', { persistent: true, fsync }) };
}

describe('MemoryFileSystem', () => {
  test('a persistent channel round trips through it', async () => {
    const fs = new MemoryFileSystem();
    const first = await open(fs, 'never');
    for (let i = 0; i < 20; i++) await first.file.append(payloadFor(i));
    await first.redex.close();
    assert.deepEqual(fs.paths, [
      '/data/sim/log/@redex/0000000001.dat',
      '/data/sim/log/@redex/0000000001.idx',
      '/data/sim/log/@redex/MANIFEST',
    ]);
    const second = await open(fs, 'never');
    assert.equal(second.file.nextSeq, 20);
    assert.deepEqual((await second.file.readOne(7))?.payload, payloadFor(7));
    await second.redex.close();
  });

  test("a crash loses what was not fsynced ('never') and keeps what was ('always')", async () => {
    const lossy = new MemoryFileSystem();
    const a = await open(lossy, 'never');
    await a.file.append(payloadFor(0));
    await a.file.sync();
    for (let i = 1; i < 10; i++) await a.file.append(payloadFor(i));
    lossy.crash();
    await assert.rejects(
      a.file.append(payloadFor(10)),
      { code: 'IO' },
      'old handles are dead after a crash',
    );
    const reopenedLossy = await open(lossy, 'never');
    assert.equal(reopenedLossy.file.nextSeq, 1);

    const safe = new MemoryFileSystem();
    const b = await open(safe, 'always');
    for (let i = 0; i < 10; i++) await b.file.append(payloadFor(i));
    safe.crash();
    const reopenedSafe = await open(safe, 'always');
    assert.equal(reopenedSafe.file.nextSeq, 10);
  });

  test('a crash that keeps a torn prefix of unsynced bytes recovers to whole records', async () => {
    for (let keep = 0; keep < 400; keep += 7) {
      const fs = new MemoryFileSystem();
      const { file } = await open(fs, 'never');
      await file.append(payloadFor(0, 50));
      await file.sync();
      for (let i = 1; i < 5; i++) await file.append(payloadFor(i, 50));
      fs.crash((path, unsynced) => (path.endsWith('.dat') ? Math.min(keep, unsynced) : unsynced));
      const reopened = await open(fs, 'never');
      const expectedRecords = 1 + Math.min(4, Math.floor(keep / 74));
      assert.equal(reopened.file.nextSeq, expectedRecords, `kept ${keep} unsynced data bytes`);
      for (let seq = 0; seq < expectedRecords; seq++) {
        assert.deepEqual((await reopened.file.readOne(seq))?.payload, payloadFor(seq, 50));
      }
      reopened.file.assertInvariants();
    }
  });
});
