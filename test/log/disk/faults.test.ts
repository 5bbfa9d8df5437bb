// Failures at every step: a transient error (ENOSPC/EIO) must roll an append back with no seq
// consumed and nothing visible; a crash (nothing reaches the disk after the fault) must reopen to
// a consistent state; an interrupted compaction must leave the old generation or the new one.

import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, test } from 'node:test';
import type { FsyncPolicy } from '../../../src/log/config.js';
import { IoError, RedexErrorCode } from '../../../src/log/errors.js';
import { FaultyFs } from './faulty-fs.js';
import { openPersistent, payloadFor, readAll, storeDir, tempDir } from './helpers.js';

async function opsOf(fsync: FsyncPolicy, action: 'append'): Promise<string[]> {
  const fs = new FaultyFs();
  const { redex, file } = await openPersistent(tempDir(), { fsync }, { fs });
  await file.append(payloadFor(0));
  const start = fs.ops.length;
  if (action === 'append') await file.append(payloadFor(1));
  const ops = fs.ops.slice(start);
  await redex.close();
  return ops;
}

function samePayloads(actual: { payload: Uint8Array }[], expected: Uint8Array[]): void {
  assert.deepEqual(
    actual.map((event) => event.payload),
    expected,
  );
}

for (const fsync of ['never', 'always'] as const) {
  describe(`append failures (fsync: ${fsync})`, () => {
    test('a transient failure at each step rolls back: no seq consumed, nothing visible, nothing on disk', async () => {
      const steps = await opsOf(fsync, 'append');
      assert.ok(steps.length >= 2, `an append performs ${steps.join(', ')}`);
      for (let step = 0; step < steps.length; step++) {
        for (const code of ['ENOSPC', 'EIO']) {
          const dir = tempDir();
          const fs = new FaultyFs();
          const { redex, file } = await openPersistent(dir, { fsync }, { fs });
          const model = [payloadFor(0), payloadFor(1)];
          for (const payload of model) await file.append(payload);
          fs.arm(step, 'once', code);
          const error = await file.append(payloadFor(2)).catch((caught: unknown) => caught);
          fs.disarm();
          assert.ok(error instanceof IoError, `step ${step} (${steps[step]}): ${String(error)}`);
          assert.equal(error.code, RedexErrorCode.Io);
          assert.match(error.message, new RegExp(code));
          assert.equal(file.nextSeq, 2, `step ${step}: no seq consumed`);
          samePayloads(await readAll(file), model);
          if (error.readOnly) {
            // A failed fsync: the file says so and refuses writes from now on.
            assert.equal(steps[step]?.startsWith('sync'), true);
            await assert.rejects(
              file.append(payloadFor(3)),
              (again: IoError) => again.readOnly && /read-only/.test(again.message),
            );
          } else {
            assert.equal(
              await file.append(payloadFor(3)),
              2,
              `step ${step}: the next append takes the same seq`,
            );
            model.push(payloadFor(3));
          }
          file.assertInvariants();
          await redex.close().catch(() => {});
          const reopened = await openPersistent(dir);
          samePayloads(await readAll(reopened.file), model);
          await reopened.redex.close();
        }
      }
    });

    test('a crash at each step reopens to the acknowledged events, plus at most the one in flight', async () => {
      const steps = await opsOf(fsync, 'append');
      for (let step = 0; step < steps.length; step++) {
        const dir = tempDir();
        const fs = new FaultyFs();
        const { redex: crashed, file } = await openPersistent(dir, { fsync }, { fs });
        const model = [payloadFor(0), payloadFor(1)];
        for (const payload of model) await file.append(payload);
        fs.arm(step, 'crash');
        await assert.rejects(file.append(payloadFor(2)), IoError);
        // The process "dies" here: the file is never closed.
        const reopened = await openPersistent(dir);
        const events = await readAll(reopened.file);
        assert.ok(
          events.length === 2 || events.length === 3,
          `step ${step}: ${events.length} events`,
        );
        samePayloads(events, [...model, payloadFor(2)].slice(0, events.length));
        assert.equal(await reopened.file.append(payloadFor(9)), events.length);
        await reopened.redex.close();
        // Release the dead process's descriptors; its file system still fails every write.
        await crashed.close().catch(() => {});
      }
    });
  });
}

