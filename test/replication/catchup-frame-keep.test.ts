// A received chunk that the receive pool never lent (a frame smaller than the pool's smallest,
// reassembled into a buffer of its own, or a view of one socket read) is kept by the log as it
// is, not copied: nothing writes to it again. A chunk in a pool buffer is always copied, lent now
// or lent before, since a later frame is reassembled into it. The log side: `MemoryStore.pushRun`
// keeps only runs marked `keep`, large and dense enough, and copies after one open a small arena.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MemoryFileSystem } from '../../src/log/disk/memory-fs.js';
import { Redex, type RedexFile } from '../../src/log/index.js';
import { KEEP_RUN_BYTES_MIN, MemoryStore } from '../../src/log/memory-store.js';
import { checkPayloadRun, type PayloadRun } from '../../src/log/payload-run.js';
import { VirtualClock } from '../../src/time/virtual-clock.js';
import { decodeResponse, encodeResponse } from '../../src/wire/index.js';
import {
  inReceivePool,
  RECEIVE_POOL_FROM_BYTES,
  releaseReceivedFrame,
  takeReceiveBuffer,
} from '../../src/wire/receive-pool.js';
import { channelId } from './helpers.js';
import {
  applySyncResponse,
  type CatchupSink,
  handleSyncRequest,
  SyncClass,
  type SyncResponse,
} from './imports.js';

const CID = channelId(6);

function sinkOf(file: RedexFile): CatchupSink {
  return {
    get nextSeq() {
      return file.nextSeq;
    },
    appendBatchIfNextSeq: (expected, payloads) => file.applyReplicated(expected, payloads),
    appendRunIfNextSeq: (expected, run) => file.applyReplicatedRun(expected, run),
  };
}

async function openPair(persistent: boolean) {
  const clock = new VirtualClock();
  const leader = await new Redex({ clock }).openFile('keep/leader');
  const redex = new Redex({ dir: '/data', fs: new MemoryFileSystem(), clock });
  const replica = await redex.openFile('keep/replica', { persistent, fsync: 'never' } as never);
  return { leader, replica };
}

async function serve(leader: RedexFile, sinceSeq: number): Promise<SyncResponse> {
  const outcome = await handleSyncRequest(
    leader,
    {
      kind: 'request',
      channelId: CID,
      sinceSeq,
      chunkMax: 60_000,
      requestId: 3n,
      syncClass: SyncClass.Foreground,
    },
    CID,
  );
  assert.equal(outcome.kind, 'response');
  return (outcome as { response: SyncResponse }).response;
}

/** `bytes` in a buffer of its own, as the frame decoder reassembles a frame below the pool's size. */
function ownFrame(bytes: Uint8Array): Uint8Array {
  const frame = new Uint8Array(Buffer.allocUnsafeSlow(bytes.length).buffer, 0, bytes.length);
  frame.set(bytes);
  return frame;
}

/** A run of `count` payloads of `size` bytes, 12 bytes apart (as in a SyncResponse). */
function spacedRun(count: number, size: number, keep: boolean): PayloadRun {
  const bytes = new Uint8Array(12 + count * (size + 12));
  const offsets = new Uint32Array(count);
  const lengths = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    offsets[i] = 12 + i * (size + 12);
    lengths[i] = size;
    bytes.fill(i & 0xff, offsets[i]!, offsets[i]! + size);
  }
  return { bytes, offsets, lengths, count, keep };
}

