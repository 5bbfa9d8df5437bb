// The replica's pure step driven directly: response gates, apply outcomes, skip-ahead, the
// next request or the tail report, backoff; and the pure tick (step-apply.ts, step-tick.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type ApplyEffect,
  type ApplyResult,
  afterApply,
  afterSkip,
  CATCHUP_BACKOFF_THRESHOLD,
  finishTick,
  InboundDrop,
  inbound,
  LONG_POLL_DEPTH,
  onInbound,
} from './imports.js';
import {
  elect,
  follow,
  HB,
  leaderHeartbeat,
  OTHER,
  ofKind,
  PEER,
  Role,
  SELF,
  sends,
  state,
  syncResponse,
  view,
} from './step-fixtures.js';

/** A replica following PEER, which claims `leaderTail`, with request 7 in flight. */
function following(leaderTail = 100, nowMs = 1_000) {
  const s = state();
  follow(s, PEER, leaderTail, nowMs);
  // Request 7 stands for the one the heartbeat prompted; no pipeline run is in flight.
  s.pipeline.clear();
  s.outstanding.record(PEER, 7n, nowMs);
  return s;
}

const applyOf = (tailBefore: number, retry = false): ApplyEffect => ({
  kind: 'apply',
  from: PEER,
  response: syncResponse(tailBefore, 2),
  tailBefore,
  retry,
});

const ok = (newTail: number, applied: number): ApplyResult => ({ ok: true, newTail, applied });

describe('step: responses', () => {
  it('a response under a live token from the believed leader is applied', () => {
    const s = following();
    const effects = onInbound(s, inbound(PEER, syncResponse(5, 2)), view(Role.Replica, 5));
    assert.deepEqual(ofKind(effects, 'apply'), [
      { kind: 'apply', from: PEER, response: syncResponse(5, 2), tailBefore: 5, retry: false },
    ]);
    assert.equal(s.outstanding.size, 0, 'the token is consumed');
  });

  it('a response that catches up sends both long polls from its end ahead of the write', () => {
    const s = following(7);
    const effects = onInbound(s, inbound(PEER, syncResponse(5, 2)), view(Role.Replica, 5));
    assert.deepEqual(
      effects.filter((e) => e.kind === 'request' || e.kind === 'apply').map((e) => e.kind),
      ['request', 'request', 'apply'],
      'the requests travel while the chunk is written',
    );
    assert.deepEqual(
      ofKind(effects, 'request').map((r) => r.sinceSeq),
      [7, 7],
    );
  });

  it('no long poll ahead while still behind; only as many as keep LONG_POLL_DEPTH at the leader', () => {
    const behind = following(100);
    const effects = onInbound(behind, inbound(PEER, syncResponse(5, 2)), view(Role.Replica, 5));
    assert.equal(
      ofKind(effects, 'request').filter((r) => r.sinceSeq === 7 && r.chunkMax < 1 << 20).length,
      0,
    );
    // The spare held behind the answered request is still at the leader: one more.
    const spare = following(7);
    spare.outstanding.record(PEER, 8n, 1_000, 5);
    const one = onInbound(spare, inbound(PEER, syncResponse(5, 2)), view(Role.Replica, 5));
    assert.equal(ofKind(one, 'request').length, 1);
    assert.equal(LONG_POLL_DEPTH, 2);
    const full = following(7);
    full.outstanding.record(PEER, 8n, 1_000, 5);
    full.outstanding.record(PEER, 9n, 1_000, 7);
    const none = onInbound(full, inbound(PEER, syncResponse(5, 2)), view(Role.Replica, 5));
    assert.equal(ofKind(none, 'request').length, 0);
  });

  it("an answer that starts past its request's since and the tail (a continuation whose frame before was lost) is dropped, and the replica asks from its tail", () => {
    const s = following(20);
    s.outstanding.record(PEER, 8n, 1_000, 5); // the spare, sent from 5 like the lost one
    // The leader continued from 9, where the frame it sent before (lost) ended.
    const effects = onInbound(
      s,
      inbound(PEER, { ...syncResponse(9, 3), requestId: 8n }),
      view(Role.Replica, 5),
    );
    assert.equal(ofKind(effects, 'apply').length, 0, 'never a gap');
    assert.equal(s.stats.pipelineRestarts, 1);
    assert.deepEqual(
      ofKind(effects, 'request').map((r) => r.sinceSeq),
      [5],
    );
    assert.equal(s.outstanding.size, 0, "every token to the leader is forgotten (7's too)");
    // The same start at the leader's first retained seq is retention: applied (skip-ahead).
    const evicted = following(20);
    evicted.outstanding.record(PEER, 8n, 1_000, 5);
    const skip = onInbound(
      evicted,
      inbound(PEER, { ...syncResponse(9, 3), requestId: 8n, leaderFirstRetainedSeq: 9 }),
      view(Role.Replica, 5),
    );
    assert.equal(ofKind(skip, 'apply').length, 1);
  });

  it('a continuation that starts at the tail is applied', () => {
    const s = following(20);
    s.outstanding.record(PEER, 8n, 1_000, 5);
    const effects = onInbound(
      s,
      inbound(PEER, { ...syncResponse(9, 3), requestId: 8n }),
      view(Role.Replica, 9),
    );
    assert.equal(ofKind(effects, 'apply').length, 1);
  });

  it('unknown token, another sender, or the wrong role: dropped, the token consumed anyway', () => {
    const s = following();
    assert.deepEqual(
      onInbound(s, inbound(PEER, syncResponse(5, 2, 9n)), view(Role.Replica, 5)),
      [],
    );
    assert.equal(s.stats.drops[InboundDrop.UnknownToken], 1);
    s.outstanding.record(OTHER, 7n, 1_000);
    assert.deepEqual(onInbound(s, inbound(OTHER, syncResponse(5, 2)), view(Role.Replica, 5)), []);
    assert.equal(s.stats.drops[InboundDrop.NotBelievedLeader], 1);
    assert.equal(s.outstanding.size, 1, "OTHER's token is gone, PEER's stays");
    assert.deepEqual(onInbound(s, inbound(PEER, syncResponse(5, 2)), view(Role.Candidate, 5)), []);
    assert.equal(s.stats.drops[InboundDrop.WrongRole], 1);
    assert.equal(s.outstanding.size, 0);
  });
});

