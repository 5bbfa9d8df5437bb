// `RedexFile.applyReplicatedRun`: appending payloads that lie in one buffer must give exactly the
// log `applyReplicated` gives for the same payloads (seqs, payloads, timestamps, and on disk the
// very same file bytes), and a malformed run is refused before anything is written.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MemoryFileSystem } from '../../src/log/disk/memory-fs.js';
import { RedexErrorCode } from '../../src/log/errors.js';
import { MemoryStore } from '../../src/log/memory-store.js';
import { checkPayloadRun, type PayloadRun, payloadRunOf } from '../../src/log/payload-run.js';
import { Redex } from '../../src/log/redex.js';
import type { RedexFile } from '../../src/log/redex-file.js';
import { VirtualClock } from '../../src/time/virtual-clock.js';

const CHANNEL = 'runs/x';

/** A run whose payloads sit in a larger buffer with `gap` bytes of other data between them. */
function spacedRun(payloads: readonly Uint8Array[], gap: number): PayloadRun {
  const count = payloads.length;
  let total = gap;
  for (const payload of payloads) total += payload.byteLength + gap;
  const bytes = new Uint8Array(total).fill(0xee);
  const offsets = new Uint32Array(count);
  const lengths = new Uint32Array(count);
  let at = gap;
  payloads.forEach((payload, i) => {
    bytes.set(payload, at);
    offsets[i] = at;
    lengths[i] = payload.byteLength;
    at += payload.byteLength + gap;
  });
  return { bytes, offsets, lengths, count };
}

async function open(persistent: boolean, fs: MemoryFileSystem, clock: VirtualClock) {
  const redex = new Redex({ dir: '/data', fs, clock });
  const file = await redex.openFile(CHANNEL, {
    persistent,
    fsync: 'never',
    cacheBytes: 50_000,
  } as never);
  return file;
}

async function fileBytes(fs: MemoryFileSystem): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for (const path of fs.paths) {
    const handle = await fs.open(path, 'read');
    const into = new Uint8Array(await handle.size());
    await handle.read(into, 0);
    await handle.close();
    out.set(path, into);
  }
  return out;
}

async function contents(file: RedexFile) {
  return (await file.readRange(0, file.nextSeq)).map((event) => ({
    seq: event.seq,
    payload: Buffer.from(event.payload).toString('hex'),
    timestampNs: event.timestampNs,
  }));
}

const payload = fc.oneof(
  fc.uint8Array({ maxLength: 80 }),
  fc.uint8Array({ minLength: 100, maxLength: 3000 }),
);
const chunks = fc.array(
  fc.record({
    payloads: fc.array(payload, { maxLength: 30 }),
    gap: fc.integer({ min: 0, max: 40 }),
  }),
  { minLength: 1, maxLength: 8 },
);

