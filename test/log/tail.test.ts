import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LaggedError, RedexErrorCode } from '../../src/log/errors.js';
import type { RedexEvent } from '../../src/log/event.js';
import { PAGE_EVENT_OVERHEAD_BYTES } from '../../src/log/redex-file.js';
import type { RedexTail } from '../../src/log/tail.js';
import { settle } from '../../src/time/virtual-clock.js';
import { openPersistent, tempDir } from './disk/helpers.js';
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

  test('a tail from 0 reads a history far longer than one page (the cursor, not a buffer)', async () => {
    const { file } = await openMemoryFile({ tailBufferSize: 256 });
    await file.appendBatch(Array.from({ length: 2000 }, (_, i) => bytes(`event-${i}`)));
    const tail = file.tail({ fromSeq: 0 });
    const events = await take(tail, 2000);
    assert.equal(events.length, 2000);
    assert.ok(events.every((event, index) => event.seq === index));
    assert.equal(text(events[1999]!.payload), 'event-1999');
    await tail.return();
  });

  test('a reader that stops while 100,000 events are appended holds one page at most and resumes exactly', async () => {
    const pageBytes = 1024;
    const appended = 100_000;
    const { file } = await openMemoryFile({ tailBufferSize: pageBytes });
    await file.append(bytes('event-0'));
    const slow = file.tail();
    assert.equal((await slow.next()).value?.seq, 0);
    const fast = file.tail();
    const fastEvents = take(fast, appended + 1);
    for (let i = 1; i <= appended; i++) await file.append(bytes(`event-${i}`));
    assert.equal(file.nextSeq, appended + 1);
    assert.equal((await fastEvents).length, appended + 1);
    // The stalled reader fetched nothing more: what it has not read stays in the log.
    assert.equal(slow.prefetched, 0);
    assert.equal(file.tailCount, 2);
    const rest = await take(slow, appended);
    assert.equal(rest.length, appended);
    assert.ok(rest.every((event, index) => event.seq === index + 1));
    assert.equal(text(rest.at(-1)!.payload), `event-${appended}`);
    // Each fetch was one page: at most pageBytes / (payload + overhead) events, and at least one.
    const again = file.tail({ fromSeq: 1 });
    await again.next();
    assert.ok(again.prefetched + 1 <= pageBytes / PAGE_EVENT_OVERHEAD_BYTES);
    await again.return();
    await slow.return();
    await fast.return();
  });

  test('a caught-up tail survives one batch of 5000', async () => {
    const { file } = await openMemoryFile();
    const tail = file.tail();
    const waiting = tail.next();
    await settle();
    await file.appendBatch(Array.from({ length: 5000 }, (_, i) => bytes(`e${i}`)));
    assert.equal((await waiting).value?.seq, 0);
    const rest = await take(tail, 4999);
    assert.equal(rest.at(-1)?.seq, 4999);
    await tail.return();
  });

  test('a page holds at most tailBufferSize bytes (one event always fits)', async () => {
    const { file } = await openMemoryFile({ tailBufferSize: 4096 });
    await file.appendBatch(Array.from({ length: 100 }, () => new Uint8Array(1000)));
    await file.append(new Uint8Array(10_000));
    const tail = file.tail();
    await tail.next();
    // 4096 / (1000 + 64) → 3 events per page; one was delivered.
    assert.equal(tail.prefetched, 2);
    const pages: RedexEvent[][] = [];
    for await (const page of file.readStream(0, undefined, { pageBytes: 4096 })) pages.push(page);
    assert.equal(pages.length, 35);
    assert.equal(pages.at(-1)!.length, 1, 'the oversized event gets a page of its own');
    assert.equal(pages.flat().length, 101);
    await tail.return();
  });

  test('after a sweep keeping 7..9, tail(0) → LAGGED naming 7, and tail(7) → 7', async () => {
    const { file } = await openMemoryFile({ retention: { maxEvents: 3 } });
    await appendNumbered(file, 10);
    assert.equal(await file.sweepRetention(), 7);
    const lagged = await nextError(file.tail({ fromSeq: 0 }));
    assert.ok(lagged instanceof LaggedError);
    assert.equal(lagged.lostSeq, 0);
    assert.equal(lagged.resumeSeq, 7);
    assert.match(lagged.message, /first retained seq is 7/);
    assert.deepEqual(
      (await take(file.tail({ fromSeq: 7 }), 3)).map((event) => event.seq),
      [7, 8, 9],
    );
  });

  test('retention evicting under a slow reader: fetched events still arrive, then LAGGED with the right seqs', async () => {
    // 8 + 64 bytes per event, pages of 150 bytes: two events per fetch.
    const { file } = await openMemoryFile({ retention: { maxEvents: 2 }, tailBufferSize: 150 });
    await appendNumbered(file, 5);
    const tail = file.tail();
    assert.equal((await tail.next()).value?.seq, 0);
    assert.equal(tail.prefetched, 1);
    await file.sweepRetention(); // keeps 3..4
    assert.equal((await tail.next()).value?.seq, 1, 'already fetched: delivered');
    const error = await nextError(tail);
    assert.ok(error instanceof LaggedError);
    assert.equal(error.lostSeq, 2);
    assert.equal(error.resumeSeq, 3);
    assert.equal(file.tailCount, 0);
  });

  test('skipTo past a waiting tail ends it with LAGGED; a tail waiting beyond survives', async () => {
    const { file } = await openMemoryFile();
    await appendNumbered(file, 3);
    const caughtUp = file.tail({ fromSeq: 3 });
    const waiting = caughtUp.next();
    const ahead = file.tail({ fromSeq: 50 });
    const aheadNext = ahead.next();
    await file.skipTo(50);
    await assert.rejects(waiting, (error: unknown) => {
      assert.ok(error instanceof LaggedError);
      assert.equal(error.lostSeq, 3);
      assert.equal(error.resumeSeq, 50);
      return true;
    });
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

describe('tail on disk', () => {
  test('history read back from disk in pages, then LAGGED with the right seqs when retention passes a stalled reader', async () => {
    const { file, redex } = await openPersistent(tempDir(), {
      cacheBytes: 0,
      tailBufferSize: 4096,
      retention: { maxEvents: 1000 },
    });
    await file.appendBatch(Array.from({ length: 3000 }, (_, i) => bytes(`event-${i}`)));
    const tail = file.tail({ fromSeq: 2000 });
    const first = await take(tail, 100);
    assert.ok(first.every((event, index) => event.seq === 2000 + index));
    assert.equal(text(first[99]!.payload), 'event-2099');
    const pageEnd = tail.cursor + tail.prefetched;
    await file.appendBatch(Array.from({ length: 1000 }, (_, i) => bytes(`event-${3000 + i}`)));
    assert.equal(await file.sweepRetention(), 3000); // keeps 3000..3999
    const delivered = await take(tail, tail.prefetched);
    assert.equal(delivered.at(-1)?.seq ?? 2099, pageEnd - 1, 'the fetched page is still delivered');
    const error = await nextError(tail);
    assert.ok(error instanceof LaggedError);
    assert.equal(error.lostSeq, pageEnd);
    assert.equal(error.resumeSeq, 3000);
    let seen = 0;
    for await (const page of file.readStream(3000, undefined, { pageBytes: 4096 })) {
      assert.ok(page.length * PAGE_EVENT_OVERHEAD_BYTES <= 4096);
      for (const event of page) assert.equal(event.seq, 3000 + seen++);
    }
    assert.equal(seen, 1000);
    await redex.close();
  });
});
