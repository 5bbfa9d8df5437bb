// The replica's catch-up pipeline through the pure step (pipeline.ts, step-apply.ts): requests
// sent ahead of the apply and in order, the bound on requests in flight, a response that lands
// past the tail (dropped, asked again), an overlap (trimmed), NACKs and a leader change clearing
// it, and a model run against a real leader's answers where responses are lost at random.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { RedexError, RedexErrorCode } from '../../src/errors/redex-error.js';
import {
  afterApply,
  applySyncResponse,
  CATCHUP_CHUNK_BYTES,
  CATCHUP_PIPELINE_DEPTH,
  type CatchupSource,
  type ChannelState,
  handleSyncRequest,
  InboundDrop,
  inbound,
  NackCode,
  onInbound,
  PIPELINE_STALL_HEARTBEATS,
  type StepEffect,
  SYNC_REQUEST_CHUNK_BYTES,
  type SyncResponse,
} from './imports.js';
import {
  CID,
  follow,
  HB,
  leaderHeartbeat,
  OTHER,
  ofKind,
  PEER,
  Role,
  state,
  view,
} from './step-fixtures.js';

/** Payload size whose wire cost (payload + 12) divides a pipelined chunk: stride 1024 events. */
const PAYLOAD = 1012;
const STRIDE = CATCHUP_CHUNK_BYTES / (PAYLOAD + 12);

function responseOf(firstSeq: number, count: number, requestId: bigint): SyncResponse {
  return {
    kind: 'response',
    channelId: CID,
    firstSeq,
    leaderFirstRetainedSeq: 0,
    requestId,
    events: Array.from({ length: count }, (_, i) => ({
      seq: firstSeq + i,
      payload: new Uint8Array(PAYLOAD).fill((firstSeq + i) % 251),
    })),
    quorum: { epoch: 1, commitSeq: 0, runs: count > 0 ? [{ epoch: 1, startSeq: firstSeq }] : [] },
  };
}

/** Stands in for the runtime's sender: every `request` effect gets a token, as sendRequest does. */
class Tokens {
  next = 100n;
  readonly bySince = new Map<number, bigint>();
  record(s: ChannelState, effects: readonly StepEffect[], nowMs: number): number[] {
    const sinces: number[] = [];
    for (const effect of ofKind(effects, 'request')) {
      const token = this.next++;
      s.outstanding.record(effect.to, token, nowMs, effect.sinceSeq);
      this.bySince.set(effect.sinceSeq, token);
      sinces.push(effect.sinceSeq);
    }
    return sinces;
  }
}

/** A replica at tail 0 following PEER, which claims `leaderTail`; its first request is sent. */
function started(leaderTail: number) {
  const s = state();
  const tokens = new Tokens();
  const sinces = tokens.record(s, follow(s, PEER, leaderTail, 1_000), 1_000);
  assert.deepEqual(sinces, [0], 'the run starts with one request from the tail');
  return { s, tokens };
}

function deliver(s: ChannelState, response: SyncResponse, tailSeq: number) {
  return onInbound(s, inbound(PEER, response), view(Role.Replica, tailSeq, 1_000));
}

