// Any interleaving of appends, truncations, retention sweeps, reopens and power cuts on a
// persistent file (fsync: 'always', on a MemoryFileSystem) keeps it in agreement with an array
// model: every acknowledged event survives, and a completed cut never comes undone.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { MemoryFileSystem } from '../../../src/log/disk/memory-fs.js';
import { RedexErrorCode } from '../../../src/log/errors.js';
import { Redex } from '../../../src/log/redex.js';
import type { RedexFile } from '../../../src/log/redex-file.js';
import { VirtualClock } from '../../../src/time/virtual-clock.js';
import { payloadFor } from './helpers.js';

type Op =
  | { kind: 'append'; count: number; size: number }
  | { kind: 'truncate'; back: number }
  | { kind: 'sweep' }
  | { kind: 'reopen' }
  | { kind: 'powerCut'; keep: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      count: fc.integer({ min: 1, max: 5 }),
      size: fc.oneof(fc.integer({ min: 0, max: 80 }), fc.integer({ min: 2000, max: 40_000 })),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('truncate' as const),
      back: fc.integer({ min: -1, max: 12 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('sweep' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reopen' as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('powerCut' as const),
      keep: fc.integer({ min: 0, max: 100 }),
    }),
  },
);

const CONFIG = {
  persistent: true,
  fsync: 'always',
  cacheBytes: 20_000,
  retention: { maxEvents: 15 },
} as const;

test('a persistent file with truncations agrees with an array model across reopens and power cuts', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
      const fs = new MemoryFileSystem();
      const open = () =>
        new Redex({ dir: '/data', fs, clock: new VirtualClock() }).openFile('p/log', CONFIG);
      let file: RedexFile = await open();
      let model: { seq: number; marker: number; size: number }[] = [];
      let nextSeq = 0;
      let marker = 0;
      for (const step of ops) {
        switch (step.kind) {
          case 'append': {
            const payloads: Uint8Array[] = [];
            for (let i = 0; i < step.count; i++) payloads.push(payloadFor(marker + i, step.size));
            assert.equal(await file.appendBatch(payloads), nextSeq);
            for (let i = 0; i < step.count; i++)
              model.push({ seq: nextSeq++, marker: marker++, size: step.size });
            break;
          }
          case 'truncate': {
            const target = Math.max(0, nextSeq - step.back);
            const floor = model[0]?.seq ?? nextSeq;
            if (target < floor) {
              await assert.rejects(file.truncateFrom(target), { code: RedexErrorCode.SeqRange });
              break;
            }
            assert.equal(await file.truncateFrom(target), Math.max(0, nextSeq - target));
            if (target < nextSeq) {
              model = model.filter((event) => event.seq < target);
              nextSeq = target;
            }
            break;
          }
          case 'sweep':
            model = model.slice(Math.max(0, model.length - CONFIG.retention.maxEvents));
            await file.sweepRetention();
            break;
          case 'reopen':
            await file.close();
            file = await open();
            break;
          case 'powerCut': {
            // Nothing unsynced can matter under 'always': every acknowledged write was fsynced.
            fs.crash((_path, unsynced) => Math.floor((unsynced * step.keep) / 100));
            await file.close().catch(() => {});
            file = await open();
            break;
          }
        }
        file.assertInvariants();
        assert.equal(file.nextSeq, nextSeq);
        // A sweep resolves once its floor is durable, so the floor survives restarts too.
        assert.equal(file.firstSeq, model[0]?.seq ?? null, `${step.kind}: first seq`);
        const events = await file.readRange(0, nextSeq);
        assert.equal(events.length, model.length, `${step.kind}: retained events`);
        events.forEach((event, index) => {
          const expected = model[index]!;
          assert.equal(event.seq, expected.seq);
          assert.deepEqual(event.payload, payloadFor(expected.marker, expected.size));
        });
      }
      await file.close();
    }),
    { numRuns: 60 },
  );
});