describe('step: after the apply', () => {
  it('still behind the leader: record the tail and ask for the next chunk at once', () => {
    const s = following(100);
    const effects = afterApply(s, applyOf(5), ok(7, 2), view(Role.Replica, 7));
    assert.deepEqual(ofKind(effects, 'record-tail'), [{ kind: 'record-tail', tailSeq: 7 }]);
    const requests = ofKind(effects, 'request');
    assert.equal(requests.length, 1);
    assert.equal(requests[0]?.sinceSeq, 7);
    assert.equal(sends(effects).length, 0, 'the request tells the leader our tail');
    assert.equal(s.stats.chunksApplied, 1);
    assert.equal(s.stats.eventsApplied, 2);
  });

  it('caught up: report the tail to the leader, then long-poll from it', () => {
    const s = following(7);
    const effects = afterApply(s, applyOf(5), ok(7, 2), view(Role.Replica, 7));
    const kinds = effects.map((e) => e.kind).filter((k) => k === 'send' || k === 'request');
    assert.deepEqual(kinds, ['send', 'request'], 'the report goes first');
    assert.deepEqual(sends(effects), [[PEER, 'heartbeat', Role.Replica]]);
    const [report] = ofKind(effects, 'send');
    assert.equal(report?.message.kind === 'heartbeat' && report.message.tailSeq, 7);
    assert.equal(ofKind(effects, 'request')[0]?.sinceSeq, 7);
  });

  it('caught up with the long polls already on their way: the tail report alone', () => {
    const s = following(7);
    s.outstanding.record(PEER, 8n, 1_000, 7);
    const effects = afterApply(s, applyOf(5), ok(7, 2), view(Role.Replica, 7));
    assert.deepEqual(sends(effects), [[PEER, 'heartbeat', Role.Replica]]);
    assert.equal(ofKind(effects, 'request').length, 0, 'no third request');
  });

  it('caught up with nothing in flight: two long polls from the tail', () => {
    const s = following(7);
    s.outstanding.clearLeader(PEER);
    const effects = afterApply(s, applyOf(5), ok(7, 2), view(Role.Replica, 7));
    assert.deepEqual(
      ofKind(effects, 'request').map((r) => r.sinceSeq),
      [7, 7],
    );
  });

  it('no follow-up once the role moved on during the apply', () => {
    const s = following(100);
    const effects = afterApply(s, applyOf(5), ok(7, 2), view(Role.Candidate, 7));
    assert.equal(ofKind(effects, 'request').length, 0);
    assert.equal(sends(effects).length, 0);
  });

  it('a gap skips ahead to the chunk and applies it again, once', () => {
    const s = following();
    const gap: ApplyResult = {
      ok: false,
      error: { kind: 'GapBeforeChunk', firstSeq: 40, localNext: 5, divergenceSuspected: true },
    };
    const effects = afterApply(s, applyOf(5), gap, view(Role.Replica, 5));
    const [skip] = ofKind(effects, 'skip-to');
    assert.equal(skip?.seq, 40);
    assert.equal(s.stats.skipAheads, 1);
    assert.equal(s.stats.divergenceSuspected, 1);
    const again = afterSkip(s, skip!.next, view(Role.Replica, 40));
    // The history below the skip is forgotten, the chunk's runs recorded again, then the apply.
    assert.deepEqual(ofKind(again, 'apply'), [{ ...applyOf(5), retry: true }]);
    assert.equal(again.at(-1)?.kind, 'apply');
    // A second gap is an apply error, not another skip.
    assert.deepEqual(afterApply(s, applyOf(5, true), gap, view(Role.Replica, 40)), []);
    assert.equal(s.stats.applyErrors, 1);
    assert.equal(s.stats.skipAheads, 1);
  });

  it('a failed append runs the disk-pressure policy; a stale chunk is only counted', () => {
    const s = following();
    const failed: ApplyResult = {
      ok: false,
      error: { kind: 'AppendFailed', error: new Error('x') },
    };
    assert.deepEqual(afterApply(s, applyOf(5), failed, view(Role.Replica, 5)), [
      { kind: 'disk-pressure' },
    ]);
    const stale: ApplyResult = {
      ok: false,
      error: { kind: 'StaleChunk', firstSeq: 2, localNext: 5 },
    };
    assert.deepEqual(afterApply(s, applyOf(5), stale, view(Role.Replica, 5)), []);
    assert.equal(s.stats.diskPressure, 1);
    assert.equal(s.stats.staleChunks, 1);
  });

  it('empty answers from a fresh leader claiming more back off, and the backoff stops requests', () => {
    const s = following(100, 1_000);
    for (let i = 0; i <= CATCHUP_BACKOFF_THRESHOLD; i++) {
      afterApply(s, applyOf(5), ok(5, 0), view(Role.Replica, 5, 1_000));
    }
    assert.equal(s.stats.emptyResponses, CATCHUP_BACKOFF_THRESHOLD + 1);
    assert.equal(s.backoff.isInBackoff(PEER, 1_000), true);
    const heartbeat = inbound(PEER, leaderHeartbeat(100));
    s.outstanding.gcExpired(1_000_000);
    assert.equal(
      ofKind(onInbound(s, heartbeat, view(Role.Replica, 5, 1_001)), 'request').length,
      0,
    );
    assert.equal(s.stats.backoffSkips, 1);
    // Progress clears it.
    afterApply(s, applyOf(5), ok(6, 1), view(Role.Replica, 6, 1_002));
    assert.equal(s.backoff.isInBackoff(PEER, 1_002), false);
  });
});

