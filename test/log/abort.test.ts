// AbortSignal on tail, append, appendBatch and waitForReplicas: an aborted call rejects with
// `signal.reason` and leaves no listener, timer or waiter behind.

import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, test } from 'node:test';
import { ReplicaProgress } from '../../src/replication/progress.js';
import { settle, VirtualClock } from '../../src/time/virtual-clock.js';
import { openPersistent, tempDir } from './disk/helpers.js';
import { bytes, openMemoryFile } from './helpers.js';

const listeners = (signal: AbortSignal) => getEventListeners(signal, 'abort').length;

function isAbortError(error: unknown): boolean {
  return error instanceof DOMException && error.name === 'AbortError';
}

describe('AbortSignal', () => {
  test('tail: an abort rejects the pending next() with AbortError and frees the tail', async () => {
    const { file } = await openMemoryFile();
    const controller = new AbortController();
    const tail = file.tail({ signal: controller.signal });
    assert.equal(listeners(controller.signal), 1);
    const pending = tail.next();
    await settle();
    controller.abort();
    await assert.rejects(pending, isAbortError);
    await assert.rejects(tail.next(), isAbortError, 'later calls reject too');
    assert.equal(file.tailCount, 0);
    assert.equal(listeners(controller.signal), 0);
  });

  test('tail: an already aborted signal throws its reason and registers nothing', async () => {
    const { file } = await openMemoryFile();
    const reason = new Error('caller gave up');
    assert.throws(
      () => file.tail({ signal: AbortSignal.abort(reason) }),
      (error) => error === reason,
    );
    assert.equal(file.tailCount, 0);
  });

  test('tail: return() and close() remove the abort listener', async () => {
    const { file } = await openMemoryFile();
    const controller = new AbortController();
    const first = file.tail({ signal: controller.signal });
    const second = file.tail({ signal: controller.signal });
    assert.equal(listeners(controller.signal), 2);
    await first.return();
    assert.equal(listeners(controller.signal), 1);
    await file.close();
    assert.equal(second.finished, true);
    assert.equal(listeners(controller.signal), 0);
  });

  test('append and appendBatch in memory: an aborted signal appends nothing', async () => {
    const { file } = await openMemoryFile();
    const signal = AbortSignal.abort();
    await assert.rejects(file.append(bytes('x'), { signal }), isAbortError);
    await assert.rejects(file.appendBatch([bytes('x')], { signal }), isAbortError);
    await assert.rejects(file.appendBatchIfNextSeq(0, [bytes('x')], { signal }), isAbortError);
    assert.equal(file.nextSeq, 0);
    const live = new AbortController();
    assert.equal(await file.append(bytes('y'), { signal: live.signal }), 0);
    assert.equal(listeners(live.signal), 0);
    await assert.rejects(
      file.append(bytes('z'), { signal: 'nope' as unknown as AbortSignal }),
      /signal must be an AbortSignal/,
    );
  });

  test('append on disk: an abort while the write is in flight rejects at once and leaves no listener', async () => {
    const { file, redex } = await openPersistent(tempDir());
    const controller = new AbortController();
    const appending = file.append(bytes('x'), { signal: controller.signal });
    const batch = file.appendBatch([bytes('y')], { signal: controller.signal });
    assert.equal(listeners(controller.signal), 2);
    controller.abort();
    await assert.rejects(appending, isAbortError);
    await assert.rejects(batch, isAbortError);
    assert.equal(listeners(controller.signal), 0);
    // A completed append under a live signal also drops its listener.
    const live = new AbortController();
    await file.append(bytes('z'), { signal: live.signal });
    assert.equal(listeners(live.signal), 0);
    await redex.close();
  });

  test('readStream: an abort ends the iteration with the reason', async () => {
    const { file } = await openMemoryFile({ tailBufferSize: 64 });
    await file.appendBatch(Array.from({ length: 10 }, () => bytes('x')));
    const controller = new AbortController();
    const pages = file.readStream(0, undefined, { signal: controller.signal });
    assert.equal((await pages.next()).value?.length, 1);
    controller.abort();
    await assert.rejects(pages.next(), isAbortError);
    assert.equal(listeners(controller.signal), 0);
  });

  test('waitForReplicas: an abort rejects with the reason and drops the waiter and its timer', async () => {
    const clock = new VirtualClock();
    const progress = new ReplicaProgress('c', clock, [0x20n]);
    const timersBefore = clock.pendingTimers;
    const controller = new AbortController();
    const waiting = progress.wait(5, { count: 1, timeoutMs: 1000, signal: controller.signal });
    assert.equal(progress.waiterCount, 1);
    assert.equal(clock.pendingTimers, timersBefore + 1);
    assert.equal(listeners(controller.signal), 1);
    controller.abort();
    await assert.rejects(waiting, isAbortError);
    assert.equal(progress.waiterCount, 0);
    assert.equal(clock.pendingTimers, timersBefore);
    assert.equal(listeners(controller.signal), 0);
    // Satisfied and timed-out waits drop the listener too.
    const live = new AbortController();
    const satisfied = progress.wait(5, { count: 1, signal: live.signal });
    progress.observe(0x20n, 6);
    await satisfied;
    assert.equal(listeners(live.signal), 0);
    await assert.rejects(progress.wait(0, { signal: AbortSignal.abort() }), isAbortError);
    assert.equal(progress.waiterCount, 0);
    progress.assertInvariants();
  });

  test('waitForReplicas on a file: an aborted signal rejects before anything else', async () => {
    const { file } = await openMemoryFile();
    await assert.rejects(file.waitForReplicas(0, { signal: AbortSignal.abort() }), isAbortError);
  });
});
