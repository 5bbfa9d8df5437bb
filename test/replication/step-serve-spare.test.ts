// The leader's second held request (step-serve.ts, LONG_POLL_DEPTH): a caught-up replica's spare
// is answered with the append after the one its first request got, continuing where that frame
// ended; at most two are held; a request past the tail that asks for events already on their way
// is answered from where they end; a leader that stops leading NACKs both.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UNKNOWN_EPOCH } from '../../src/replication/quorum/fetch-check.js';
import {
  afterRespond,
  afterServeRead,
  announceAppends,
  inbound,
  LONG_POLL_DEPTH,
  NackCode,
  onInbound,
  PARKED_REQUEST_HOLD_MS,
  releaseParked,
  type ServeEffect,
  type StepEffect,
  type SyncRequest,
  syncResponseEncodedBytes,
} from './imports.js';
import {
  ofKind,
  PEER,
  Role,
  sends,
  state,
  syncRequest,
  syncResponse,
  view,
} from './step-fixtures.js';

type State = ReturnType<typeof state>;

/** A request from past the replica's tail (sent ahead of its write): it names no epoch. */
function ahead(sinceSeq: number, requestId: bigint): SyncRequest {
  return {
    ...syncRequest(sinceSeq, requestId),
    quorum: { epoch: 1, lastFetchedEpoch: UNKNOWN_EPOCH },
  };
}

/** Performs a `serve` as the runtime would with a log ending at `tail`: read, send, afterRespond. */
function perform(s: State, serve: ServeEffect, tail: number): StepEffect[] {
  const since = serve.request.sinceSeq;
  const response = { ...syncResponse(since, tail - since), requestId: serve.request.requestId };
  const outcome = {
    kind: 'response' as const,
    response,
    costBytes: syncResponseEncodedBytes(response),
  };
  const effects = [...afterServeRead(s, serve, outcome, view(Role.Leader, tail))];
  for (const respond of ofKind(effects, 'respond')) effects.push(...afterRespond(s, respond, true));
  return effects;
}

function servesTo(effects: readonly StepEffect[]): ServeEffect[] {
  return ofKind(effects, 'serve').filter((e) => e.to === PEER);
}

