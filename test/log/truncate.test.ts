// Suffix truncation (the internal `truncateFrom`) in both stores: what it removes, what it
// refuses, how it orders with queued appends, its hook, and that a cut survives a reopen.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MemoryFileSystem } from '../../src/log/disk/memory-fs.js';
import { type RedexError, RedexErrorCode } from '../../src/log/errors.js';
import { Redex } from '../../src/log/redex.js';
import type { RedexFile } from '../../src/log/redex-file.js';
import { VirtualClock } from '../../src/time/virtual-clock.js';
import { GatedFs } from './disk/gated-fs.js';
import { appendNumbered, bytes, openMemoryFile, text } from './helpers.js';

interface Store {
  readonly name: string;
  open(config?: { retention?: { maxEvents: number }; cacheBytes?: number }): Promise<RedexFile>;
  /** Closes and opens the same channel again (persistent stores only). */
  reopen?(file: RedexFile): Promise<RedexFile>;
}

function diskStore(fsync: 'never' | 'always'): Store {
  const fs = new MemoryFileSystem();
  let config = {};
  const open = async (overrides = {}) => {
    config = { persistent: true, fsync, ...overrides };
    const redex = new Redex({ dir: '/data', fs, clock: new VirtualClock() });
    return redex.openFile('orders/audit', config);
  };
  return {
    name: `disk (fsync: ${fsync})`,
    open,
    async reopen(file) {
      await file.close();
      const redex = new Redex({ dir: '/data', fs, clock: new VirtualClock() });
      return redex.openFile('orders/audit', config);
    },
  };
}

const STORES: (() => Store)[] = [
  () => ({ name: 'memory', open: async (config) => (await openMemoryFile(config)).file }),
  () => diskStore('never'),
  () => diskStore('always'),
];

async function contents(file: RedexFile): Promise<string[]> {
  return (await file.readRange(0, file.nextSeq)).map(
    (event) => `${event.seq}:${text(event.payload)}`,
  );
}

