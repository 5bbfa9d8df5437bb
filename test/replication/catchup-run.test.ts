// applySyncResponse on a decoded chunk through a sink that takes runs (the runtime's path) must
// decide exactly as through the array path: the same typed result for every chunk shape (stale,
// gap, first-seq mismatch, non-consecutive seqs, a moved tail) and the same log afterwards.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Redex, type RedexFile } from '../../src/log/index.js';
import { decodeResponse, encodeResponse } from '../../src/wire/index.js';
import { channelId } from './helpers.js';
import { applySyncResponse, type CatchupSink, type SyncResponse } from './imports.js';

const CID = channelId(5);

function arraySink(file: RedexFile): CatchupSink {
  return {
    get nextSeq() {
      return file.nextSeq;
    },
    appendBatchIfNextSeq: (expected, payloads) => file.applyReplicated(expected, payloads),
  };
}

function runSink(file: RedexFile, appended: { runs: number }): CatchupSink {
  return {
    ...arraySink(file),
    get nextSeq() {
      return file.nextSeq;
    },
    appendRunIfNextSeq: (expected, run) => {
      appended.runs++;
      return file.applyReplicatedRun(expected, run);
    },
  };
}

const shape = fc.record({
  local: fc.integer({ min: 0, max: 6 }),
  firstSeq: fc.integer({ min: 0, max: 8 }),
  declaredShift: fc.constantFrom(0, 0, 0, 1, -1),
  count: fc.integer({ min: 0, max: 6 }),
  // An index whose seq is bumped (non-consecutive), or -1 for none.
  bump: fc.integer({ min: -1, max: 5 }),
  size: fc.constantFrom(0, 3, 200),
  leaderFirstRetainedSeq: fc.integer({ min: 0, max: 6 }),
});

type Shape = typeof shape extends fc.Arbitrary<infer T> ? T : never;

function chunkOf(s: Shape): SyncResponse {
  const events = Array.from({ length: s.count }, (_, i) => {
    const seq = s.firstSeq + i + (i === s.bump ? 1 : 0);
    return { seq, payload: new Uint8Array(s.size).fill(seq + 1) };
  });
  return {
    kind: 'response',
    channelId: CID,
    firstSeq: Math.max(0, s.firstSeq + s.declaredShift),
    leaderFirstRetainedSeq: s.leaderFirstRetainedSeq,
    requestId: 3n,
    events,
  };
}

async function replicaAt(local: number): Promise<RedexFile> {
  const file = await new Redex().openFile('run/replica');
  for (let i = 0; i < local; i++) await file.append(new Uint8Array([0xaa, i]));
  return file;
}

describe('applySyncResponse through a run sink', () => {
  it('decides and writes exactly as the array path', async () => {
    await fc.assert(
      fc.asyncProperty(shape, async (s) => {
        const message = chunkOf(s);
        const a = await replicaAt(s.local);
        const b = await replicaAt(s.local);
        const appended = { runs: 0 };
        const viaArray = await applySyncResponse(arraySink(a), message, CID);
        const decoded = decodeResponse(encodeResponse(message));
        const viaRun = await applySyncResponse(runSink(b, appended), decoded, CID);
        assert.deepEqual(viaRun, viaArray);
        if (viaArray.ok && viaArray.applied > 0) assert.equal(appended.runs, 1);
        assert.equal(b.nextSeq, a.nextSeq);
        const read = async (file: RedexFile) =>
          (await file.readRange(0, file.nextSeq)).map((event) => [event.seq, [...event.payload]]);
        assert.deepEqual(await read(b), await read(a));
      }),
      { numRuns: 300 },
    );
  });

  it('a tail that moves before the append is GapBeforeChunk, divergence suspected', async () => {
    const file = await replicaAt(2);
    const decoded = decodeResponse(
      encodeResponse(
        chunkOf({
          local: 2,
          firstSeq: 2,
          declaredShift: 0,
          count: 3,
          bump: -1,
          size: 3,
          leaderFirstRetainedSeq: 0,
        }),
      ),
    );
    const sink: CatchupSink = {
      get nextSeq() {
        return file.nextSeq;
      },
      appendBatchIfNextSeq: () => Promise.reject(new Error('the run path must be used')),
      appendRunIfNextSeq: async (expected, run) => {
        await file.append(new Uint8Array([1])); // someone else appended meanwhile
        return file.applyReplicatedRun(expected, run);
      },
    };
    assert.deepEqual(await applySyncResponse(sink, decoded, CID), {
      ok: false,
      error: { kind: 'GapBeforeChunk', firstSeq: 2, localNext: 3, divergenceSuspected: true },
    });
    assert.equal(file.nextSeq, 3);
  });
});