describe('compaction failures', () => {
  const RETENTION = { retention: { maxEvents: 5 } };
  const EVENTS = 40;

  async function filled(fs: FaultyFs) {
    const dir = tempDir();
    const opened = await openPersistent(dir, RETENTION, { fs });
    for (let i = 0; i < EVENTS; i++) await opened.file.append(payloadFor(i, 60_000));
    return { dir, ...opened };
  }

  async function compactionOps(): Promise<string[]> {
    const fs = new FaultyFs();
    const { redex, file } = await filled(fs);
    const start = fs.ops.length;
    await file.sweepRetention();
    const ops = fs.ops.slice(start);
    await redex.close();
    assert.ok(
      ops.some((op) => op.startsWith('rename')),
      `a compaction ran: ${ops.join(', ')}`,
    );
    return ops;
  }

  test('a crash at each step leaves the old generation or the new one, never a mix', async () => {
    const steps = await compactionOps();
    const outcomes = new Set<number>();
    for (let step = 0; step < steps.length; step++) {
      const fs = new FaultyFs();
      const { dir, redex: crashed, file } = await filled(fs);
      fs.arm(step, 'crash');
      await file.sweepRetention().catch(() => {});
      const reopened = await openPersistent(dir, RETENTION);
      const events = await readAll(reopened.file);
      const first = EVENTS - events.length;
      assert.ok(
        first === 0 || first === EVENTS - 5,
        `step ${step} (${steps[step]}): first seq ${first}`,
      );
      outcomes.add(first);
      events.forEach((event, index) => {
        assert.equal(event.seq, first + index);
        assert.deepEqual(event.payload, payloadFor(first + index, 60_000));
      });
      assert.equal(await reopened.file.append(payloadFor(EVENTS)), EVENTS);
      const generations = readdirSync(storeDir(dir)).filter((name) => name.endsWith('.dat'));
      assert.equal(
        generations.length,
        1,
        `step ${step}: leftovers removed (${generations.join(', ')})`,
      );
      await reopened.redex.close();
      // Release the dead process's descriptors; its file system still fails every write.
      await crashed.close().catch(() => {});
    }
    assert.deepEqual([...outcomes].sort(), [0, 35], 'both outcomes happen across the steps');
  });

  test('a transient failure at each step keeps the file usable or makes it explicitly read-only', async () => {
    const steps = await compactionOps();
    for (let step = 0; step < steps.length; step++) {
      const fs = new FaultyFs();
      const { dir, redex, file } = await filled(fs);
      fs.arm(step, 'once');
      const error = await file.sweepRetention().then(
        () => null,
        (caught: unknown) => caught,
      );
      fs.disarm();
      assert.equal(file.firstSeq, EVENTS - 5, 'the eviction is visible either way');
      const appended = await file.append(payloadFor(EVENTS)).then(
        (seq) => seq,
        (caught: unknown) => caught,
      );
      if (appended instanceof IoError) {
        assert.ok(appended.readOnly && error instanceof IoError && error.readOnly, `step ${step}`);
      } else {
        assert.equal(appended, EVENTS, `step ${step} (${steps[step]})`);
        file.assertInvariants();
      }
      await redex.close().catch(() => {});
      const reopened = await openPersistent(dir, RETENTION);
      const events = await readAll(reopened.file);
      const last = events[events.length - 1]!;
      assert.ok(last.seq === EVENTS - 1 || last.seq === EVENTS, `step ${step}`);
      for (const event of events) {
        assert.deepEqual(
          event.payload,
          event.seq === EVENTS ? payloadFor(EVENTS) : payloadFor(event.seq, 60_000),
        );
      }
      await reopened.redex.close();
    }
  });
});
