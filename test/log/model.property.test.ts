// Any interleaving of appends, batches, guarded batches, sweeps, skipTo and truncateFrom keeps the file in
// agreement with a plain-array model of the log.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { RedexErrorCode, SeqMismatchError } from '../../src/log/errors.js';
import { openMemoryFile } from './helpers.js';

type Op =
  | { kind: 'append'; size: number }
  | { kind: 'batch'; sizes: number[] }
  | { kind: 'guarded'; offset: number; sizes: number[] }
  | { kind: 'sweep' }
  | { kind: 'skip'; ahead: number }
  | { kind: 'truncate'; back: number }
  | { kind: 'advance'; ms: number };

const size = fc.oneof(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 1000, max: 300_000 }));
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('append' as const), size }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('batch' as const),
      sizes: fc.array(size, { maxLength: 20 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('guarded' as const),
      offset: fc.integer({ min: -2, max: 2 }),
      sizes: fc.array(size, { maxLength: 5 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('sweep' as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('skip' as const),
      ahead: fc.integer({ min: -5, max: 20 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('truncate' as const),
      back: fc.integer({ min: -2, max: 30 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      ms: fc.integer({ min: 0, max: 100 }),
    }),
  },
);

const retention = fc.record(
  {
    maxEvents: fc.integer({ min: 0, max: 50 }),
    maxBytes: fc.integer({ min: 0, max: 1_000_000 }),
    maxAgeMs: fc.integer({ min: 0, max: 300 }),
  },
  { requiredKeys: [] },
);

interface ModelEvent {
  seq: number;
  marker: number;
  size: number;
  timeMs: number;
}

function payloadFor(marker: number, length: number): Uint8Array {
  const payload = new Uint8Array(length);
  for (let i = 0; i < length; i++) payload[i] = (marker * 31 + i) & 0xff;
  return payload;
}

test('the file agrees with an array model under any interleaving', async () => {
  await fc.assert(
    fc.asyncProperty(retention, fc.array(op, { maxLength: 60 }), async (policy, ops) => {
      const { file, clock } = await openMemoryFile({ retention: policy });
      let model: ModelEvent[] = [];
      let nextSeq = 0;
      let marker = 0;
      const push = (sizes: number[]) => {
        for (const length of sizes)
          model.push({ seq: nextSeq++, marker: marker++, size: length, timeMs: clock.nowMs() });
      };
      for (const step of ops) {
        switch (step.kind) {
          case 'append': {
            const seq = await file.append(payloadFor(marker, step.size));
            assert.equal(seq, nextSeq);
            push([step.size]);
            break;
          }
          case 'batch': {
            const first = await file.appendBatch(
              step.sizes.map((length, i) => payloadFor(marker + i, length)),
            );
            assert.equal(first, step.sizes.length === 0 ? null : nextSeq);
            push(step.sizes);
            break;
          }
          case 'guarded': {
            const expected = Math.max(0, nextSeq + step.offset);
            const payloads = step.sizes.map((length, i) => payloadFor(marker + i, length));
            if (expected === nextSeq) {
              assert.equal(
                await file.appendBatchIfNextSeq(expected, payloads),
                step.sizes.length === 0 ? null : nextSeq,
              );
              push(step.sizes);
            } else {
              await assert.rejects(file.appendBatchIfNextSeq(expected, payloads), SeqMismatchError);
            }
            break;
          }
          case 'sweep': {
            const nowMs = clock.nowMs();
            let drop = 0;
            if (policy.maxEvents !== undefined)
              drop = Math.max(drop, model.length - policy.maxEvents);
            if (policy.maxBytes !== undefined) {
              let accounted = model.reduce((sum, event) => sum + 20 + event.size, 0);
              let dropped = 0;
              while (accounted > policy.maxBytes) accounted -= 20 + model[dropped++]!.size;
              drop = Math.max(drop, dropped);
            }
            if (policy.maxAgeMs !== undefined) {
              const maxAgeMs = policy.maxAgeMs;
              const old = model.filter((event) => event.timeMs < nowMs - maxAgeMs).length;
              drop = Math.max(drop, old);
            }
            drop = Math.max(0, drop);
            assert.equal(await file.sweepRetention(), drop);
            model = model.slice(drop);
            break;
          }
          case 'skip': {
            const target = Math.max(0, nextSeq + step.ahead);
            await file.skipTo(target);
            if (target > nextSeq) {
              model = [];
              nextSeq = target;
            }
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
          case 'advance':
            await clock.advance(step.ms);
            break;
        }
        file.assertInvariants();
        assert.equal(file.nextSeq, nextSeq);
        assert.equal(file.len, model.length);
        assert.equal(file.firstSeq, model[0]?.seq ?? null);
        assert.equal(
          file.retainedBytes,
          model.reduce((sum, event) => sum + event.size, 0),
        );
      }
      const events = await file.readRange(0, nextSeq + 1);
      assert.equal(events.length, model.length);
      events.forEach((event, index) => {
        const expected = model[index]!;
        assert.equal(event.seq, expected.seq);
        assert.deepEqual(event.payload, payloadFor(expected.marker, expected.size));
      });
    }),
    { numRuns: 150 },
  );
});