describe('applyReplicatedRun', () => {
  for (const persistent of [true, false]) {
    it(`gives the same log as applyReplicated (${persistent ? 'on disk' : 'in memory'})`, async () => {
      await fc.assert(
        fc.asyncProperty(chunks, async (batches) => {
          const viaArray = { fs: new MemoryFileSystem(), clock: new VirtualClock() };
          const viaRun = { fs: new MemoryFileSystem(), clock: new VirtualClock() };
          const a = await open(persistent, viaArray.fs, viaArray.clock);
          const b = await open(persistent, viaRun.fs, viaRun.clock);
          for (const [index, batch] of batches.entries()) {
            await viaArray.clock.advance(index + 1);
            await viaRun.clock.advance(index + 1);
            const expected = a.nextSeq;
            const first = await a.applyReplicated(expected, batch.payloads);
            const got = await b.applyReplicatedRun(expected, spacedRun(batch.payloads, batch.gap));
            assert.equal(got, first);
            assert.equal(b.nextSeq, a.nextSeq);
          }
          assert.deepEqual(await contents(b), await contents(a));
          b.assertInvariants();
          await a.close();
          await b.close();
          if (persistent)
            assert.deepEqual(await fileBytes(viaRun.fs), await fileBytes(viaArray.fs));
        }),
        { numRuns: 60 },
      );
    });
  }

  it('a chunk is copied, never kept: overwriting its buffer afterwards changes nothing stored', () => {
    const store = new MemoryStore(10);
    const payloads = Array.from({ length: 5000 }, (_, i) => new Uint8Array(256).fill(i & 0xff));
    // As in a SyncResponse: a 12-byte header before each payload (copied as one span per arena).
    const run = spacedRun(payloads, 12);
    store.pushRun({ run, payloadBytes: checkPayloadRun(run) }, 5n);
    assert.equal(store.nextSeq, 5010);
    assert.notEqual(store.payloadAt(11).buffer, run.bytes.buffer);
    run.bytes.fill(0x55); // the receive pool reuses the frame for the next chunk
    for (const [i, payload] of payloads.entries())
      assert.deepEqual(store.payloadAt(10 + i), payload);
    store.push(new Uint8Array([1, 2, 3]), 6n);
    store.evictPrefix(100);
    store.truncateFrom(5005);
    store.assertInvariants();
    assert.deepEqual(store.payloadAt(5004), payloads[4994]);
    assert.equal(store.payloadBytes, (5005 - 110) * 256);
  });

  it('a run stores the same rows as pushing its payloads one by one, and keeps no reference to it (property)', () => {
    // Runs are copied in spans (payloads close together, with the bytes between them) that never
    // cross an arena; mixed with single pushes and evictions (the head moves, so the columns
    // slide or grow) they must match a plain model, whatever is later written over the run.
    const op = fc.oneof(
      fc.record({ kind: fc.constant('push' as const), size: fc.nat({ max: 40 }) }),
      fc.record({
        kind: fc.constant('run' as const),
        count: fc.integer({ min: 1, max: 700 }),
        size: fc.oneof(fc.nat({ max: 64 }), fc.integer({ min: 200, max: 3000 })),
        gap: fc.oneof(fc.constant(12), fc.nat({ max: 100 })),
      }),
      fc.record({ kind: fc.constant('evict' as const), count: fc.nat({ max: 400 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 12 }), (ops) => {
        const store = new MemoryStore(3);
        const model: Array<{ payload: Uint8Array; ts: bigint }> = [];
        let first = 3;
        let stamp = 0n;
        for (const o of ops) {
          stamp++;
          if (o.kind === 'push') {
            const payload = new Uint8Array(o.size).fill(Number(stamp) & 0xff);
            store.push(payload, stamp);
            model.push({ payload, ts: stamp });
          } else if (o.kind === 'run') {
            const payloads = Array.from({ length: o.count }, (_, i) =>
              new Uint8Array(o.size).fill((i + Number(stamp)) & 0xff),
            );
            const run = spacedRun(payloads, o.gap);
            store.pushRun({ run, payloadBytes: checkPayloadRun(run) }, stamp);
            run.bytes.fill(0xaa);
            for (const payload of payloads) model.push({ payload, ts: stamp });
          } else {
            const count = Math.min(o.count, store.count);
            store.evictPrefix(count);
            model.splice(0, count);
            first += count;
          }
          store.assertInvariants();
        }
        assert.equal(store.firstSeq, first);
        assert.equal(store.count, model.length);
        model.forEach(({ payload, ts }, i) => {
          assert.deepEqual(store.payloadAt(first + i), payload);
          assert.equal(store.timestampAt(first + i), ts);
        });
      }),
      { numRuns: 60 },
    );
  });

  it('payloads far apart are copied one by one, not with the bytes between them', () => {
    const store = new MemoryStore();
    const payloads = [new Uint8Array(8).fill(1), new Uint8Array(8).fill(2)];
    // 100 bytes of gap before an 8-byte payload: not worth storing, so no span is copied.
    store.pushRun({ run: spacedRun(payloads, 100), payloadBytes: 16 }, 1n);
    assert.equal(store.payloadAt(1).byteOffset - store.payloadAt(0).byteOffset, 8);
    const close = [new Uint8Array(256).fill(3), new Uint8Array(256).fill(4)];
    store.pushRun({ run: spacedRun(close, 12), payloadBytes: 512 }, 2n);
    assert.equal(store.payloadAt(3).byteOffset - store.payloadAt(2).byteOffset, 256 + 12);
    store.assertInvariants();
  });

  for (const persistent of [true, false]) {
    it(`a malformed run is INVALID_ARGUMENT and writes nothing (${persistent ? 'on disk' : 'in memory'})`, async () => {
      const fs = new MemoryFileSystem();
      const file = await open(persistent, fs, new VirtualClock());
      await file.applyReplicated(0, [new Uint8Array([9])]);
      const before = persistent ? await fileBytes(fs) : null;
      const good = payloadRunOf([new Uint8Array(10), new Uint8Array(20)]);
      const bad: PayloadRun[] = [
        // Truncated: the last payload reaches past the buffer.
        { ...good, bytes: good.bytes.subarray(0, 29) },
        // A length past the end.
        { ...good, lengths: Uint32Array.of(10, 0xffff_ffff) },
        // An offset past the end.
        { ...good, offsets: Uint32Array.of(0, 31) },
        // More payloads claimed than described.
        { ...good, count: 3 },
        { ...good, count: -1 },
        { ...good, offsets: [0, 10] as unknown as Uint32Array },
        null as unknown as PayloadRun,
      ];
      for (const run of bad) {
        await assert.rejects(file.applyReplicatedRun(1, run), (error: { code?: string }) => {
          assert.equal(error.code, RedexErrorCode.InvalidArgument);
          return true;
        });
      }
      assert.equal(file.nextSeq, 1);
      await file.sync();
      if (persistent) assert.deepEqual(await fileBytes(fs), before);
      assert.deepEqual(
        (await file.readRange(0, 5)).map((event) => [...event.payload]),
        [[9]],
      );
      // The guard still applies to runs: a wrong expected seq is SEQ_MISMATCH.
      await assert.rejects(file.applyReplicatedRun(0, good), (error: { code?: string }) => {
        assert.equal(error.code, RedexErrorCode.SeqMismatch);
        return true;
      });
      assert.equal(await file.applyReplicatedRun(1, good), 1);
      assert.equal(await file.applyReplicatedRun(3, payloadRunOf([])), null);
      assert.equal(file.nextSeq, 3);
      await file.close();
    });
  }
});
