import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LaggedError, RedexErrorCode } from '../../src/log/errors.js';
import type { RedexEvent } from '../../src/log/event.js';
import type { RedexTail } from '../../src/log/tail.js';
import { settle } from '../../src/time/virtual-clock.js';
import { appendNumbered, bytes, openMemoryFile, text } from './helpers.js';

async function take(tail: RedexTail, count: number): Promise<RedexEvent[]> {
  const events: RedexEvent[] = [];
  while (events.length < count) {
    const result = await tail.next();
    if (result.done) break;
    events.push(result.value);
  }
  return events;
}

async function nextError(tail: RedexTail): Promise<unknown> {
  for (;;) {
    try {
      const result = await tail.next();
      if (result.done) return null;
    } catch (error) {
      return error;
    }
  }
}

describe('tail', () => {
  test('5 backfilled, then live seq 5', async () => {
    const { file } = await openMemoryFile();
    await appendNumbered(file, 5);
    const tail = file.tail();
    const backfill = await take(tail, 5);
    assert.deepEqual(
      backfill.map((event) => event.seq),
      [0, 1, 2, 3, 4],
    );
    const pending = tail.next();
    await settle();
    await file.append(bytes('live'));
    const live = await pending;
    assert.equal(live.done, false);
    assert.equal(live.value?.seq, 5);
    assert.equal(text(live.value!.payload), 'live');
    await tail.return();
  });

  test('100 backfilled + 50 concurrent appends → exactly 150 in order', async () => {
    const { file } = await openMemoryFile();
    await appendNumbered(file, 100);
    const tail = file.tail();
    const consumer = take(tail, 150);
    const producer = (async () => {
      for (let i = 0; i < 50; i++) {
        await file.append(bytes(`event-${100 + i}`));
        if (i % 7 === 0) await settle();
      }
    })();
    const [events] = await Promise.all([consumer, producer]);
    assert.equal(events.length, 150);
    events.forEach((event, index) => {
      assert.equal(event.seq, index);
      assert.equal(text(event.payload), `event-${index}`);
    });
    // Nothing more arrives: no duplicate was queued.
    const extra = tail.next();
    await settle();
    await tail.return();
    assert.deepEqual(await extra, { done: true, value: undefined });
  });

  test('tail(fromSeq) skips what is before it; beyond nextSeq it waits', async () => {
    const { file } = await openMemoryFile();
    await appendNumbered(file, 10);
    const fromSix = await take(file.tail({ fromSeq: 6 }), 4);
    assert.deepEqual(
      fromSix.map((event) => event.seq),
      [6, 7, 8, 9],
    );
    const future = file.tail({ fromSeq: 12 });
    const first = take(future, 1);
    await appendNumbered(file, 3);
    assert.deepEqual(
      (await first).map((event) => event.seq),
      [12],
    );
  });

  test('a backfill larger than the buffer → LAGGED', async () => {
    const { file } = await openMemoryFile({ tailBufferSize: 8 });
    await appendNumbered(file, 9);
    const error = await nextError(file.tail());
    assert.ok(error instanceof LaggedError);
    assert.equal(error.code, RedexErrorCode.Lagged);
    assert.equal(error.resumeSeq, 0);
    // Exactly the buffer size is fine.
    assert.equal((await take(file.tail({ fromSeq: 1 }), 8)).length, 8);
  });

  test('a slow subscriber is dropped with LAGGED and never stalls appends', async () => {
    const { file } = await openMemoryFile({ tailBufferSize: 16 });
    const slow = file.tail();
    const fast = file.tail();
    const fastEvents = take(fast, 100);
    for (let i = 0; i < 100; i++) await file.append(bytes(`e${i}`));
    assert.equal(file.nextSeq, 100);
    assert.equal((await fastEvents).length, 100);
    // The slow one was detached the moment it fell behind: it costs the file nothing.
    assert.equal(file.tailCount, 1);
    const error = await nextError(slow);
    assert.ok(error instanceof LaggedError);
    assert.equal(error.resumeSeq, 0);
    assert.deepEqual(await slow.next(), { done: true, value: undefined });
  });

  test('a waiting subscriber that gets a batch larger than its buffer is LAGGED', async () => {
    const { file } = await openMemoryFile({ tailBufferSize: 4 });
    const tail = file.tail();
    const waiting = tail.next();
    await settle();
    await file.appendBatch([bytes('1'), bytes('2'), bytes('3')]);
    assert.equal((await waiting).value?.seq, 0);
    await file.appendBatch(Array.from({ length: 10 }, () => bytes('x')));
    assert.ok((await nextError(tail)) instanceof LaggedError);
  });

  test('after a sweep keeping 7..9, tail(0) → LAGGED and tail(7) → 7', async () => {
    const { file } = await openMemoryFile({ retention: { maxEvents: 3 } });
    await appendNumbered(file, 10);
    assert.equal(await file.sweepRetention(), 7);
    const lagged = await nextError(file.tail({ fromSeq: 0 }));
    assert.ok(lagged instanceof LaggedError);
    assert.equal(lagged.resumeSeq, 0);
    assert.deepEqual(
      (await take(file.tail({ fromSeq: 7 }), 3)).map((event) => event.seq),
      [7, 8, 9],
    );
  });

  test('a sweep that evicts unread events ends that tail with LAGGED', async () => {
    const { file } = await openMemoryFile({ retention: { maxEvents: 2 } });
    await appendNumbered(file, 5);
    const tail = file.tail();
    assert.equal((await tail.next()).value?.seq, 0);
    await file.sweepRetention();
    const error = await nextError(tail);
    assert.ok(error instanceof LaggedError);
    assert.equal(error.resumeSeq, 1);
  });

  test('skipTo past a waiting tail ends it with LAGGED; a tail waiting beyond survives', async () => {
    const { file } = await openMemoryFile();
    await appendNumbered(file, 3);
    const caughtUp = file.tail({ fromSeq: 3 });
    const waiting = caughtUp.next();
    const ahead = file.tail({ fromSeq: 50 });
    const aheadNext = ahead.next();
    await file.skipTo(50);
    await assert.rejects(waiting, LaggedError);
    await file.append(bytes('fifty'));
    assert.equal((await aheadNext).value?.seq, 50);
  });

  test('close ends every tail promptly, including ones waiting', async () => {
    const { file } = await openMemoryFile();
    await appendNumbered(file, 2);
    const waiting = file.tail({ fromSeq: 2 });
    const pending = waiting.next();
    const withBacklog = file.tail();
    await file.close();
    assert.deepEqual(await pending, { done: true, value: undefined });
    assert.deepEqual(await withBacklog.next(), { done: true, value: undefined });
    assert.equal(file.tailCount, 0);
  });

  test('for await ... break closes the tail', async () => {
    const { file } = await openMemoryFile();
    await appendNumbered(file, 5);
    const tail = file.tail();
    const seen: number[] = [];
    for await (const event of tail) {
      seen.push(event.seq);
      if (event.seq === 2) break;
    }
    assert.deepEqual(seen, [0, 1, 2]);
    assert.equal(tail.finished, true);
    assert.equal(file.tailCount, 0);
  });

  test('return() resolves a pending next with done', async () => {
    const { file } = await openMemoryFile();
    const tail = file.tail();
    const pending = tail.next();
    await tail.return();
    assert.deepEqual(await pending, { done: true, value: undefined });
  });

  test('tailBufferSize 0 is treated as 1', async () => {
    const { file } = await openMemoryFile({ tailBufferSize: 0 });
    assert.equal(file.config.tailBufferSize, 1);
    await appendNumbered(file, 1);
    assert.equal((await take(file.tail(), 1)).length, 1);
  });

  test('opening a tail on a closed file is CLOSED', async () => {
    const { file } = await openMemoryFile();
    await file.close();
    assert.throws(() => file.tail(), { code: RedexErrorCode.Closed });
  });
});