describe('catch-up pipeline', () => {
  it('the first chunk teaches the stride; the next requests leave in order, before the apply', () => {
    const { s, tokens } = started(100_000);
    const effects = deliver(s, responseOf(0, 100, tokens.bySince.get(0)!), 0);
    const kinds = effects.map((e) => e.kind).filter((k) => k === 'request' || k === 'apply');
    assert.deepEqual(kinds, [...Array(CATCHUP_PIPELINE_DEPTH).fill('request'), 'apply']);
    const requests = ofKind(effects, 'request');
    assert.deepEqual(
      requests.map((r) => r.sinceSeq),
      [0, 1, 2, 3].map((i) => 100 + i * STRIDE),
      'each from where the range before it is expected to end',
    );
    assert.ok(requests.every((r) => r.chunkMax === CATCHUP_CHUNK_BYTES && r.to === PEER));
    assert.equal(s.pipeline.inFlight, CATCHUP_PIPELINE_DEPTH);
  });

  it('never more than the depth in flight, whatever arrives', () => {
    const { s, tokens } = started(100_000);
    tokens.record(s, deliver(s, responseOf(0, 100, tokens.bySince.get(0)!), 0), 1_000);
    let tail = 100;
    for (let i = 0; i < 6; i++) {
      const effects = deliver(s, responseOf(tail, STRIDE, tokens.bySince.get(tail)!), tail);
      const [apply] = ofKind(effects, 'apply');
      assert.equal(apply?.response.firstSeq, tail);
      tokens.record(s, effects, 1_000);
      tail += STRIDE;
      const after = afterApply(
        s,
        apply!,
        { ok: true, newTail: tail, applied: STRIDE },
        view(Role.Replica, tail),
      );
      assert.equal(
        ofKind(after, 'request').length,
        0,
        'already full: nothing more after the apply',
      );
      assert.equal(s.pipeline.inFlight, CATCHUP_PIPELINE_DEPTH);
      s.pipeline.assertInvariants();
    }
  });

  it('asks nothing at or past the tail the leader claims (no speculative long poll)', () => {
    const { s, tokens } = started(150);
    const effects = deliver(s, responseOf(0, 100, tokens.bySince.get(0)!), 0);
    assert.deepEqual(
      ofKind(effects, 'request').map((r) => r.sinceSeq),
      [100],
    );
  });

  it('a response past the tail (the one before it was lost) is dropped and asked again from the tail', () => {
    const { s, tokens } = started(100_000);
    tokens.record(s, deliver(s, responseOf(0, 100, tokens.bySince.get(0)!), 0), 1_000);
    // Tail 100; the answer to the request from 100 is lost, the next one arrives.
    const early = 100 + STRIDE;
    const effects = deliver(s, responseOf(early, STRIDE, tokens.bySince.get(early)!), 100);
    assert.equal(ofKind(effects, 'apply').length, 0, 'never a gap');
    assert.equal(ofKind(effects, 'quorum').length, 0, 'no history recorded for it');
    const again = ofKind(effects, 'request');
    assert.deepEqual(
      again.map((r) => [r.sinceSeq, r.chunkMax]),
      [[100, SYNC_REQUEST_CHUNK_BYTES]],
    );
    assert.equal(s.stats.pipelineRestarts, 1);
    assert.equal(s.pipeline.inFlight, 1);
    // The run's other answers are forgotten: they cannot land out of place either.
    const later = 100 + 2 * STRIDE;
    assert.deepEqual(deliver(s, responseOf(later, STRIDE, tokens.bySince.get(later)!), 100), []);
    assert.equal(s.stats.drops[InboundDrop.UnknownToken], 1);
  });

  it('a response of the run that overlaps the applied tail is applied from the tail on', () => {
    const { s, tokens } = started(100_000);
    tokens.record(s, deliver(s, responseOf(0, 100, tokens.bySince.get(0)!), 0), 1_000);
    // Suppose the log grew by 30 more than the guess (the chunk before was larger).
    const effects = deliver(s, responseOf(100, STRIDE, tokens.bySince.get(100)!), 130);
    const [apply] = ofKind(effects, 'apply');
    assert.equal(apply?.response.firstSeq, 130);
    assert.equal(apply?.response.events.length, STRIDE - 30);
    assert.equal(apply?.response.events[0]?.seq, 130);
    assert.equal(s.stats.trimmedChunks, 1);
  });

  it('a NACK clears the run; the next productive chunk starts a new one from the tail', () => {
    const { s, tokens } = started(100_000);
    tokens.record(s, deliver(s, responseOf(0, 100, tokens.bySince.get(0)!), 0), 1_000);
    const nack = {
      kind: 'nack' as const,
      channelId: CID,
      sinceSeq: 100,
      errorCode: NackCode.Backpressure,
      leaderFirstRetainedSeq: 0,
      requestId: tokens.bySince.get(100)!,
      detail: '',
    };
    onInbound(s, inbound(PEER, nack), view(Role.Replica, 100, 1_000));
    assert.equal(s.pipeline.inFlight, 0);
    assert.equal(s.pipeline.leader, null);
  });

  it('a BadRange answer to a request from past the tail asks from the tail instead of skipping', () => {
    const { s, tokens } = started(100_000);
    tokens.record(s, deliver(s, responseOf(0, 100, tokens.bySince.get(0)!), 0), 1_000);
    const since = 100 + STRIDE;
    const nack = {
      kind: 'nack' as const,
      channelId: CID,
      sinceSeq: since,
      errorCode: NackCode.BadRange,
      // An event too large to send: the leader points just past it.
      leaderFirstRetainedSeq: since + 1,
      requestId: tokens.bySince.get(since)!,
      detail: '',
    };
    const effects = onInbound(s, inbound(PEER, nack), view(Role.Replica, 100, 1_000));
    assert.equal(ofKind(effects, 'skip-to').length, 0, 'the events from 100 are not skipped');
    assert.deepEqual(
      ofKind(effects, 'request').map((r) => r.sinceSeq),
      [100],
    );
  });

  it('a run with answers due is restarted from the tail only after a longer silence', () => {
    const { s, tokens } = started(100_000);
    tokens.record(s, deliver(s, responseOf(0, 100, tokens.bySince.get(0)!), 0), 1_000);
    const beat = (nowMs: number) =>
      onInbound(s, inbound(PEER, leaderHeartbeat(100_000)), view(Role.Replica, 100, nowMs));
    assert.equal(ofKind(beat(1_000 + HB), 'request').length, 0, 'a slow write is no stall');
    const late = 1_000 + PIPELINE_STALL_HEARTBEATS * HB;
    assert.deepEqual(
      ofKind(beat(late), 'request').map((r) => r.sinceSeq),
      [100],
      'stalled: a new run from the tail',
    );
    assert.equal(s.pipeline.inFlight, 1);
  });

  it('a leader change mid-run clears it: the old leader’s answers are dropped, the new one is asked from the tail', () => {
    const { s, tokens } = started(100_000);
    tokens.record(s, deliver(s, responseOf(0, 100, tokens.bySince.get(0)!), 0), 1_000);
    assert.equal(s.pipeline.inFlight, CATCHUP_PIPELINE_DEPTH);
    const effects = onInbound(
      s,
      inbound(OTHER, leaderHeartbeat(100_000, 2)),
      view(Role.Replica, 100, 1_000 + HB),
    );
    assert.equal(s.tracker.believedLeader, OTHER);
    const requests = ofKind(effects, 'request');
    assert.deepEqual(
      requests.map((r) => [r.to, r.sinceSeq]),
      [[OTHER, 100]],
    );
    assert.equal(s.pipeline.leader, OTHER);
    assert.equal(s.pipeline.inFlight, 1);
    assert.deepEqual(deliver(s, responseOf(100, STRIDE, tokens.bySince.get(100)!), 100), []);
    assert.equal(s.stats.drops[InboundDrop.UnknownToken], 1);
  });
});

