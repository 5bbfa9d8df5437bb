// Ship before fsync: a replicated leader's group is published to the replication layer once
// written, while its fsync runs; it becomes visible locally (and its appends resolve) only once
// fsynced; a failed fsync keeps it published and turns the file read-only with an outcome unknown.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DiskLog } from '../../../src/log/disk/disk-log.js';
import { IoError } from '../../../src/log/errors.js';
import { VirtualClock } from '../../../src/time/virtual-clock.js';
import { GatedFs } from './gated-fs.js';

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (payload: Uint8Array) => new TextDecoder().decode(payload);

async function openLog(fs: GatedFs, onChange: () => void = () => {}): Promise<DiskLog> {
  const log = await DiskLog.open({
    fs,
    clock: new VirtualClock(),
    dir: '/data/orders/@redex',
    channel: 'orders',
    fsync: 'always',
    cacheBytes: 1 << 20,
    onChange,
  });
  // The store's first fsync (its creation) out of the way: the gate then holds appends only.
  await log.sync();
  return log;
}

/** Lets every pending promise callback run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('ship before fsync (DiskLog)', () => {
  test('a shipEarly group is published before its fsync and visible only after it', async () => {
    const fs = new GatedFs();
    let changes = 0;
    const log = await openLog(fs, () => changes++);
    let written = 0;
    log.setWrittenListener(() => written++);
    await log.append([bytes('a')], 1n, null, null, true);
    changes = 0;
    written = 0;

    fs.hold('sync');
    let resolved: number | null | undefined;
    const pending = log.append([bytes('b'), bytes('c')], 2n, null, null, true).then((seq) => {
      resolved = seq;
    });
    await settle();
    assert.equal(written, 1, 'the listener hears of the group before its fsync');
    assert.equal(log.writtenNextSeq, 3);
    assert.equal(log.nextSeq, 1, 'not visible before its fsync');
    assert.equal(log.count, 1);
    assert.deepEqual(
      (await log.readEvents(0, 3)).map((e) => text(e.payload)),
      ['a'],
    );
    assert.deepEqual(
      (await log.written.readEvents(0, 3)).map((e) => [e.seq, text(e.payload)]),
      [
        [0, 'a'],
        [1, 'b'],
        [2, 'c'],
      ],
    );
    assert.equal(log.written.firstSeq, 0);
    assert.equal(resolved, undefined, 'the append waits for its fsync');
    assert.equal(changes, 0, 'tails are not woken before the fsync');
    log.assertInvariants();

    fs.release();
    await pending;
    assert.equal(resolved, 1);
    assert.equal(log.nextSeq, 3);
    assert.equal(log.count, 3);
    assert.equal(changes, 1);
    assert.deepEqual(
      (await log.readEvents(0, 3)).map((e) => text(e.payload)),
      ['a', 'b', 'c'],
    );
    log.assertInvariants();
    await log.close();
  });

  test('without shipEarly (or without a listener) a group is published after its fsync, as before', async () => {
    for (const withListener of [false, true]) {
      const fs = new GatedFs();
      const log = await openLog(fs);
      let written = 0;
      if (withListener) log.setWrittenListener(() => written++);
      fs.hold('sync');
      const pending = log.append([bytes('a')], 1n, null, null, !withListener);
      await settle();
      assert.equal(log.writtenNextSeq, 0, `listener ${withListener}`);
      assert.equal(written, 0);
      fs.release();
      assert.equal(await pending, 0);
      assert.equal(log.writtenNextSeq, 1);
      await log.close();
    }
  });

  test('a failed fsync of shipped groups: outcome unknown, still shipped, read-only, never visible', async () => {
    const fs = new GatedFs();
    const log = await openLog(fs);
    log.setWrittenListener(() => {});
    await log.append([bytes('a')], 1n, null, null, true);

    fs.hold('sync');
    const failed = log.append([bytes('b')], 2n, null, null, true);
    await settle();
    // Written and shipped while the first fsync runs; the next fsync would cover it.
    const next = log.append([bytes('c')], 3n, null, null, true);
    await settle();
    assert.equal(log.writtenNextSeq, 3);
    fs.failHeld(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }));
    for (const append of [failed, next]) {
      await assert.rejects(append, (error: unknown) => {
        assert.ok(error instanceof IoError);
        assert.match(error.message, /outcome unknown/);
        assert.equal(error.readOnly, true);
        return true;
      });
    }
    assert.ok(log.readOnly !== null);
    assert.equal(log.nextSeq, 1, 'the groups never become visible here');
    assert.equal(log.writtenNextSeq, 3, 'they stay what the leader offered its replicas');
    assert.deepEqual(
      (await log.written.readEvents(1, 3)).map((e) => text(e.payload)),
      ['b', 'c'],
      'a replica may still fetch them',
    );
    log.assertInvariants();
    await assert.rejects(log.append([bytes('d')], 4n, null, null, true), IoError);
  });

  test('groups are written and shipped while an fsync runs; one later fsync covers them, in order', async () => {
    const fs = new GatedFs();
    const log = await openLog(fs);
    let written = 0;
    log.setWrittenListener(() => written++);
    fs.hold('sync');
    const first = log.append([bytes('a')], 1n, null, null, true);
    await settle();
    const second = log.append([bytes('b')], 2n, null, null, true);
    await settle();
    const third = log.append([bytes('c')], 3n, null, null, true);
    await settle();
    assert.equal(log.writtenNextSeq, 3, 'each group is written without waiting for the fsync');
    assert.equal(written, 3);
    assert.equal(log.nextSeq, 0);
    log.assertInvariants();
    // Anything else waits for the fsyncs in flight: a truncation must not cut under them.
    let truncated = false;
    const truncation = log
      .truncateFrom(2, () => {})
      .then((removed) => {
        truncated = true;
        return removed;
      });
    await settle();
    assert.equal(truncated, false);
    fs.release();
    assert.deepEqual(await Promise.all([first, second, third]), [0, 1, 2]);
    assert.equal(await truncation, 1);
    assert.equal(log.nextSeq, 2);
    log.assertInvariants();
    await log.close();
  });
});
