import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RedexErrorCode } from '../../src/log/errors.js';
import { appendNumbered, openMemoryFile } from './helpers.js';

describe('retention', () => {
  test('max events 3 over 10 keeps 7..9', async () => {
    const { file } = await openMemoryFile({ retention: { maxEvents: 3 } });
    await appendNumbered(file, 10);
    assert.equal(await file.sweepRetention(), 7);
    assert.equal(file.firstSeq, 7);
    assert.equal(file.len, 3);
    assert.equal(file.nextSeq, 10);
    assert.deepEqual(
      (await file.readRange(0, 10)).map((event) => event.seq),
      [7, 8, 9],
    );
    assert.equal(await file.append(new Uint8Array(1)), 10);
    file.assertInvariants();
  });

  test('max bytes counts 20 + payload per event', async () => {
    // 10 events of 80 bytes = 100 accounted bytes each.
    const { file } = await openMemoryFile({ retention: { maxBytes: 350 } });
    for (let i = 0; i < 10; i++) await file.append(new Uint8Array(80));
    assert.equal(await file.sweepRetention(), 7);
    assert.equal(file.firstSeq, 7);
    assert.equal(file.retainedBytes, 240);
    const exact = await openMemoryFile({ retention: { maxBytes: 300 } });
    for (let i = 0; i < 10; i++) await exact.file.append(new Uint8Array(80));
    assert.equal(await exact.file.sweepRetention(), 7);
  });

  test('max age uses the file clock; an event exactly at the cutoff is kept', async () => {
    const { file, clock } = await openMemoryFile({ retention: { maxAgeMs: 1000 } });
    await appendNumbered(file, 3); // t = 0
    await clock.advance(500);
    await appendNumbered(file, 2); // t = 500
    await clock.advance(500);
    await appendNumbered(file, 1); // t = 1000
    assert.equal(await file.sweepRetention(), 0, 'the t=0 events are exactly at the cutoff');
    await clock.advance(1);
    assert.equal(await file.sweepRetention(), 3);
    assert.equal(file.firstSeq, 3);
    await clock.advance(499);
    assert.equal(await file.sweepRetention(), 0);
    await clock.advance(1);
    assert.equal(await file.sweepRetention(), 2);
    assert.equal(file.firstSeq, 5);
  });

  test('several policies: the largest drop wins', async () => {
    const { file, clock } = await openMemoryFile({
      retention: { maxEvents: 8, maxBytes: 20 * 10 + 10 * 6, maxAgeMs: 100 },
    });
    await appendNumbered(file, 4);
    await clock.advance(200);
    for (let i = 0; i < 6; i++) await file.append(new Uint8Array(10));
    // maxEvents drops 2; maxAgeMs drops 4 (the old ones); maxBytes: accounted = 4*(20+7) + 6*30 = 288 > 260 → drops 2.
    assert.equal(await file.sweepRetention(), 4);
    assert.equal(file.firstSeq, 4);
  });

  test('no policy, no eviction; the manager sweeps every file', async () => {
    const { redex, file } = await openMemoryFile();
    await appendNumbered(file, 5);
    const other = await redex.openFile('other', { retention: { maxEvents: 1 } });
    await appendNumbered(other, 5);
    assert.equal(await redex.sweepRetention(), 4);
    assert.equal(file.len, 5);
    assert.equal(other.len, 1);
  });

  test('sweeping everything leaves an empty file that continues at its seq', async () => {
    const { file } = await openMemoryFile({ retention: { maxEvents: 0 } });
    await appendNumbered(file, 5);
    assert.equal(await file.sweepRetention(), 5);
    assert.equal(file.firstSeq, null);
    assert.equal(file.len, 0);
    assert.equal(file.retainedBytes, 0);
    assert.equal(await file.append(new Uint8Array(3)), 5);
    file.assertInvariants();
  });

  test('bad retention values are CONFIG errors naming the field', async () => {
    const { redex } = await openMemoryFile();
    await assert.rejects(
      redex.openFile('bad', { retention: { maxEvents: -1 } }),
      (error: Error & { code: string }) => {
        return error.code === RedexErrorCode.Config && /retention\.maxEvents/.test(error.message);
      },
    );
    await assert.rejects(
      redex.openFile('bad', { retention: { maxAge: 5 } as never }),
      /retention\.maxAge/,
    );
  });
});

describe('skipTo', () => {
  test('on an empty file skipTo(100) makes the next append 100', async () => {
    const { file } = await openMemoryFile();
    await file.skipTo(100);
    assert.equal(file.nextSeq, 100);
    assert.equal(file.firstSeq, null);
    assert.equal(await file.append(new Uint8Array(1)), 100);
    assert.equal(file.firstSeq, 100);
  });

  test('a target ≤ nextSeq is a no-op', async () => {
    const { file } = await openMemoryFile();
    await appendNumbered(file, 5);
    await file.skipTo(3);
    await file.skipTo(5);
    assert.equal(file.nextSeq, 5);
    assert.equal(file.len, 5);
    assert.equal(file.firstSeq, 0);
  });

  test('entries below the target are evicted', async () => {
    const { file } = await openMemoryFile();
    await appendNumbered(file, 5);
    await file.skipTo(20);
    assert.equal(file.len, 0);
    assert.equal(file.retainedBytes, 0);
    assert.equal(await file.readOne(4), null);
    assert.deepEqual(await file.readRange(0, 100), []);
    assert.equal(await file.append(new Uint8Array(1)), 20);
  });

  test('a closed file refuses skipTo with CLOSED', async () => {
    const { file } = await openMemoryFile();
    await file.close();
    await assert.rejects(file.skipTo(10), { code: RedexErrorCode.Closed });
  });
});
