// Catch-up against the real in-memory RedexFile: the structural interfaces of catchup.ts must fit
// it as is, and a leader and a replica file must converge byte for byte.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Redex, type RedexFile } from '../../src/log/index.js';
import { channelId } from './helpers.js';
import {
  applySyncResponse,
  type CatchupSink,
  type CatchupSource,
  handleSyncRequest,
  NackCode,
  SyncClass,
  type SyncRequest,
} from './imports.js';

const CID = channelId(3);
const enc = new TextEncoder();

function request(sinceSeq: number, chunkMax: number): SyncRequest {
  return {
    kind: 'request',
    channelId: CID,
    sinceSeq,
    chunkMax,
    requestId: 1n,
    syncClass: SyncClass.Foreground,
  };
}

async function pullUntilCaughtUp(leader: RedexFile, replica: RedexFile, chunkMax: number) {
  let rounds = 0;
  while (replica.nextSeq < leader.nextSeq) {
    assert.ok(++rounds < 10_000, 'no progress');
    const outcome = await handleSyncRequest(leader, request(replica.nextSeq, chunkMax), CID);
    assert.equal(outcome.kind, 'response');
    if (outcome.kind !== 'response') return rounds;
    const applied = await applySyncResponse(replica, outcome.response, CID);
    assert.equal(applied.ok, true, JSON.stringify(applied.ok ? null : applied.error.kind));
  }
  return rounds;
}

describe('catch-up with RedexFile', () => {
  it('RedexFile is a CatchupSource and a CatchupSink', async () => {
    const redex = new Redex();
    const file = await redex.openFile('typecheck/file');
    const source: CatchupSource = file;
    const sink: CatchupSink = file;
    assert.equal(source.nextSeq, sink.nextSeq);
    await file.close();
  });

  it('a replica pulls a leader byte for byte in budget-sized chunks', async () => {
    const redex = new Redex();
    const leader = await redex.openFile('sync/leader');
    const replica = await redex.openFile('sync/replica');
    for (let i = 0; i < 200; i++)
      await leader.append(enc.encode(`event-${i}-${'x'.repeat(i % 17)}`));
    const rounds = await pullUntilCaughtUp(leader, replica, 512);
    assert.ok(rounds > 1, 'the budget split the range');
    const a = await leader.readRange(0, leader.nextSeq);
    const b = await replica.readRange(0, replica.nextSeq);
    assert.deepEqual(
      b.map((e) => [e.seq, [...e.payload]]),
      a.map((e) => [e.seq, [...e.payload]]),
    );
  });

  it('a guarded append refuses a chunk once the replica log moved (divergence suspected)', async () => {
    const redex = new Redex();
    const leader = await redex.openFile('sync/leader2');
    const replica = await redex.openFile('sync/replica2');
    for (let i = 0; i < 3; i++) await leader.append(enc.encode(`e${i}`));
    const outcome = await handleSyncRequest(leader, request(0, 0), CID);
    assert.equal(outcome.kind, 'response');
    if (outcome.kind !== 'response') return;
    const racing: CatchupSink = {
      get nextSeq() {
        return replica.nextSeq;
      },
      async appendBatchIfNextSeq(expected, payloads) {
        await replica.append(enc.encode('local write'));
        return replica.appendBatchIfNextSeq(expected, payloads);
      },
    };
    const result = await applySyncResponse(racing, outcome.response, CID);
    assert.deepEqual(result, {
      ok: false,
      error: { kind: 'GapBeforeChunk', firstSeq: 0, localNext: 1, divergenceSuspected: true },
    });
    assert.equal(replica.nextSeq, 1);
  });

  it('retention on the leader: below the floor starts at it; nothing left is BadRange', async () => {
    const redex = new Redex();
    const leader = await redex.openFile('sync/trimmed', { retention: { maxEvents: 4 } });
    for (let i = 0; i < 10; i++) await leader.append(enc.encode(`e${i}`));
    await leader.sweepRetention();
    assert.equal(leader.firstSeq, 6);
    const outcome = await handleSyncRequest(leader, request(2, 0), CID);
    assert.equal(outcome.kind === 'response' && outcome.response.firstSeq, 6);

    const replica = await redex.openFile('sync/behind');
    await replica.append(enc.encode('old'));
    if (outcome.kind !== 'response') return;
    const gap = await applySyncResponse(replica, outcome.response, CID);
    assert.deepEqual(gap, {
      ok: false,
      error: { kind: 'GapBeforeChunk', firstSeq: 6, localNext: 1, divergenceSuspected: false },
    });
    // The runtime's skip-ahead, then the same chunk applies.
    await replica.skipTo(6);
    const applied = await applySyncResponse(replica, outcome.response, CID);
    assert.deepEqual(applied, { ok: true, newTail: 10, applied: 4 });

    const empty = await redex.openFile('sync/skipped');
    await empty.append(enc.encode('a'));
    await empty.skipTo(20);
    const nack = await handleSyncRequest(empty, request(0, 0), CID);
    assert.equal(nack.kind === 'nack' && nack.nack.errorCode, NackCode.BadRange);
    assert.equal(nack.kind === 'nack' && nack.nack.leaderFirstRetainedSeq, 20);
  });
});
