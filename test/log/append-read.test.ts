import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type RedexError, RedexErrorCode, SeqMismatchError } from '../../src/log/errors.js';
import { appendNumbered, bytes, openMemoryFile, text } from './helpers.js';

describe('append and batches', () => {
  test('seqs 0,1,2 then nextSeq 3', async () => {
    const { file } = await openMemoryFile();
    assert.equal(await file.append(bytes('a')), 0);
    assert.equal(await file.append(bytes('b')), 1);
    assert.equal(await file.append(bytes('c')), 2);
    assert.equal(file.nextSeq, 3);
    assert.equal(file.len, 3);
    assert.equal(file.firstSeq, 0);
  });

  test('batch [a,b,c] returns 0, next append 3, next batch starts at 4', async () => {
    const { file } = await openMemoryFile();
    assert.equal(await file.appendBatch([bytes('a'), bytes('b'), bytes('c')]), 0);
    assert.equal(await file.append(bytes('d')), 3);
    assert.equal(await file.appendBatch([bytes('e'), bytes('f')]), 4);
    assert.deepEqual(
      (await file.readRange(0, 10)).map((event) => [event.seq, text(event.payload)]),
      [
        [0, 'a'],
        [1, 'b'],
        [2, 'c'],
        [3, 'd'],
        [4, 'e'],
        [5, 'f'],
      ],
    );
  });

  test('an empty batch returns null and consumes nothing', async () => {
    const { file } = await openMemoryFile();
    await file.append(bytes('a'));
    assert.equal(await file.appendBatch([]), null);
    assert.equal(file.nextSeq, 1);
    assert.equal(await file.append(bytes('b')), 1);
  });

  test('a guarded batch with the wrong expected seq changes nothing', async () => {
    const { file } = await openMemoryFile();
    await file.appendBatch([bytes('a'), bytes('b')]);
    const error = await file.appendBatchIfNextSeq(5, [bytes('x')]).catch((e: unknown) => e);
    assert.ok(error instanceof SeqMismatchError);
    assert.equal(error.code, RedexErrorCode.SeqMismatch);
    assert.equal(error.expected, 5);
    assert.equal(error.actual, 2);
    assert.equal(file.nextSeq, 2);
    assert.equal(file.len, 2);
    assert.equal(await file.appendBatchIfNextSeq(2, [bytes('c'), bytes('d')]), 2);
    assert.equal(file.nextSeq, 4);
  });

  test('empty payloads are legal and keep their seq', async () => {
    const { file } = await openMemoryFile();
    await file.append(new Uint8Array(0));
    await file.appendBatch([new Uint8Array(0), bytes('x'), new Uint8Array(0)]);
    const events = await file.readRange(0, 4);
    assert.deepEqual(
      events.map((event) => event.payload.byteLength),
      [0, 0, 1, 0],
    );
  });

  test('the payload is copied: mutating the caller buffer later changes nothing', async () => {
    const { file } = await openMemoryFile();
    const payload = bytes('hello');
    await file.append(payload);
    payload.fill(0);
    assert.equal(text((await file.readOne(0))!.payload), 'hello');
  });

  test('a bad payload in a batch fails the whole batch and names its index', async () => {
    const { file } = await openMemoryFile();
    await assert.rejects(
      file.appendBatch([bytes('ok'), 'nope' as unknown as Uint8Array]),
      (error: RedexError) =>
        error.code === RedexErrorCode.InvalidArgument && /payloads\[1\]/.test(error.message),
    );
    assert.equal(file.nextSeq, 0);
    assert.equal(file.len, 0);
  });

  test('an append past maxLiveBytes is PAYLOAD_TOO_LARGE and consumes no seq', async () => {
    const { file } = await openMemoryFile({ maxLiveBytes: 10 });
    await file.append(new Uint8Array(6));
    await assert.rejects(file.append(new Uint8Array(5)), { code: RedexErrorCode.PayloadTooLarge });
    await assert.rejects(file.appendBatch([new Uint8Array(2), new Uint8Array(3)]), {
      code: RedexErrorCode.PayloadTooLarge,
    });
    assert.equal(file.nextSeq, 1);
    assert.equal(await file.append(new Uint8Array(4)), 1);
  });

  test('payloads larger than an arena and many small ones round trip', async () => {
    const { file } = await openMemoryFile();
    const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 251);
    await appendNumbered(file, 10);
    await file.append(big);
    await appendNumbered(file, 10);
    const read = await file.readOne(10);
    assert.deepEqual(read?.payload, big);
    assert.equal(text((await file.readOne(20))!.payload), 'event-20');
    file.assertInvariants();
  });

  test('timestamps come from the file clock', async () => {
    const { file, clock } = await openMemoryFile();
    await file.append(bytes('a'));
    await clock.advance(1500);
    await file.appendBatch([bytes('b'), bytes('c')]);
    const [a, b, c] = await file.readRange(0, 3);
    assert.equal(b!.timestampNs - a!.timestampNs, 1_500_000_000n);
    assert.equal(b!.timestampNs, c!.timestampNs);
  });
});

