import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { channelId } from './helpers.js';
import {
  applySyncResponse,
  BACKGROUND_CHUNK_BYTES_MAX,
  type CatchupEvent,
  type CatchupSink,
  type CatchupSource,
  CHUNK_BYTES_MAX,
  chunkBudgetBytes,
  EVENT_OVERHEAD_BYTES,
  handleSyncRequest,
  NackCode,
  SeqMismatchError,
  SyncClass,
  type SyncRequest,
  type SyncRequestOutcome,
  type SyncResponse,
  syncResponseEncodedBytes,
} from './imports.js';

const CID = channelId(1);
const OTHER = channelId(2);

/** An in-test log: events [firstSeq, nextSeq) retained, payload lengths given per seq. */
class FakeLog implements CatchupSource, CatchupSink {
  readonly events = new Map<number, Uint8Array>();
  #next = 0;
  #first = 0;
  reads: Array<[number, number, number, number]> = [];
  appendError: Error | null = null;
  /** Appends this many foreign events right before the next guarded append (a racing writer). */
  raceAppends = 0;

  get nextSeq(): number {
    return this.#next;
  }

  get firstSeq(): number | null {
    return this.#first < this.#next ? this.#first : null;
  }

  append(payload: Uint8Array): void {
    this.events.set(this.#next++, payload);
  }

  fill(count: number, size = 10): this {
    for (let i = 0; i < count; i++) this.append(new Uint8Array(size).fill(this.#next & 0xff));
    return this;
  }

  /** Retention: evict everything below `seq`. */
  evictBelow(seq: number): this {
    for (let s = this.#first; s < seq; s++) this.events.delete(s);
    this.#first = Math.max(this.#first, seq);
    return this;
  }

  /** skipTo: evict everything and restart at `seq`. */
  skipTo(seq: number): this {
    this.events.clear();
    this.#first = seq;
    this.#next = Math.max(this.#next, seq);
    return this;
  }

  async readRangeLimited(start: number, end: number, maxBytes: number, overhead: number) {
    this.reads.push([start, end, maxBytes, overhead]);
    const out: CatchupEvent[] = [];
    let used = 0;
    for (let seq = Math.max(start, this.#first); seq < Math.min(end, this.#next); seq++) {
      const payload = this.events.get(seq)!;
      const cost = payload.length + overhead;
      if (out.length > 0 && used + cost > maxBytes) break;
      used += cost;
      out.push({ seq, payload, timestampNs: 5n });
    }
    return out;
  }

  async appendBatchIfNextSeq(expected: number, payloads: readonly Uint8Array[]) {
    for (; this.raceAppends > 0; this.raceAppends--) this.append(new Uint8Array([0xee]));
    if (this.appendError !== null) throw this.appendError;
    if (expected !== this.#next) throw new SeqMismatchError('fake', expected, this.#next);
    if (payloads.length === 0) return null;
    const first = this.#next;
    for (const p of payloads) this.append(p);
    return first;
  }
}

function request(
  sinceSeq: number,
  chunkMax = 4096,
  syncClass: SyncClass = SyncClass.Foreground,
): SyncRequest {
  return { kind: 'request', channelId: CID, sinceSeq, chunkMax, requestId: 77n, syncClass };
}

function responseOf(outcome: SyncRequestOutcome): SyncResponse {
  if (outcome.kind !== 'response') {
    assert.fail(
      `expected a response, got ${outcome.kind}: ${outcome.kind === 'nack' ? outcome.nack.detail : outcome.reason}`,
    );
  }
  return outcome.response;
}

function seqs(r: SyncResponse): number[] {
  return r.events.map((e) => e.seq);
}

describe('handleSyncRequest (leader)', () => {
  it('answers a caught-up or ahead replica with an empty response at since', async () => {
    for (const [log, since] of [
      [new FakeLog(), 0],
      [new FakeLog().fill(5), 5],
      [new FakeLog().fill(3), 100],
    ] as const) {
      const r = responseOf(await handleSyncRequest(log, request(since), CID));
      assert.deepEqual(r.events, []);
      assert.equal(r.firstSeq, since);
      assert.equal(r.requestId, 77n);
      assert.deepEqual(log.reads, [], 'nothing read');
    }
  });

  it('sends the whole range when it fits, echoing the request id', async () => {
    const log = new FakeLog().fill(5);
    const outcome = await handleSyncRequest(log, request(0), CID);
    const r = responseOf(outcome);
    assert.deepEqual(seqs(r), [0, 1, 2, 3, 4]);
    assert.equal(r.firstSeq, 0);
    assert.equal(r.leaderFirstRetainedSeq, 0);
    assert.equal(r.kind, 'response');
    assert.deepEqual(r.channelId, CID);
    assert.equal(outcome.kind === 'response' && outcome.costBytes, 63 + 5 * (12 + 10));
    assert.deepEqual(log.reads, [[0, 5, 4096, EVENT_OVERHEAD_BYTES]]);
  });

  it('stops at the chunk budget, counting 12 bytes of overhead per event', async () => {
    const log = new FakeLog().fill(10, 15); // 27 bytes each on the wire
    const r = responseOf(await handleSyncRequest(log, request(0, 60), CID));
    assert.deepEqual(seqs(r), [0, 1], '2 × 27 = 54 ≤ 60 < 81');
    const exact = responseOf(await handleSyncRequest(log, request(3, 81), CID));
    assert.deepEqual(seqs(exact), [3, 4, 5], 'a budget met exactly is not exceeded');
  });

  it('always sends the first event even when it alone exceeds chunk_max', async () => {
    const log = new FakeLog();
    log.append(new Uint8Array(200).fill(0xab));
    log.append(new Uint8Array([1]));
    const r = responseOf(await handleSyncRequest(log, request(0, 50), CID));
    assert.deepEqual(seqs(r), [0]);
    assert.equal(r.events[0]?.payload.length, 200);
  });

  it('refuses a first event above 64 MiB with BadRange pointing past it', async () => {
    const log = new FakeLog().fill(2);
    log.append(new Uint8Array(CHUNK_BYTES_MAX - EVENT_OVERHEAD_BYTES + 1));
    log.fill(1);
    const outcome = await handleSyncRequest(log, request(2, 0), CID);
    assert.equal(outcome.kind, 'nack');
    if (outcome.kind !== 'nack') return;
    assert.equal(outcome.nack.errorCode, NackCode.BadRange);
    assert.equal(outcome.nack.leaderFirstRetainedSeq, 3);
    assert.equal(outcome.nack.sinceSeq, 2);
    assert.equal(outcome.nack.requestId, 77n);
    assert.match(outcome.nack.detail, /event 2 needs/);
    // Exactly at the limit it is sent.
    const fits = new FakeLog();
    fits.append(new Uint8Array(CHUNK_BYTES_MAX - EVENT_OVERHEAD_BYTES));
    assert.deepEqual(seqs(responseOf(await handleSyncRequest(fits, request(0, 0), CID))), [0]);
  });

  it('chunk_max 0 means 64 MiB, larger values are capped at 64 MiB, Background at 4 MiB', async () => {
    assert.equal(chunkBudgetBytes(0, SyncClass.Foreground), CHUNK_BYTES_MAX);
    assert.equal(chunkBudgetBytes(0xffff_ffff, SyncClass.Foreground), CHUNK_BYTES_MAX);
    assert.equal(chunkBudgetBytes(1000, SyncClass.Foreground), 1000);
    assert.equal(chunkBudgetBytes(0, SyncClass.Background), BACKGROUND_CHUNK_BYTES_MAX);
    assert.equal(chunkBudgetBytes(0xffff_ffff, SyncClass.Background), 4 * 1024 * 1024);
    assert.equal(chunkBudgetBytes(1000, SyncClass.Background), 1000);
    assert.equal(chunkBudgetBytes(0, SyncClass.Realtime), CHUNK_BYTES_MAX);

    const log = new FakeLog().fill(3);
    await handleSyncRequest(log, request(0, 0), CID);
    await handleSyncRequest(log, request(0, 0xffff_ffff, SyncClass.Background), CID);
    assert.deepEqual(
      log.reads.map((r) => r[2]),
      [CHUNK_BYTES_MAX, BACKGROUND_CHUNK_BYTES_MAX],
    );
  });

  it('a Background response really stops at 4 MiB', async () => {
    const log = new FakeLog().fill(6, 1024 * 1024 - EVENT_OVERHEAD_BYTES); // exactly 1 MiB each
    const bg = responseOf(await handleSyncRequest(log, request(0, 0, SyncClass.Background), CID));
    assert.equal(bg.events.length, 4);
    const fg = responseOf(await handleSyncRequest(log, request(0, 0), CID));
    assert.equal(fg.events.length, 6);
  });

  it('starts at the first retained seq when the request is below the retention floor', async () => {
    const log = new FakeLog().fill(10).evictBelow(6);
    const r = responseOf(await handleSyncRequest(log, request(2), CID));
    assert.equal(r.firstSeq, 6);
    assert.equal(r.leaderFirstRetainedSeq, 6);
    assert.deepEqual(seqs(r), [6, 7, 8, 9]);
    assert.equal(log.reads[0]?.[0], 6, 'reads from the floor');
  });

  it('NACKs BadRange with the first retained seq when nothing is retained for the range', async () => {
    // Everything evicted: the next seq is the first the leader can ever serve.
    const log = new FakeLog().fill(10).evictBelow(10);
    const outcome = await handleSyncRequest(log, request(4), CID);
    assert.equal(outcome.kind, 'nack');
    if (outcome.kind !== 'nack') return;
    assert.deepEqual(outcome.nack, {
      kind: 'nack',
      channelId: CID,
      sinceSeq: 4,
      errorCode: NackCode.BadRange,
      leaderFirstRetainedSeq: 10,
      requestId: 77n,
      detail: 'since_seq 4 is below the first retained seq 10',
    });
    // The same after a skipTo on the leader.
    const skipped = new FakeLog().fill(2).skipTo(50);
    const nack = await handleSyncRequest(skipped, request(1), CID);
    assert.equal(nack.kind === 'nack' && nack.nack.leaderFirstRetainedSeq, 50);
  });

  it('NACKs BadRange when the source returns nothing although something is retained', async () => {
    const log = new FakeLog().fill(5);
    log.readRangeLimited = async () => []; // evicted between the floor check and the read
    const outcome = await handleSyncRequest(log, request(1), CID);
    assert.equal(outcome.kind === 'nack' && outcome.nack.errorCode, NackCode.BadRange);
    assert.equal(outcome.kind === 'nack' && outcome.nack.leaderFirstRetainedSeq, 0);
  });

  it('drops a request for another channel instead of answering it', async () => {
    const log = new FakeLog().fill(3);
    assert.deepEqual(await handleSyncRequest(log, { ...request(0), channelId: OTHER }, CID), {
      kind: 'drop',
      reason: 'channel-mismatch',
    });
  });

  it('clamps a source that over-delivers or skips seqs', async () => {
    const log = new FakeLog().fill(10, 10);
    log.readRangeLimited = async () => [
      { seq: 0, payload: new Uint8Array(10) },
      { seq: 1, payload: new Uint8Array(10) },
      { seq: 3, payload: new Uint8Array(10) },
    ];
    assert.deepEqual(seqs(responseOf(await handleSyncRequest(log, request(0), CID))), [0, 1]);
    log.readRangeLimited = async () =>
      Array.from({ length: 5 }, (_, seq) => ({ seq, payload: new Uint8Array(10) }));
    assert.deepEqual(seqs(responseOf(await handleSyncRequest(log, request(0, 44), CID))), [0, 1]);
  });

  it('property: responses are consecutive, within budget unless a single event, from max(since, floor)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.nat({ max: 64 }), { maxLength: 30 }),
        fc.nat({ max: 30 }),
        fc.nat({ max: 35 }),
        fc.nat({ max: 300 }),
        async (sizes, evict, since, chunkMax) => {
          const log = new FakeLog();
          for (const n of sizes) log.append(new Uint8Array(n));
          log.evictBelow(Math.min(evict, sizes.length));
          const outcome = await handleSyncRequest(log, request(since, chunkMax), CID);
          assert.notEqual(outcome.kind, 'drop');
          if (outcome.kind === 'nack') {
            assert.equal(log.firstSeq, null);
            assert.ok(since < log.nextSeq);
            return;
          }
          if (outcome.kind !== 'response') return;
          const r = outcome.response;
          if (since >= log.nextSeq) {
            assert.deepEqual(r.events, []);
            return;
          }
          const start = Math.max(since, log.firstSeq ?? 0);
          assert.equal(r.firstSeq, start);
          assert.ok(r.events.length >= 1);
          for (const [i, e] of r.events.entries()) assert.equal(e.seq, start + i);
          const bytes = r.events.reduce(
            (sum, e) => sum + EVENT_OVERHEAD_BYTES + e.payload.length,
            0,
          );
          const budget = chunkBudgetBytes(chunkMax, SyncClass.Foreground);
          if (r.events.length > 1) assert.ok(bytes <= budget);
          // Maximal: the next event would not have fitted (or there is none).
          const next = log.events.get(start + r.events.length);
          if (next !== undefined) assert.ok(bytes + EVENT_OVERHEAD_BYTES + next.length > budget);
          assert.equal(outcome.costBytes, syncResponseEncodedBytes(r));
          assert.equal(outcome.costBytes, 63 + bytes);
        },
      ),
    );
  });
});

function chunk(firstSeq: number, eventSeqs: number[], leaderFirstRetainedSeq = 0): SyncResponse {
  return {
    kind: 'response',
    channelId: CID,
    firstSeq,
    leaderFirstRetainedSeq,
    requestId: 1n,
    events: eventSeqs.map((seq) => ({ seq, payload: new Uint8Array([seq & 0xff, 0x5a]) })),
  };
}

describe('applySyncResponse (replica)', () => {
  it('applies a chunk that starts at the local tail', async () => {
    const log = new FakeLog();
    assert.deepEqual(await applySyncResponse(log, chunk(0, [0, 1, 2]), CID), {
      ok: true,
      newTail: 3,
      applied: 3,
    });
    assert.equal(log.nextSeq, 3);
    assert.deepEqual([...log.events.get(2)!], [2, 0x5a]);
  });

  it('rejects another channel before anything else', async () => {
    const log = new FakeLog().fill(5);
    const result = await applySyncResponse(log, { ...chunk(0, [0, 0]), channelId: OTHER }, CID);
    assert.deepEqual(result, { ok: false, error: { kind: 'ChannelMismatch' } });
    assert.equal(log.nextSeq, 5);
  });

  it('treats an empty chunk at or past the tail as a no-op', async () => {
    const log = new FakeLog().fill(2);
    assert.deepEqual(await applySyncResponse(log, chunk(2, []), CID), {
      ok: true,
      newTail: 2,
      applied: 0,
    });
    assert.deepEqual(await applySyncResponse(log, chunk(100, []), CID), {
      ok: true,
      newTail: 2,
      applied: 0,
    });
    assert.equal(log.nextSeq, 2);
  });

  it('an empty chunk that starts behind the tail is stale', async () => {
    const log = new FakeLog().fill(5);
    assert.deepEqual(await applySyncResponse(log, chunk(3, []), CID), {
      ok: false,
      error: { kind: 'StaleChunk', firstSeq: 3, localNext: 5 },
    });
  });

  it('rejects a first event that disagrees with first_seq', async () => {
    assert.deepEqual(await applySyncResponse(new FakeLog(), chunk(0, [5]), CID), {
      ok: false,
      error: { kind: 'FirstSeqMismatch', declared: 0, observed: 5 },
    });
  });

  it('rejects gaps, duplicates and reordering inside a chunk', async () => {
    for (const [events, index] of [
      [[0, 1, 3], 2],
      [[0, 0], 1],
      [[0, 2, 1], 1],
    ] as const) {
      const log = new FakeLog();
      assert.deepEqual(await applySyncResponse(log, chunk(0, [...events]), CID), {
        ok: false,
        error: { kind: 'NonMonotonic', index },
      });
      assert.equal(log.nextSeq, 0, 'nothing applied');
    }
  });

  it('rejects seqs past the safe-integer range instead of wrapping', async () => {
    const top = Number.MAX_SAFE_INTEGER;
    const result = await applySyncResponse(new FakeLog(), chunk(top, [top, top + 1]), CID);
    assert.deepEqual(result, { ok: false, error: { kind: 'NonMonotonic', index: 1 } });
  });

  it('rejects a chunk behind the tail as stale', async () => {
    const log = new FakeLog().fill(5);
    assert.deepEqual(await applySyncResponse(log, chunk(2, [2, 3]), CID), {
      ok: false,
      error: { kind: 'StaleChunk', firstSeq: 2, localNext: 5 },
    });
    assert.equal(log.nextSeq, 5);
  });

  it('reports a gap without divergence when the leader trimmed past the local tail', async () => {
    const log = new FakeLog().fill(2);
    assert.deepEqual(await applySyncResponse(log, chunk(5, [5], 5), CID), {
      ok: false,
      error: { kind: 'GapBeforeChunk', firstSeq: 5, localNext: 2, divergenceSuspected: false },
    });
    // An empty replica is never divergent.
    const empty = await applySyncResponse(new FakeLog(), chunk(5, [5], 0), CID);
    assert.equal(
      !empty.ok && empty.error.kind === 'GapBeforeChunk' && empty.error.divergenceSuspected,
      false,
    );
  });

  it('suspects divergence when the local tail is above the leader first retained seq', async () => {
    const log = new FakeLog().fill(2);
    assert.deepEqual(await applySyncResponse(log, chunk(5, [5], 0), CID), {
      ok: false,
      error: { kind: 'GapBeforeChunk', firstSeq: 5, localNext: 2, divergenceSuspected: true },
    });
    const atFloor = await applySyncResponse(new FakeLog().fill(2), chunk(5, [5], 2), CID);
    assert.equal(
      !atFloor.ok && atFloor.error.kind === 'GapBeforeChunk' && atFloor.error.divergenceSuspected,
      false,
    );
  });

  it('turns a seq mismatch in the guarded append into a suspected-divergence gap', async () => {
    const log = new FakeLog().fill(3);
    log.raceAppends = 2; // something wrote locally between our check and the append
    assert.deepEqual(await applySyncResponse(log, chunk(3, [3, 4]), CID), {
      ok: false,
      error: { kind: 'GapBeforeChunk', firstSeq: 3, localNext: 5, divergenceSuspected: true },
    });
    assert.equal(log.nextSeq, 5, 'the chunk itself was not applied');
  });

  it('reports any other append failure as AppendFailed with the error', async () => {
    const log = new FakeLog();
    const failure = new Error('disk full');
    log.appendError = failure;
    assert.deepEqual(await applySyncResponse(log, chunk(0, [0]), CID), {
      ok: false,
      error: { kind: 'AppendFailed', error: failure },
    });
  });

  it('property: a leader response applied to a replica at since extends it byte for byte', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ maxLength: 40 }), { minLength: 1, maxLength: 25 }),
        fc.nat({ max: 25 }),
        fc.integer({ min: 1, max: 200 }),
        async (payloads, replicaLen, chunkMax) => {
          const leader = new FakeLog();
          for (const p of payloads) leader.append(p);
          const replica = new FakeLog();
          const have = Math.min(replicaLen, payloads.length);
          for (let i = 0; i < have; i++) replica.append(payloads[i]!);
          // Pull until caught up, one chunk at a time.
          for (let rounds = 0; replica.nextSeq < leader.nextSeq; rounds++) {
            assert.ok(rounds <= payloads.length, 'progress every round');
            const r = responseOf(
              await handleSyncRequest(leader, request(replica.nextSeq, chunkMax), CID),
            );
            const applied = await applySyncResponse(replica, r, CID);
            assert.equal(applied.ok, true);
          }
          for (let seq = 0; seq < payloads.length; seq++) {
            assert.deepEqual(replica.events.get(seq), payloads[seq]);
          }
        },
      ),
    );
  });
});