for (const makeStore of STORES) {
  describe(`truncateFrom (${makeStore().name})`, () => {
    test('removes the suffix, returns its length, and the next append takes the cut seq', async () => {
      const store = makeStore();
      const file = await store.open();
      await appendNumbered(file, 10);
      assert.equal(await file.truncateFrom(6), 4);
      assert.equal(file.nextSeq, 6);
      assert.equal(file.len, 6);
      assert.equal((await file.readRange(0, 100)).length, 6);
      assert.equal(await file.readOne(6), null);
      assert.equal(await file.append(bytes('new-6')), 6);
      assert.deepEqual((await contents(file)).slice(5), ['5:event-5', '6:new-6']);
      file.assertInvariants();
      if (store.reopen) {
        const reopened = await store.reopen(file);
        assert.equal(reopened.nextSeq, 7);
        assert.deepEqual((await contents(reopened)).slice(5), ['5:event-5', '6:new-6']);
        reopened.assertInvariants();
        await reopened.close();
      }
    });

    test('a seq at or past nextSeq is a no-op; the whole retained log can be cut', async () => {
      const file = await makeStore().open();
      await appendNumbered(file, 3);
      assert.equal(await file.truncateFrom(3), 0);
      assert.equal(await file.truncateFrom(50), 0);
      assert.equal(file.nextSeq, 3);
      assert.equal(await file.truncateFrom(0), 3);
      assert.equal(file.nextSeq, 0);
      assert.equal(file.firstSeq, null);
      assert.equal(file.retainedBytes, 0);
      assert.equal(await file.append(bytes('again')), 0);
      file.assertInvariants();
    });

    test('below the retention floor is SEQ_RANGE and changes nothing; at the floor is allowed', async () => {
      const file = await makeStore().open({ retention: { maxEvents: 4 } });
      await appendNumbered(file, 10);
      await file.sweepRetention();
      assert.equal(file.firstSeq, 6);
      await assert.rejects(file.truncateFrom(5), (error: RedexError) => {
        assert.equal(error.code, RedexErrorCode.SeqRange);
        assert.match(error.message, /retained events start at 6/);
        return true;
      });
      assert.equal(file.nextSeq, 10);
      assert.equal(await file.truncateFrom(6), 4);
      assert.equal(file.nextSeq, 6);
      assert.equal(await file.append(bytes('x')), 6);
      file.assertInvariants();
    });

    test('bad seqs are typed errors', async () => {
      const file = await makeStore().open();
      await assert.rejects(file.truncateFrom(-1), { code: RedexErrorCode.InvalidArgument });
      await assert.rejects(file.truncateFrom(1.5), { code: RedexErrorCode.InvalidArgument });
      await file.close();
      await assert.rejects(file.truncateFrom(0), { code: RedexErrorCode.Closed });
    });

    test('a payload read before the cut keeps its bytes after later appends', async () => {
      const file = await makeStore().open();
      await file.append(bytes('kept'));
      await file.append(bytes('removed'));
      const removed = (await file.readOne(1))!;
      await file.truncateFrom(1);
      await file.append(bytes('replacement'));
      assert.equal(text(removed.payload), 'removed');
    });

    test('onTruncate hears the new nextSeq once the events are gone; unsubscribe stops it', async () => {
      const file = await makeStore().open();
      await appendNumbered(file, 8);
      const heard: [number, number][] = [];
      const stop = file.onTruncate((nextSeq) => heard.push([nextSeq, file.nextSeq]));
      file.onTruncate(() => {
        throw new Error('a bad listener');
      });
      await file.truncateFrom(5);
      await file.truncateFrom(9);
      stop();
      await file.truncateFrom(2);
      assert.deepEqual(heard, [[5, 5]]);
      assert.equal(file.nextSeq, 2);
    });

    test('appends queued before the call are written before the cut, later ones after it', async () => {
      const file = await makeStore().open();
      await appendNumbered(file, 4);
      const before = [file.append(bytes('b4')), file.append(bytes('b5'))];
      const cut = file.truncateFrom(3);
      const after = [file.append(bytes('a1')), file.appendBatch([bytes('a2'), bytes('a3')])];
      // On disk the earlier appends wait in the queue; they are written first, and cut with seq 3.
      assert.deepEqual(await Promise.all(before), [4, 5]);
      assert.equal(await cut, 3);
      assert.deepEqual(await Promise.all(after), [3, 4]);
      assert.deepEqual(await contents(file), [
        '0:event-0',
        '1:event-1',
        '2:event-2',
        '3:a1',
        '4:a2',
        '5:a3',
      ]);
      file.assertInvariants();
    });
  });
}

describe('truncateFrom on disk: reads and the cache', () => {
  test('a disk read in flight across the cut returns no removed event; cache and disk agree after', async () => {
    const fs = new GatedFs();
    const config = { persistent: true, cacheBytes: 1000 };
    const redex = new Redex({ dir: '/data', fs, clock: new VirtualClock() });
    const file = await redex.openFile('orders/audit', config);
    for (let i = 0; i < 50; i++) await file.append(bytes(`${'p'.repeat(90)}${i}`));
    fs.hold('read');
    const early = file.readRange(0, 50);
    // The cut lands below the cache's first seq: the cache restarts at the cut.
    assert.equal(await file.truncateFrom(20), 30);
    for (let i = 20; i < 25; i++) await file.append(bytes(`new-${i}`));
    fs.release();
    const events = await early;
    assert.ok(events.length > 0 && events.length <= 25, `${events.length} events`);
    for (const event of events) {
      const expected = event.seq < 20 ? `${'p'.repeat(90)}${event.seq}` : `new-${event.seq}`;
      assert.equal(text(event.payload), expected, `seq ${event.seq}`);
    }
    const all = await file.readRange(0, 100);
    assert.equal(all.length, 25);
    assert.equal(text(all[19]!.payload), `${'p'.repeat(90)}19`);
    assert.equal(text(all[24]!.payload), 'new-24');
    file.assertInvariants();
    await redex.close();
    const reopened = await new Redex({ dir: '/data', fs, clock: new VirtualClock() }).openFile(
      'orders/audit',
      config,
    );
    assert.deepEqual(
      (await reopened.readRange(0, 100)).map((event) => text(event.payload)),
      all.map((event) => text(event.payload)),
    );
    await reopened.close();
  });
});
