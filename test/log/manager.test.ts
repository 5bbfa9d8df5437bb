import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RedexErrorCode } from '../../src/log/errors.js';
import { Redex } from '../../src/log/redex.js';
import { bytes } from './helpers.js';

describe('Redex manager', () => {
  test('reopen returns the same handle, also for concurrent opens', async () => {
    const redex = new Redex();
    const [a, b] = await Promise.all([redex.openFile('orders'), redex.openFile('orders')]);
    assert.equal(a, b);
    assert.equal(await redex.openFile('orders'), a);
    assert.deepEqual(redex.fileNames, ['orders']);
  });

  test('a reopen with a different config is a CONFIG error', async () => {
    const redex = new Redex();
    await redex.openFile('orders', { retention: { maxEvents: 10 } });
    await assert.rejects(redex.openFile('orders', { retention: { maxEvents: 11 } }), {
      code: RedexErrorCode.Config,
    });
    // Same config written another way (key order, defaults spelled out) is the same config.
    await redex.openFile('orders', { tailBufferSize: 1 << 20, retention: { maxEvents: 10 } });
  });

  test('a closed file refuses appends with CLOSED; reopening gives a fresh handle', async () => {
    const redex = new Redex();
    const file = await redex.openFile('orders');
    await file.append(bytes('a'));
    assert.equal(await redex.closeFile('orders'), true);
    assert.equal(file.closed, true);
    await assert.rejects(file.append(bytes('b')), (error: Error & { code: string }) => {
      return (
        error.code === RedexErrorCode.Closed &&
        /^redex: file "orders" is closed/.test(error.message)
      );
    });
    await assert.rejects(file.readRange(0, 1), { code: RedexErrorCode.Closed });
    await file.close(); // idempotent
    const again = await redex.openFile('orders');
    assert.notEqual(again, file);
    assert.equal(again.nextSeq, 0, 'in-memory data does not outlive close');
    assert.equal(await redex.closeFile('missing'), false);
  });

  test('closing a file directly makes the manager forget it', async () => {
    const redex = new Redex();
    const file = await redex.openFile('orders');
    await file.close();
    assert.deepEqual(redex.fileNames, []);
  });

  test('closeAndUnlinkFile closes and forgets', async () => {
    const redex = new Redex();
    const file = await redex.openFile('orders/audit');
    await redex.closeAndUnlinkFile('orders/audit');
    assert.equal(file.closed, true);
    assert.deepEqual(redex.fileNames, []);
  });

  test('invalid names and configs are refused with typed errors', async () => {
    const redex = new Redex();
    await assert.rejects(redex.openFile('Bad Name'), { code: RedexErrorCode.ChannelName });
    await assert.rejects(redex.openFile('ok', { tailBufferSize: -1 }), /tailBufferSize/);
    await assert.rejects(redex.openFile('ok', { fsync: 'sometimes' as never }), /'fsync'/);
    await assert.rejects(
      redex.openFile('ok', { bogus: 1 } as never),
      /'bogus' is not a file config field/,
    );
    await assert.rejects(
      redex.openFile('ok', { persistent: true }),
      (error: Error & { code: string }) => {
        return error.code === RedexErrorCode.Config && /no 'dir'/.test(error.message);
      },
    );
    assert.throws(() => new Redex({ dir: '' }), { code: RedexErrorCode.Config });
  });

  test('close() closes every file and refuses new opens', async () => {
    const redex = new Redex();
    const a = await redex.openFile('a');
    const b = await redex.openFile('b');
    await redex.close();
    assert.equal(a.closed && b.closed, true);
    await assert.rejects(redex.openFile('c'), { code: RedexErrorCode.Closed });
  });
});