describe('step: the tick', () => {
  it('a leader heartbeats every peer, never itself, and clears the awaited set', () => {
    const s = state();
    elect(s, 1_000, 10);
    s.awaitingRequest.add(PEER);
    const effects = finishTick(s, view(Role.Leader, 10, 1_000));
    assert.deepEqual(
      sends(effects).map(([to]) => to),
      [PEER, OTHER],
    );
    assert.ok(!sends(effects).some(([to]) => to === SELF));
    assert.equal(s.awaitingRequest.size, 0);
  });

  it('a leader that heard no majority for the silence window steps down (check quorum)', () => {
    const s = state();
    elect(s, 1_000, 10);
    const quiet = finishTick(s, view(Role.Leader, 10, 1_000 + 3 * HB));
    const quorum = ofKind(quiet, 'quorum').map((e) => e.effect);
    assert.deepEqual(
      quorum.filter((e) => e.kind === 'become'),
      [{ kind: 'become', role: 'replica', reason: 'quorum-lost' }],
    );
    assert.ok(quorum.some((e) => e.kind === 'leadership-lost'));
    assert.equal(sends(quiet).length, 0, 'no heartbeat from a leader that just stepped down');
  });

  it('a replica with a silent leader sends pre-votes, not a Candidate transition', () => {
    const s = state();
    follow(s, PEER, 5, 1_000, 5);
    assert.equal(
      ofKind(finishTick(s, view(Role.Replica, 5, 1_000 + 3 * HB - 1)), 'quorum').length,
      0,
    );
    const effects = finishTick(s, view(Role.Replica, 5, 1_000 + 3 * HB));
    assert.equal(ofKind(effects, 'transition').length, 0);
    const asks = ofKind(effects, 'quorum').map((e) => e.effect);
    assert.deepEqual(
      asks.map((e) => (e.kind === 'send-vote-request' ? [e.to, e.preVote, e.epoch] : e.kind)),
      [
        [PEER, true, 2],
        [OTHER, true, 2],
      ],
    );
    assert.equal(s.quorum.epoch, 1, 'a pre-vote does not move the epoch');
  });

  it('a node outside the replica set never asks for votes', () => {
    const s = state({ replicaSet: [PEER, OTHER] });
    const effects = finishTick(s, view(Role.Replica, 5, 1_000 + 3 * HB));
    const asks = ofKind(effects, 'quorum').filter((e) => e.effect.kind === 'send-vote-request');
    assert.deepEqual(asks, []);
  });
});
