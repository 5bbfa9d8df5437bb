// A received chunk reassembled into the receive pool (src/wire/receive-pool.ts) goes back to the
// pool once `applySyncResponse` appended it, and only then: the log must hold copies, so reusing
// the frame's buffer for the next chunk changes nothing stored (in memory and on disk), and a
// chunk that was not applied (kept for a retry, refused, failed) is never given back.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MemoryFileSystem } from '../../src/log/disk/memory-fs.js';
import { Redex, type RedexFile } from '../../src/log/index.js';
import { VirtualClock } from '../../src/time/virtual-clock.js';
import { decodeResponse, encodeResponse, WireError } from '../../src/wire/index.js';
import {
  isLentReceiveBuffer,
  RECEIVE_POOL_FROM_BYTES,
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

const CID = channelId(5);

/** The replica's sink as the runtime builds it (attached-file.ts): runs go through applyReplicatedRun. */
function sinkOf(file: RedexFile): CatchupSink {
  return {
    get nextSeq() {
      return file.nextSeq;
    },
    appendBatchIfNextSeq: (expected, payloads) => file.applyReplicated(expected, payloads),
    appendRunIfNextSeq: (expected, run) => file.applyReplicatedRun(expected, run),
  };
}

/** `response` as the mesh hands it over: encoded, reassembled into a pooled buffer, decoded. */
function received(response: SyncResponse): { frame: Uint8Array; message: SyncResponse } {
  const encoded = encodeResponse(response);
  // Padded to the pool's smallest frame, so even a small chunk is lent: the trailing zeros read
  // as an empty epoch group, which the apply does not look at.
  const frame = takeReceiveBuffer(Math.max(encoded.length, RECEIVE_POOL_FROM_BYTES));
  frame.set(encoded);
  frame.fill(0, encoded.length);
  return { frame, message: decodeResponse(frame) };
}

async function openPair(persistent: boolean) {
  const clock = new VirtualClock();
  const leader = await new Redex({ clock }).openFile('release/leader');
  const redex = new Redex({ dir: '/data', fs: new MemoryFileSystem(), clock });
  const replica = await redex.openFile('release/replica', {
    persistent,
    fsync: 'never',
    cacheBytes: 40_000,
  } as never);
  return { leader, replica };
}

async function contents(file: RedexFile) {
  return (await file.readRange(0, file.nextSeq)).map((event) =>
    Buffer.from(event.payload).toString('hex'),
  );
}

async function serve(leader: RedexFile, sinceSeq: number, chunkMax: number) {
  const outcome = await handleSyncRequest(
    leader,
    {
      kind: 'request',
      channelId: CID,
      sinceSeq,
      chunkMax,
      requestId: 7n,
      syncClass: SyncClass.Foreground,
    },
    CID,
  );
  assert.equal(outcome.kind, 'response');
  return (outcome as { response: SyncResponse }).response;
}

describe('catch-up frames and the receive pool', () => {
  for (const persistent of [false, true]) {
    const where = persistent ? 'on disk' : 'in memory';
    it(`an applied chunk is released, and overwriting it changes nothing stored (${where}, property)`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.oneof(
              fc.uint8Array({ maxLength: 40 }),
              fc.uint8Array({ minLength: 200, maxLength: 2000 }),
            ),
            { minLength: 1, maxLength: 200 },
          ),
          fc.integer({ min: 500, max: 200_000 }),
          async (payloads, chunkMax) => {
            const { leader, replica } = await openPair(persistent);
            await leader.appendBatch(payloads);
            const sink = sinkOf(replica);
            while (replica.nextSeq < leader.nextSeq) {
              const { frame, message } = received(await serve(leader, replica.nextSeq, chunkMax));
              const result = await applySyncResponse(sink, message, CID);
              assert.equal(result.ok, true);
              assert.equal(isLentReceiveBuffer(frame), false, 'released after the append');
              frame.fill(0xa5); // what reassembling the next chunk into it does
            }
            assert.deepEqual(await contents(replica), await contents(leader));
            await leader.close();
            await replica.close();
          },
        ),
        { numRuns: 25 },
      );
    });
  }

  for (const persistent of [false, true]) {
    it(`a 1 MiB chunk of 256-byte events is copied, not kept (${persistent ? 'on disk' : 'in memory'})`, async () => {
      const { leader, replica } = await openPair(persistent);
      await leader.appendBatch(
        Array.from({ length: 4000 }, (_, i) => new Uint8Array(256).fill(i & 0xff)),
      );
      const { frame, message } = received(await serve(leader, 0, 0));
      assert.ok(frame.length > 1_000_000);
      assert.equal((await applySyncResponse(sinkOf(replica), message, CID)).ok, true);
      assert.equal(isLentReceiveBuffer(frame), false);
      frame.fill(0x5a);
      assert.deepEqual(await contents(replica), await contents(leader));
      await leader.close();
      await replica.close();
    });
  }

  it('a chunk that is not applied stays lent: a gap (kept for a retry), a stale one, a failed append', async () => {
    const { leader, replica } = await openPair(false);
    await leader.appendBatch(Array.from({ length: 20 }, (_, i) => new Uint8Array(100).fill(i)));
    const sink = sinkOf(replica);

    const ahead = received(await serve(leader, 5, 1000));
    const gap = await applySyncResponse(sink, ahead.message, CID);
    assert.equal(gap.ok || gap.error.kind, 'GapBeforeChunk');
    assert.ok(isLentReceiveBuffer(ahead.frame));

    const first = received(await serve(leader, 0, 1000));
    assert.equal((await applySyncResponse(sink, first.message, CID)).ok, true);
    const again = received(await serve(leader, 0, 1000));
    const stale = await applySyncResponse(sink, again.message, CID);
    assert.equal(stale.ok || stale.error.kind, 'StaleChunk');
    assert.ok(isLentReceiveBuffer(again.frame));

    const failing: CatchupSink = {
      nextSeq: replica.nextSeq,
      appendBatchIfNextSeq: () => Promise.reject(new Error('disk full')),
      appendRunIfNextSeq: () => Promise.reject(new Error('disk full')),
    };
    const next = received(await serve(leader, replica.nextSeq, 1000));
    const failed = await applySyncResponse(failing, next.message, CID);
    assert.equal(failed.ok || failed.error.kind, 'AppendFailed');
    assert.ok(isLentReceiveBuffer(next.frame));
    await leader.close();
    await replica.close();
  });

  it('a corrupt chunk in a pooled buffer is a WireError and nothing is released', () => {
    const response: SyncResponse = {
      kind: 'response',
      channelId: CID,
      firstSeq: 0,
      leaderFirstRetainedSeq: 0,
      requestId: 1n,
      events: Array.from({ length: 300 }, (_, seq) => ({ seq, payload: new Uint8Array(256) })),
    };
    const encoded = encodeResponse(response);
    const frame = takeReceiveBuffer(encoded.length);
    frame.set(encoded);
    // The last event claims more bytes than the frame holds.
    new DataView(frame.buffer).setUint32(encoded.length - 256 - 4, 0xffff_ff00, true);
    assert.throws(() => decodeResponse(frame), WireError);
    assert.ok(isLentReceiveBuffer(frame));
  });
});