describe('kept chunks', () => {
  for (const persistent of [false, true]) {
    const where = persistent ? 'on disk' : 'in memory';
    it(`a chunk outside the receive pool is kept as it is, not copied (${where})`, async () => {
      const { leader, replica } = await openPair(persistent);
      await leader.appendBatch(Array.from({ length: 100 }, (_, i) => new Uint8Array(256).fill(i)));
      const frame = ownFrame(encodeResponse(await serve(leader, 0)));
      assert.ok(frame.length < RECEIVE_POOL_FROM_BYTES);
      assert.equal(inReceivePool(frame), false);
      const result = await applySyncResponse(sinkOf(replica), decodeResponse(frame), CID);
      assert.equal(result.ok, true);
      const stored = await replica.readRange(0, 100);
      assert.equal(stored.length, 100);
      for (const event of stored) {
        assert.equal(event.payload.buffer, frame.buffer, 'a view of the received frame');
        assert.deepEqual(event.payload, new Uint8Array(256).fill(event.seq));
      }
      await leader.close();
      await replica.close();
    });

    it(`a chunk in a pool buffer released before is copied (${where})`, async () => {
      const { leader, replica } = await openPair(persistent);
      await leader.appendBatch(Array.from({ length: 100 }, (_, i) => new Uint8Array(256).fill(i)));
      const encoded = encodeResponse(await serve(leader, 0));
      const frame = takeReceiveBuffer(RECEIVE_POOL_FROM_BYTES);
      frame.set(encoded);
      frame.fill(0, encoded.length);
      // Given back already (a stale holder): its bytes may belong to the next frame any time.
      releaseReceivedFrame(frame);
      assert.ok(inReceivePool(frame));
      const result = await applySyncResponse(sinkOf(replica), decodeResponse(frame), CID);
      assert.equal(result.ok, true);
      frame.fill(0x5a);
      for (const event of await replica.readRange(0, 100)) {
        assert.notEqual(event.payload.buffer, frame.buffer);
        assert.deepEqual(event.payload, new Uint8Array(256).fill(event.seq));
      }
      await leader.close();
      await replica.close();
    });
  }
});

describe('MemoryStore.pushRun with keep', () => {
  it('keeps a large dense run; copies a small one, a sparse one and one not marked', () => {
    const store = new MemoryStore();
    const kept = spacedRun(64, 256, true);
    const small = spacedRun(4, 256, true);
    const unmarked = spacedRun(64, 256, false);
    // Payloads far apart: the run would pin four times its payload bytes.
    const sparse = { ...spacedRun(64, 256, true), bytes: new Uint8Array(64 * 268 * 4) };
    for (const run of [kept, small, unmarked, sparse])
      store.pushRun({ run, payloadBytes: checkPayloadRun(run) }, 1n);
    store.assertInvariants();
    assert.ok(64 * 256 >= KEEP_RUN_BYTES_MIN);
    assert.equal(store.payloadAt(0).buffer, kept.bytes.buffer);
    assert.notEqual(store.payloadAt(64).buffer, small.bytes.buffer);
    assert.notEqual(store.payloadAt(68).buffer, unmarked.bytes.buffer);
    assert.notEqual(store.payloadAt(132).buffer, sparse.bytes.buffer);
    // The copies after a kept run go to an arena much smaller than a full one.
    assert.ok(store.payloadAt(64).buffer.byteLength <= 64 << 10);
  });

  it('kept and copied runs, mixed with pushes, evictions and truncations, match a model (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({
              kind: fc.constant('run' as const),
              count: fc.integer({ min: 1, max: 80 }),
              size: fc.integer({ min: 0, max: 600 }),
              keep: fc.boolean(),
            }),
            fc.record({ kind: fc.constant('push' as const), size: fc.nat({ max: 300 }) }),
            fc.record({ kind: fc.constant('evict' as const), count: fc.nat({ max: 100 }) }),
            fc.record({ kind: fc.constant('truncate' as const), back: fc.nat({ max: 30 }) }),
          ),
          { maxLength: 40 },
        ),
        (ops) => {
          const store = new MemoryStore();
          let model: Uint8Array[] = [];
          let first = 0;
          let fill = 0;
          for (const op of ops) {
            if (op.kind === 'run') {
              const run = spacedRun(op.count, op.size, op.keep);
              for (let i = 0; i < op.count; i++)
                run.bytes.fill(++fill & 0xff, run.offsets[i]!, run.offsets[i]! + op.size);
              store.pushRun({ run, payloadBytes: checkPayloadRun(run) }, 2n);
              for (let i = 0; i < op.count; i++)
                model.push(run.bytes.slice(run.offsets[i]!, run.offsets[i]! + op.size));
              if (!op.keep) run.bytes.fill(0x77); // a copied run's buffer may be reused
            } else if (op.kind === 'push') {
              const payload = new Uint8Array(op.size).fill(++fill & 0xff);
              store.push(payload, 3n);
              model.push(payload.slice());
            } else if (op.kind === 'evict') {
              const count = Math.min(op.count, model.length);
              store.evictPrefix(count);
              model = model.slice(count);
              first += count;
            } else {
              const keep = Math.max(0, model.length - op.back);
              store.truncateFrom(first + keep);
              model = model.slice(0, keep);
            }
            store.assertInvariants();
          }
          assert.equal(store.count, model.length);
          for (const [i, payload] of model.entries())
            assert.deepEqual(store.payloadAt(first + i), payload);
        },
      ),
      { numRuns: 200 },
    );
  });
});
