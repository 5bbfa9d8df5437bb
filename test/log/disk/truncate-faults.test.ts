// A suffix truncation interrupted at every step — by a process crash (nothing after the fault
// reaches the disk), a transient error, or a power cut that keeps a random prefix of what was not
// fsynced — must reopen to a prefix of the old log whose next seq lies between the cut and the old
// next seq, and a completed cut must never come undone.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MemoryFileSystem } from '../../../src/log/disk/memory-fs.js';
import { IoError } from '../../../src/log/errors.js';
import { Redex } from '../../../src/log/redex.js';
import { SeededRandom } from '../../../src/time/random.js';
import { VirtualClock } from '../../../src/time/virtual-clock.js';
import { FaultyFs } from './faulty-fs.js';
import { openPersistent, payloadFor, readAll, tempDir } from './helpers.js';

const EVENTS = 10;
const CUT = 4;

function assertPrefix(events: { seq: number; payload: Uint8Array }[], what: string): void {
  assert.ok(
    events.length >= CUT && events.length <= EVENTS,
    `${what}: ${events.length} events survive`,
  );
  events.forEach((event, index) => {
    assert.equal(event.seq, index, what);
    assert.deepEqual(event.payload, payloadFor(index), `${what}: seq ${index}`);
  });
}

async function truncationOps(): Promise<string[]> {
  const fs = new FaultyFs();
  const { redex, file } = await openPersistent(tempDir(), {}, { fs });
  for (let i = 0; i < EVENTS; i++) await file.append(payloadFor(i));
  // A new store's first fsync also makes its manifest and directory durable; past that one, a
  // truncation touches only the two files.
  await file.sync();
  const start = fs.ops.length;
  await file.truncateFrom(CUT);
  const ops = fs.ops.slice(start);
  await redex.close();
  return ops;
}

describe('truncation failures', () => {
  test('a truncation truncates and fsyncs both files (and nothing else)', async () => {
    assert.deepEqual(await truncationOps(), [
      'truncate:0000000001.dat',
      'truncate:0000000001.idx',
      'sync:0000000001.dat',
      'sync:0000000001.idx',
    ]);
  });

  for (const fsync of ['never', 'always'] as const) {
    test(`a crash at each step reopens to a prefix between the cut and the old end (fsync: ${fsync})`, async () => {
      const steps = await truncationOps();
      const outcomes = new Set<number>();
      for (let step = 0; step < steps.length; step++) {
        const dir = tempDir();
        const fs = new FaultyFs();
        const { redex: crashed, file } = await openPersistent(dir, { fsync }, { fs });
        for (let i = 0; i < EVENTS; i++) await file.append(payloadFor(i));
        await file.sync();
        fs.arm(step, 'crash');
        const error = await file.truncateFrom(CUT).catch((caught: unknown) => caught);
        assert.ok(error instanceof IoError && error.readOnly, `step ${step}: ${String(error)}`);
        assert.equal(file.nextSeq, CUT, 'the cut is visible even though it failed');
        await assert.rejects(file.append(payloadFor(99)), (again: IoError) => again.readOnly);
        const reopened = await openPersistent(dir, { fsync });
        const events = await readAll(reopened.file);
        assertPrefix(events, `step ${step} (${steps[step]})`);
        outcomes.add(events.length);
        // The cut can be retried after the restart, and appends continue after it.
        await reopened.file.truncateFrom(CUT);
        assert.equal(await reopened.file.append(payloadFor(CUT)), CUT);
        reopened.file.assertInvariants();
        await reopened.redex.close();
        await crashed.close().catch(() => {});
      }
      assert.ok(outcomes.has(EVENTS) && outcomes.has(CUT), `outcomes ${[...outcomes]}`);
    });
  }

  test('a transient failure at each step turns the file read-only; a reopen recovers a prefix', async () => {
    const steps = await truncationOps();
    for (let step = 0; step < steps.length; step++) {
      for (const code of ['EIO', 'ENOSPC']) {
        const dir = tempDir();
        const fs = new FaultyFs();
        const { redex, file } = await openPersistent(dir, {}, { fs });
        for (let i = 0; i < EVENTS; i++) await file.append(payloadFor(i));
        await file.sync();
        fs.arm(step, 'once', code);
        await assert.rejects(
          file.truncateFrom(CUT),
          (error: IoError) => error.readOnly && new RegExp(code).test(error.message),
        );
        fs.disarm();
        await assert.rejects(file.append(payloadFor(99)), (again: IoError) => again.readOnly);
        assert.equal((await readAll(file)).length, CUT, 'reads keep working');
        await redex.close().catch(() => {});
        const reopened = await openPersistent(dir);
        assertPrefix(await readAll(reopened.file), `step ${step} ${code}`);
        await reopened.redex.close();
      }
    }
  });
});

describe('truncation and power cuts (MemoryFileSystem)', () => {
  async function openOn(fs: FaultyFs | MemoryFileSystem) {
    const redex = new Redex({ dir: '/data', fs, clock: new VirtualClock() });
    return { redex, file: await redex.openFile('cut/log', { persistent: true, fsync: 'always' }) };
  }

  test('a power cut at each step, keeping any prefix of unsynced bytes, recovers a prefix', async () => {
    const random = new SeededRandom(20261201);
    let steps = 0;
    {
      const memory = new MemoryFileSystem();
      const fs = new FaultyFs(memory);
      const { redex, file } = await openOn(fs);
      for (let i = 0; i < EVENTS; i++) await file.append(payloadFor(i));
      const start = fs.ops.length;
      await file.truncateFrom(CUT);
      steps = fs.ops.length - start;
      await redex.close();
    }
    // One more step than there are operations: the cut completed before the power went.
    for (let step = 0; step <= steps; step++) {
      for (let round = 0; round < 8; round++) {
        const memory = new MemoryFileSystem();
        const fs = new FaultyFs(memory);
        const { file } = await openOn(fs);
        for (let i = 0; i < EVENTS; i++) await file.append(payloadFor(i));
        fs.arm(step, 'crash');
        const outcome = await file.truncateFrom(CUT).then(
          () => 'done',
          () => 'failed',
        );
        memory.crash((_path, unsynced) => random.nextInt(unsynced + 1));
        const reopened = await openOn(memory);
        const events = await readAll(reopened.file);
        assertPrefix(events, `step ${step} round ${round}`);
        if (outcome === 'done') assert.equal(events.length, CUT, 'a completed cut stays cut');
        reopened.file.assertInvariants();
        await reopened.redex.close();
      }
    }
  });

  test('appends after a completed cut survive a power cut, and the old suffix never returns', async () => {
    const memory = new MemoryFileSystem();
    const { file } = await openOn(memory);
    for (let i = 0; i < EVENTS; i++) await file.append(payloadFor(i));
    await file.truncateFrom(CUT);
    const replacement = payloadFor(500, 40);
    assert.equal(await file.append(replacement), CUT);
    memory.crash((_path, unsynced) => unsynced);
    const reopened = await openOn(memory);
    const events = await readAll(reopened.file);
    assert.equal(events.length, CUT + 1);
    assert.deepEqual(events[CUT]!.payload, replacement);
    await reopened.redex.close();
  });
});
