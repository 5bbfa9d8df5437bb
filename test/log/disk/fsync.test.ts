// The fsync policies, observed through the operations the file system sees.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FaultyFs } from './faulty-fs.js';
import { openPersistent, payloadFor, tempDir } from './helpers.js';

const dataSyncs = (fs: FaultyFs) => fs.ops.filter((op) => op === 'sync:0000000001.dat').length;
const dataWrites = (fs: FaultyFs) => fs.ops.filter((op) => op === 'write:0000000001.dat').length;

describe('fsync policies', () => {
  test("'always': an append resolves only after its fsync; concurrent appends share one (group commit)", async () => {
    const fs = new FaultyFs();
    const { redex, file } = await openPersistent(tempDir(), { fsync: 'always' }, { fs });
    const baseline = dataSyncs(fs);
    const resolvedAfterSyncs: number[] = [];
    const seqs = await Promise.all(
      Array.from({ length: 64 }, (_, i) =>
        file.append(payloadFor(i)).then((seq) => {
          resolvedAfterSyncs.push(dataSyncs(fs) - baseline);
          return seq;
        }),
      ),
    );
    assert.deepEqual(
      seqs,
      Array.from({ length: 64 }, (_, i) => i),
    );
    assert.ok(
      resolvedAfterSyncs.every((syncs) => syncs >= 1),
      'no append resolved before an fsync',
    );
    const syncs = dataSyncs(fs) - baseline;
    assert.ok(syncs >= 1 && syncs <= 2, `64 concurrent appends took ${syncs} fsyncs`);
    assert.ok(dataWrites(fs) <= 2, 'and at most two data writes');
    await redex.close();
  });

  test("'always': sequential appends fsync each time", async () => {
    const fs = new FaultyFs();
    const { redex, file } = await openPersistent(tempDir(), { fsync: 'always' }, { fs });
    const baseline = dataSyncs(fs);
    for (let i = 0; i < 5; i++) await file.append(payloadFor(i));
    assert.equal(dataSyncs(fs) - baseline, 5);
    await redex.close();
  });

  test("'never': no fsync until sync() or close()", async () => {
    const fs = new FaultyFs();
    const { redex, file } = await openPersistent(tempDir(), { fsync: 'never' }, { fs });
    const baseline = dataSyncs(fs);
    for (let i = 0; i < 100; i++) await file.append(payloadFor(i));
    assert.equal(dataSyncs(fs) - baseline, 0);
    await file.sync();
    assert.equal(dataSyncs(fs) - baseline, 1);
    await file.append(payloadFor(100));
    await redex.close();
    assert.equal(dataSyncs(fs) - baseline, 2, 'close flushes what is dirty');
  });

  test('{ everyN: 10 }: one fsync per 10 events', async () => {
    const fs = new FaultyFs();
    const { redex, file } = await openPersistent(tempDir(), { fsync: { everyN: 10 } }, { fs });
    const baseline = dataSyncs(fs);
    for (let i = 0; i < 25; i++) await file.append(payloadFor(i));
    assert.equal(dataSyncs(fs) - baseline, 2);
    await file.appendBatch(Array.from({ length: 12 }, (_, i) => payloadFor(i)));
    assert.equal(dataSyncs(fs) - baseline, 3);
    await redex.close();
  });

  test('{ intervalMs: 100 }: one fsync 100 ms (virtual) after the first unsynced write', async () => {
    const fs = new FaultyFs();
    const { redex, file, clock } = await openPersistent(
      tempDir(),
      { fsync: { intervalMs: 100 } },
      { fs },
    );
    const baseline = dataSyncs(fs);
    for (let i = 0; i < 3; i++) await file.append(payloadFor(i));
    await clock.advance(99);
    assert.equal(dataSyncs(fs) - baseline, 0);
    await clock.advance(1);
    assert.equal(dataSyncs(fs) - baseline, 1);
    await clock.advance(1000);
    assert.equal(dataSyncs(fs) - baseline, 1, 'nothing new, no fsync');
    await file.append(payloadFor(3));
    await clock.advance(100);
    assert.equal(dataSyncs(fs) - baseline, 2);
    await redex.close();
  });

  test('{ intervalMs, maxBytes }: whichever comes first', async () => {
    const fs = new FaultyFs();
    const { redex, file, clock } = await openPersistent(
      tempDir(),
      { fsync: { intervalMs: 10_000, maxBytes: 1000 } },
      { fs },
    );
    const baseline = dataSyncs(fs);
    // Each record is 24 + 300 = 324 bytes: the fourth crosses 1000.
    for (let i = 0; i < 3; i++) await file.append(payloadFor(i, 300));
    assert.equal(dataSyncs(fs) - baseline, 0);
    await file.append(payloadFor(3, 300));
    assert.equal(dataSyncs(fs) - baseline, 1);
    await file.append(payloadFor(4, 10));
    await clock.advance(10_000);
    assert.equal(dataSyncs(fs) - baseline, 2);
    await redex.close();
  });

  test('close is idempotent and flushes appends still queued', async () => {
    const dir = tempDir();
    const { redex, file } = await openPersistent(dir, { fsync: 'never' });
    const pending = [file.append(payloadFor(0)), file.append(payloadFor(1))];
    const closing = [file.close(), file.close(), redex.close()];
    assert.deepEqual(await Promise.all(pending), [0, 1]);
    await Promise.all(closing);
    await assert.rejects(file.append(payloadFor(2)), { code: 'CLOSED' });
    const reopened = await openPersistent(dir);
    assert.equal(reopened.file.nextSeq, 2);
    await reopened.redex.close();
  });
});
