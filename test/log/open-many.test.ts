// openMany: every spec opened, in order, with at most `concurrency` opens in flight; a failure
// rejects after the opens in flight settle, and a bad concurrency is a typed error.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openMany, Redex, RedexError } from '../../src/log/index.js';

describe('openMany', () => {
  it('opens every channel, returns them in spec order, never more than `concurrency` at once', async () => {
    const redex = new Redex();
    const open = redex.openFile.bind(redex);
    let inFlight = 0;
    let peak = 0;
    redex.openFile = async (name, config) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise<void>((resolve) => queueMicrotask(resolve));
      try {
        return await open(name, config);
      } finally {
        inFlight--;
      }
    };
    const specs = Array.from({ length: 50 }, (_, i) => ({ name: `bulk/c${i}` }));
    const files = await openMany(redex, specs, { concurrency: 4 });
    assert.deepEqual(
      files.map((f) => f.name),
      specs.map((s) => s.name),
    );
    assert.equal(peak, 4);
    assert.equal(redex.fileNames.length, 50);
    await redex.close();
  });

  it('rejects with the first failure and starts no new open after it', async () => {
    const redex = new Redex();
    const specs = [
      { name: 'ok/a' },
      { name: '' },
      ...Array.from({ length: 20 }, (_, i) => ({ name: `ok/b${i}` })),
    ];
    await assert.rejects(openMany(redex, specs, { concurrency: 1 }), RedexError);
    assert.deepEqual(redex.fileNames, ['ok/a']);
    await redex.close();
  });

  it('refuses a concurrency outside 1..1024', async () => {
    const redex = new Redex();
    await assert.rejects(openMany(redex, [], { concurrency: 0 }), RedexError);
    await assert.rejects(openMany(redex, [], { concurrency: 2000 }), RedexError);
    await redex.close();
  });
});