describe('step: a second held request per replica', () => {
  it('two requests at the tail are both held; the second answers the append after the first', () => {
    assert.equal(LONG_POLL_DEPTH, 2);
    const s = state();
    onInbound(s, inbound(PEER, syncRequest(9, 1n)), view(Role.Leader, 9));
    onInbound(s, inbound(PEER, syncRequest(9, 2n)), view(Role.Leader, 9));
    assert.equal(s.stats.requestsParked, 2);
    assert.equal(s.parked.get(PEER)?.request.requestId, 1n);
    assert.equal(s.parked.get(PEER)?.spare?.request.requestId, 2n);

    // Append 9 → 12: the first is answered [9, 12); the spare is held, to continue at 12.
    const [first] = servesTo(announceAppends(s, view(Role.Leader, 12)));
    assert.equal(first?.request.requestId, 1n);
    assert.equal(first?.request.sinceSeq, 9);
    perform(s, first!, 12);
    assert.equal(s.parked.get(PEER)?.request.requestId, 2n);
    assert.equal(s.parked.get(PEER)?.sinceSeq, 12);
    assert.equal(s.parked.get(PEER)?.spare, null);
    assert.deepEqual(s.shipped.get(PEER), { epoch: s.quorum.epoch, endSeq: 12 });

    // Append 12 → 15 while that frame travels: the spare goes at once, from 12, under its token.
    const [second] = servesTo(announceAppends(s, view(Role.Leader, 15)));
    assert.equal(second?.request.requestId, 2n);
    assert.equal(second?.request.sinceSeq, 12);
    perform(s, second!, 15);
    assert.equal(s.parked.has(PEER), false);
    assert.equal(s.stats.parkedAnswered, 2);
  });

  it('a spare whose first answer was never sent continues where that answer would have started', () => {
    const s = state();
    onInbound(s, inbound(PEER, syncRequest(9, 1n)), view(Role.Leader, 9));
    onInbound(s, inbound(PEER, syncRequest(9, 2n)), view(Role.Leader, 9));
    const [first] = servesTo(announceAppends(s, view(Role.Leader, 12)));
    const response = syncResponse(9, 3, 1n);
    afterRespond(s, { kind: 'respond', to: PEER, response, costBytes: 10 }, false);
    assert.equal(first?.request.sinceSeq, 9);
    assert.equal(s.parked.get(PEER)?.sinceSeq, 9, 'nothing was sent: the spare asks from 9 again');
    assert.equal(s.shipped.has(PEER), false);
  });

  it('a third request replaces the oldest: at most LONG_POLL_DEPTH are held', () => {
    const s = state();
    for (const id of [1n, 2n, 3n]) {
      onInbound(s, inbound(PEER, syncRequest(9, id)), view(Role.Leader, 9));
    }
    const held = s.parked.get(PEER);
    assert.equal(held?.request.requestId, 2n);
    assert.equal(held?.spare?.request.requestId, 3n);
    assert.equal(held?.spare && 'spare' in held.spare, false, 'never a third');
  });

  it('the same request delivered twice is held twice and answered twice; the replica keeps one answer', () => {
    const s = state();
    onInbound(s, inbound(PEER, syncRequest(9, 1n)), view(Role.Leader, 9));
    onInbound(s, inbound(PEER, syncRequest(9, 1n)), view(Role.Leader, 9));
    const [first] = servesTo(announceAppends(s, view(Role.Leader, 12)));
    perform(s, first!, 12);
    const [again] = servesTo(announceAppends(s, view(Role.Leader, 14)));
    // Both answers carry token 1: the replica acts on the first only (its token is consumed).
    assert.equal(again?.request.requestId, 1n);
    assert.equal(again?.request.sinceSeq, 12, 'and the second does not repeat the first');
  });

  it('a request past the tail asking for events on their way is answered from where they end', () => {
    const s = state();
    onInbound(s, inbound(PEER, syncRequest(9, 1n)), view(Role.Leader, 9));
    onInbound(s, inbound(PEER, syncRequest(9, 2n)), view(Role.Leader, 9));
    perform(s, servesTo(announceAppends(s, view(Role.Leader, 12)))[0]!, 12);
    perform(s, servesTo(announceAppends(s, view(Role.Leader, 15)))[0]!, 15);
    assert.deepEqual(s.shipped.get(PEER), { epoch: s.quorum.epoch, endSeq: 15 });
    // The replica's next poll, sent from 12 when [9, 12) arrived, finds [12, 15) already sent.
    const moved = servesTo(onInbound(s, inbound(PEER, ahead(12, 3n)), view(Role.Leader, 18)));
    assert.equal(moved[0]?.request.sinceSeq, 15, '[12, 15) is already on its way');
    // At the tail it is held, from there.
    s.shipped.set(PEER, { epoch: s.quorum.epoch, endSeq: 18 });
    assert.deepEqual(
      servesTo(onInbound(s, inbound(PEER, ahead(12, 4n)), view(Role.Leader, 18))),
      [],
    );
    assert.equal(s.parked.get(PEER)?.sinceSeq, 18);
  });

  it('a request that names its tail is answered from it and forgets what was shipped', () => {
    const s = state();
    s.shipped.set(PEER, { epoch: s.quorum.epoch, endSeq: 15 });
    const served = servesTo(
      onInbound(s, inbound(PEER, syncRequest(12, 1n)), view(Role.Leader, 18)),
    );
    assert.equal(served[0]?.request.sinceSeq, 12, 'the replica says it holds up to 12 only');
    assert.equal(s.shipped.has(PEER), false);
  });

  it('what was shipped in an earlier epoch is not trusted', () => {
    const s = state();
    s.shipped.set(PEER, { epoch: s.quorum.epoch - 1, endSeq: 15 });
    const served = servesTo(onInbound(s, inbound(PEER, ahead(12, 1n)), view(Role.Leader, 18)));
    assert.equal(served[0]?.request.sinceSeq, 12);
  });

  it('a leader that stops leading NACKs both held requests NotLeader', () => {
    const s = state();
    onInbound(s, inbound(PEER, syncRequest(9, 1n)), view(Role.Leader, 9, 1_000));
    onInbound(s, inbound(PEER, syncRequest(9, 2n)), view(Role.Leader, 9, 1_000));
    const effects = releaseParked(s, view(Role.Replica, 9, 1_001));
    assert.deepEqual(sends(effects), [
      [PEER, 'nack', NackCode.NotLeader],
      [PEER, 'nack', NackCode.NotLeader],
    ]);
    assert.equal(s.parked.size, 0);
  });

  it('held past the hold, the first is answered at the tick and the spare at a later one', () => {
    const s = state();
    onInbound(s, inbound(PEER, syncRequest(9, 1n)), view(Role.Leader, 9, 1_000));
    onInbound(s, inbound(PEER, syncRequest(9, 2n)), view(Role.Leader, 9, 1_000));
    const at = 1_000 + PARKED_REQUEST_HOLD_MS;
    assert.equal(servesTo(releaseParked(s, view(Role.Leader, 9, at)))[0]?.request.requestId, 1n);
    assert.equal(
      servesTo(releaseParked(s, view(Role.Leader, 9, at + 1)))[0]?.request.requestId,
      2n,
    );
    assert.equal(s.parked.size, 0);
  });
});
