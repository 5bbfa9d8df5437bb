// The internal append precondition: checked when an append takes its seqs (at once in memory,
// when its group is written on disk), LEADERSHIP_LOST and no seq taken when it is false, and no
// effect on the other appends of the same group.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MemoryFileSystem } from '../../src/log/disk/memory-fs.js';
import { LeadershipLostError, type RedexError, RedexErrorCode } from '../../src/log/errors.js';
import { Redex } from '../../src/log/redex.js';
import type { RedexFile } from '../../src/log/redex-file.js';
import { VirtualClock } from '../../src/time/virtual-clock.js';
import { GatedFs } from './disk/gated-fs.js';
import { bytes, openMemoryFile, text } from './helpers.js';

async function openDisk(fs = new MemoryFileSystem()): Promise<RedexFile> {
  const redex = new Redex({ dir: '/data', fs, clock: new VirtualClock() });
  return redex.openFile('lead/log', { persistent: true, fsync: 'always' });
}

function isLeadershipLost(error: RedexError): boolean {
  assert.ok(error instanceof LeadershipLostError);
  assert.equal(error.code, RedexErrorCode.LeadershipLost);
  assert.match(error.message, /not written/);
  return true;
}

const STORES: [string, () => Promise<RedexFile>][] = [
  ['memory', async () => (await openMemoryFile()).file],
  ['disk', () => openDisk()],
];

for (const [name, open] of STORES) {
  describe(`append precondition (${name})`, () => {
    test('false rejects with LEADERSHIP_LOST on every append path and takes no seq', async () => {
      const file = await open();
      const lost = { precondition: () => false };
      await file.append(bytes('a'));
      await assert.rejects(file.append(bytes('x'), lost), isLeadershipLost);
      await assert.rejects(file.appendBatch([bytes('x'), bytes('y')], lost), isLeadershipLost);
      await assert.rejects(file.appendBatchIfNextSeq(1, [bytes('x')], lost), isLeadershipLost);
      await assert.rejects(file.applyReplicated(1, [bytes('x')], lost), isLeadershipLost);
      assert.equal(file.nextSeq, 1);
      assert.equal(await file.append(bytes('b'), { precondition: () => true }), 1);
      assert.deepEqual(
        (await file.readRange(0, 10)).map((event) => text(event.payload)),
        ['a', 'b'],
      );
      file.assertInvariants();
    });

    test('it is evaluated once per append, and a throw rejects that append only', async () => {
      const file = await open();
      let calls = 0;
      const counted = {
        precondition: () => {
          calls++;
          return true;
        },
      };
      assert.equal(await file.appendBatch([bytes('a'), bytes('b')], counted), 0);
      assert.equal(calls, 1);
      const boom = new Error('boom');
      const throwing = file.append(bytes('x'), {
        precondition: () => {
          throw boom;
        },
      });
      const fine = file.append(bytes('c'));
      await assert.rejects(throwing, (error) => error === boom);
      assert.equal(await fine, 2);
      assert.equal(file.nextSeq, 3);
    });

    test('the precondition is checked before the expected seq', async () => {
      const file = await open();
      await assert.rejects(
        file.appendBatchIfNextSeq(5, [bytes('x')], { precondition: () => false }),
        isLeadershipLost,
      );
    });
  });
}

describe('append precondition on disk: checked when the group is written', () => {
  test('a queued append whose precondition flips while it waits is not written; its group is', async () => {
    const fs = new GatedFs();
    const file = await openDisk(fs);
    await file.append(bytes('zero'));
    let leading = true;
    let checks = 0;
    const whileLeading = {
      precondition: () => {
        checks++;
        return leading;
      },
    };
    // Hold the first group's data write in flight; the next appends wait in the queue behind it.
    fs.hold('write');
    const inFlight = file.append(bytes('in-flight'), whileLeading);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(checks, 1, 'the in-flight group checked its precondition before writing');
    const plain = file.append(bytes('plain'));
    const guarded = file.append(bytes('guarded'), whileLeading);
    const batch = file.appendBatch([bytes('b1'), bytes('b2')], { precondition: () => true });
    assert.equal(checks, 1, 'a queued append is not checked when it is made');
    leading = false;
    fs.release();
    assert.equal(await inFlight, 1, 'the in-flight append had already taken its seq');
    assert.equal(await plain, 2);
    await assert.rejects(guarded, isLeadershipLost);
    assert.equal(await batch, 3, 'the next append of the group takes the seq the lost one did not');
    assert.equal(checks, 2);
    assert.deepEqual(
      (await file.readRange(0, 10)).map((event) => text(event.payload)),
      ['zero', 'in-flight', 'plain', 'b1', 'b2'],
    );
    file.assertInvariants();
  });

  test('an append that waited behind a truncation is checked after it', async () => {
    const file = await openDisk();
    for (let i = 0; i < 5; i++) await file.append(bytes(`e${i}`));
    let leading = true;
    const cut = file.truncateFrom(2);
    const guarded = file.append(bytes('late'), { precondition: () => leading });
    file.onTruncate(() => {
      leading = false;
    });
    assert.equal(await cut, 3);
    await assert.rejects(guarded, isLeadershipLost);
    assert.equal(file.nextSeq, 2);
  });
});