/** A leader's log of `sizes.length` events; answers with the real `handleSyncRequest`. */
function leaderLog(sizes: readonly number[]): CatchupSource & { payload(seq: number): Uint8Array } {
  const payloads = sizes.map((size, seq) => new Uint8Array(size).fill(seq % 251));
  return {
    nextSeq: payloads.length,
    firstSeq: payloads.length > 0 ? 0 : null,
    readRangeLimited(start, end, maxBytes, overhead) {
      const out = [];
      let used = 0;
      for (let seq = start; seq < end; seq++) {
        const cost = payloads[seq]!.length + overhead;
        if (seq > start && used + cost > maxBytes) break;
        used += cost;
        out.push({ seq, payload: payloads[seq]! });
      }
      return out;
    },
    payload: (seq) => payloads[seq]!,
  };
}

/** The replica's log: refuses a write that is not at its end, as the guarded append does. */
class ReplicaLog {
  readonly payloads: Uint8Array[] = [];
  get nextSeq(): number {
    return this.payloads.length;
  }
  appendBatchIfNextSeq(expected: number, batch: readonly Uint8Array[]): number {
    if (expected !== this.payloads.length)
      throw new RedexError(RedexErrorCode.SeqMismatch, 'moved');
    this.payloads.push(...batch);
    return expected;
  }
}

