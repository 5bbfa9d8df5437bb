// A replicated file as the log sees it, through a fake replication hook: reads and tails show
// committed events by default, an uncommitted tail ends with TRUNCATED when the log is cut under
// it, and retention never evicts what is not committed.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RedexErrorCode } from '../../src/log/errors.js';
import { Redex } from '../../src/log/redex.js';
import type { FileReplication, RedexFile } from '../../src/log/redex-file.js';
import { VirtualClock } from '../../src/time/virtual-clock.js';

const enc = new TextEncoder();

function fakeReplication(): FileReplication & { commitSeq: number } {
  return {
    commitSeq: 0,
    beginWrite: () => ({ precondition: () => true, acknowledge: () => Promise.resolve() }),
    appended: () => {},
    waitForReplicas: () => Promise.resolve(),
    waitForCommit: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}

async function open(retention?: { maxEvents: number }) {
  const redex = new Redex({ clock: new VirtualClock() });
  const file: RedexFile = await redex.openFile('c/log', retention ? { retention } : {});
  const replication = fakeReplication();
  file.attachReplication(replication);
  await file.appendBatch(Array.from({ length: 10 }, (_, i) => enc.encode(`e${i}`)));
  return { redex, file, replication };
}

describe('committed reads of a replicated file', () => {
  it('reads show committed events unless asked for the local log', async () => {
    const { file, replication } = await open();
    replication.commitSeq = 4;
    assert.equal(file.committedSeq, 4);
    assert.deepEqual(
      (await file.readRange(0, 10)).map((e) => e.seq),
      [0, 1, 2, 3],
    );
    assert.equal((await file.readRange(0, 10, { isolation: 'uncommitted' })).length, 10);
    assert.equal(await file.readOne(5), null);
    assert.equal((await file.readOne(5, { isolation: 'uncommitted' }))?.seq, 5);
    assert.equal((await file.readRangeLimited(0, 10, 1 << 20, 0)).length, 4);
  });

  it('a committed tail waits for the commit; an uncommitted one ends with TRUNCATED on a cut', async () => {
    const { file, replication } = await open();
    replication.commitSeq = 2;
    const committed = file.tail({ fromSeq: 0 });
    assert.equal((await committed.next()).value?.seq, 0);
    assert.equal((await committed.next()).value?.seq, 1);
    const waiting = committed.next();
    replication.commitSeq = 3;
    file.commitAdvanced();
    assert.equal((await waiting).value?.seq, 2);
    await committed.return();

    const raw = file.tail({ fromSeq: 8, isolation: 'uncommitted' });
    assert.equal((await raw.next()).value?.seq, 8);
    await file.truncateFrom(5);
    await assert.rejects(raw.next(), { code: RedexErrorCode.Truncated });
  });

  it('retention never evicts what is not committed', async () => {
    const { file, replication } = await open({ maxEvents: 2 });
    replication.commitSeq = 3;
    assert.equal(await file.sweepRetention(), 3);
    assert.equal(file.firstSeq, 3);
    replication.commitSeq = 10;
    assert.equal(await file.sweepRetention(), 5);
    assert.equal(file.firstSeq, 8);
  });
});