describe('reads', () => {
  test('readRange(2,5) → 2,3,4; (5,5) and (10,3) are empty', async () => {
    const { file } = await openMemoryFile();
    await appendNumbered(file, 8);
    assert.deepEqual(
      (await file.readRange(2, 5)).map((event) => event.seq),
      [2, 3, 4],
    );
    assert.deepEqual(await file.readRange(5, 5), []);
    assert.deepEqual(await file.readRange(10, 3), []);
    assert.deepEqual(
      (await file.readRange(6, 100)).map((event) => event.seq),
      [6, 7],
    );
  });

  test('readOne of a missing or evicted seq is null', async () => {
    const { file } = await openMemoryFile({ retention: { maxEvents: 2 } });
    await appendNumbered(file, 5);
    await file.sweepRetention();
    assert.equal(await file.readOne(0), null);
    assert.equal(await file.readOne(2), null);
    assert.equal(text((await file.readOne(3))!.payload), 'event-3');
    assert.equal(await file.readOne(5), null);
    assert.equal(await file.readOne(1_000_000), null);
  });

  test('readRangeLimited: budget 250 over 100-byte events → 2; budget 1 → 1', async () => {
    const { file } = await openMemoryFile();
    for (let i = 0; i < 10; i++) await file.append(new Uint8Array(100));
    assert.equal((await file.readRangeLimited(0, 10, 250, 0)).length, 2);
    assert.equal((await file.readRangeLimited(0, 10, 250, 12)).length, 2);
    assert.equal((await file.readRangeLimited(0, 10, 1, 0)).length, 1);
    assert.equal((await file.readRangeLimited(0, 10, 224, 12)).length, 2);
    assert.equal((await file.readRangeLimited(0, 10, 223, 12)).length, 1);
    assert.equal((await file.readRangeLimited(3, 10, 100_000, 12)).length, 7);
    assert.deepEqual(await file.readRangeLimited(10, 20, 1000, 0), []);
  });

  test('seq arguments are checked', async () => {
    const { file } = await openMemoryFile();
    await assert.rejects(file.readRange(-1, 3), { code: RedexErrorCode.InvalidArgument });
    await assert.rejects(file.readOne(1.5), { code: RedexErrorCode.InvalidArgument });
    await assert.rejects(file.readOne(2 ** 60), { code: RedexErrorCode.SeqRange });
    await assert.rejects(file.skipTo(Number.MAX_SAFE_INTEGER + 2), {
      code: RedexErrorCode.SeqRange,
    });
  });

  test('appends past Number.MAX_SAFE_INTEGER are SEQ_RANGE', async () => {
    const { file } = await openMemoryFile();
    await file.skipTo(Number.MAX_SAFE_INTEGER);
    assert.equal(await file.append(bytes('last')), Number.MAX_SAFE_INTEGER);
    await assert.rejects(file.append(bytes('one too many')), { code: RedexErrorCode.SeqRange });
  });
});