describe('catch-up pipeline: model run', () => {
  it('with any event sizes and answers lost for a while, the replica ends with exactly the leader’s log', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 300_000 }), { minLength: 1, maxLength: 60 }),
        fc.array(fc.boolean(), { maxLength: 40 }),
        async (sizes, losses) => {
          const leader = leaderLog(sizes);
          const replica = new ReplicaLog();
          const s = state();
          let nowMs = 1_000;
          let token = 1n;
          let lossAt = 0;
          const wire: Array<{ token: bigint; sinceSeq: number; chunkMax: number }> = [];
          const perform = async (effects: readonly StepEffect[]): Promise<void> => {
            for (const effect of effects) {
              if (effect.kind === 'request') {
                s.outstanding.record(effect.to, token, nowMs, effect.sinceSeq);
                wire.push({ token: token++, sinceSeq: effect.sinceSeq, chunkMax: effect.chunkMax });
                assert.ok(s.pipeline.inFlight <= CATCHUP_PIPELINE_DEPTH);
              } else if (effect.kind === 'apply') {
                const result = await applySyncResponse(replica, effect.response, CID);
                const after = view(Role.Replica, replica.nextSeq, nowMs);
                await perform(afterApply(s, effect, result, after));
              } else {
                assert.notEqual(effect.kind, 'skip-to', 'nothing was evicted: never a skip');
              }
            }
          };
          await perform(follow(s, PEER, leader.nextSeq, nowMs));
          for (let step = 0; step < 10_000 && replica.nextSeq < leader.nextSeq; step++) {
            const request = wire.shift();
            if (request === undefined) {
              // Nothing on the wire: the leader's next heartbeat prompts a request.
              nowMs += HB;
              const beat = inbound(PEER, leaderHeartbeat(leader.nextSeq));
              await perform(onInbound(s, beat, view(Role.Replica, replica.nextSeq, nowMs)));
              continue;
            }
            // Answers are lost while the loss pattern lasts (a flaky link that recovers).
            const lost = losses[lossAt++] === true;
            if (lost) continue;
            const outcome = await handleSyncRequest(
              leader,
              {
                kind: 'request',
                channelId: CID,
                sinceSeq: request.sinceSeq,
                chunkMax: request.chunkMax,
                requestId: request.token,
                syncClass: s.defaultClass,
              },
              CID,
            );
            assert.equal(outcome.kind, 'response');
            if (outcome.kind !== 'response') return;
            const r = outcome.response;
            const quorum = {
              epoch: 1,
              commitSeq: 0,
              runs: r.events.length > 0 ? [{ epoch: 1, startSeq: r.firstSeq }] : [],
            };
            const message = inbound(PEER, { ...r, quorum });
            await perform(onInbound(s, message, view(Role.Replica, replica.nextSeq, nowMs)));
            s.pipeline.assertInvariants();
          }
          assert.equal(replica.nextSeq, leader.nextSeq, 'caught up');
          for (let seq = 0; seq < leader.nextSeq; seq++) {
            assert.deepEqual(replica.payloads[seq], leader.payload(seq), `event ${seq}`);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
