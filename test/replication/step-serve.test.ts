// The leader's pure step driven directly: answering requests with the budget, the long poll,
// the append announcement (step-serve.ts). No runtime, no clock, no async.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  afterRespond,
  afterServeRead,
  announceAppends,
  InboundDrop,
  inbound,
  NackCode,
  onInbound,
  PARKED_REQUEST_HOLD_MS,
  releaseParked,
  type ServeEffect,
  SyncClass,
  type SyncRequestOutcome,
  syncResponseEncodedBytes,
} from './imports.js';
import {
  CID,
  OTHER,
  ofKind,
  PEER,
  Role,
  sends,
  state,
  syncRequest,
  syncResponse,
  view,
} from './step-fixtures.js';

const serveOf = (sinceSeq: number): ServeEffect => ({
  kind: 'serve',
  to: PEER,
  request: syncRequest(sinceSeq),
});

function chunk(firstSeq: number, count: number): SyncRequestOutcome {
  const response = syncResponse(firstSeq, count);
  return { kind: 'response', response, costBytes: syncResponseEncodedBytes(response) };
}

describe('step: requests', () => {
  // Was "…after taking the since as a confirmation": only a leader counts a position, and only
  // one that matches its history.
  it('a node that does not lead NACKs NotLeader and confirms nothing', () => {
    const s = state();
    const effects = onInbound(s, inbound(PEER, syncRequest(3)), view(Role.Replica, 9));
    assert.deepEqual(ofKind(effects, 'confirm-tail'), []);
    assert.deepEqual(sends(effects), [[PEER, 'nack', NackCode.NotLeader]]);
    assert.equal(ofKind(effects, 'serve').length, 0);
  });

  it("a leader takes a matching request's since as a confirmation", () => {
    const s = state();
    const effects = onInbound(s, inbound(PEER, syncRequest(3)), view(Role.Leader, 9));
    assert.deepEqual(ofKind(effects, 'confirm-tail'), [
      { kind: 'confirm-tail', peer: PEER, tailSeq: 3 },
    ]);
    assert.equal(s.quorum.matched.get(PEER), 3);
  });

  it('a request whose history does not match gets a Diverged NACK, not events', () => {
    const s = state();
    const request = { ...syncRequest(3), quorum: { epoch: 1, lastFetchedEpoch: 0 } };
    const effects = onInbound(s, inbound(PEER, request), view(Role.Leader, 9));
    assert.deepEqual(sends(effects), [[PEER, 'nack', NackCode.Diverged]]);
    assert.equal(ofKind(effects, 'serve').length, 0);
    assert.equal(ofKind(effects, 'confirm-tail').length, 0);
  });

  it('a request from behind the tail is served', () => {
    const s = state();
    const effects = onInbound(s, inbound(PEER, syncRequest(3)), view(Role.Leader, 9));
    assert.deepEqual(ofKind(effects, 'serve'), [serveOf(3)]);
    assert.equal(s.parked.size, 0);
  });

  it('a request from exactly the tail is held open (long poll), not answered', () => {
    const s = state();
    const effects = onInbound(s, inbound(PEER, syncRequest(9)), view(Role.Leader, 9, 1_000));
    assert.equal(ofKind(effects, 'serve').length, 0);
    assert.equal(sends(effects).length, 0);
    assert.equal(s.parked.get(PEER)?.request.sinceSeq, 9);
    assert.equal(s.parked.get(PEER)?.atMs, 1_000);
    assert.equal(s.stats.requestsParked, 1);
  });

  it("a replica's next request replaces its held one", () => {
    const s = state();
    onInbound(s, inbound(PEER, syncRequest(9, 1n)), view(Role.Leader, 9));
    s.awaitingRequest.add(PEER);
    const effects = onInbound(s, inbound(PEER, syncRequest(4, 2n)), view(Role.Leader, 9));
    assert.equal(s.parked.has(PEER), false, 'the held request is gone');
    assert.equal(s.awaitingRequest.has(PEER), false, 'and its request came');
    assert.equal(ofKind(effects, 'serve')[0]?.request.requestId, 2n);
  });
});

describe('step: serving after the read', () => {
  it('a chunk the budget pays for is sent, its bytes metered', () => {
    const s = state();
    const outcome = chunk(3, 2);
    const effects = afterServeRead(s, serveOf(3), outcome, view(Role.Leader, 9));
    const [respond] = ofKind(effects, 'respond');
    assert.equal(respond?.to, PEER);
    assert.equal(respond?.response.events.length, 2);
    assert.equal(respond?.costBytes, syncResponseEncodedBytes(respond!.response));
    assert.equal(ofKind(effects, 'metric')[0]?.metric.name, 'sync-bytes');
  });

  it('budget exhausted → Backpressure, nothing sent', () => {
    // 100 bytes of budget; a Background request must leave (1 − 0.3) × 100 in reserve.
    const s = state({ budgetBytes: 100 });
    const serve: ServeEffect = {
      kind: 'serve',
      to: PEER,
      request: { ...syncRequest(3), syncClass: SyncClass.Background },
    };
    const effects = afterServeRead(s, serve, chunk(3, 2), view(Role.Leader, 9));
    assert.deepEqual(sends(effects), [[PEER, 'nack', NackCode.Backpressure]]);
    assert.equal(ofKind(effects, 'respond').length, 0);
  });

  it('a role lost during the read → NotLeader, and the budget gets its bytes back', () => {
    const s = state();
    const before = s.budget.availableBytes;
    const effects = afterServeRead(s, serveOf(3), chunk(3, 2), view(Role.Replica, 9));
    assert.deepEqual(sends(effects), [[PEER, 'nack', NackCode.NotLeader]]);
    assert.equal(s.budget.availableBytes, before);
  });

  it("a bad range (the file's NACK) is passed on; a misrouted request is dropped", () => {
    const s = state();
    const nack = {
      kind: 'nack' as const,
      channelId: CID,
      sinceSeq: 3,
      errorCode: NackCode.BadRange,
      leaderFirstRetainedSeq: 5,
      requestId: 7n,
      detail: 'below',
    };
    assert.deepEqual(afterServeRead(s, serveOf(3), { kind: 'nack', nack }, view(Role.Leader, 9)), [
      { kind: 'send', to: PEER, message: nack },
    ]);
    const dropped = afterServeRead(
      s,
      serveOf(3),
      { kind: 'drop', reason: 'channel-mismatch' },
      view(Role.Leader, 9),
    );
    assert.deepEqual(dropped, []);
    assert.equal(s.stats.drops[InboundDrop.ChannelMismatch], 1);
  });

  it('after the send: a failed one refunds, a sent chunk with events awaits the next request', () => {
    const s = state();
    const [respond] = ofKind(
      afterServeRead(s, serveOf(3), chunk(3, 2), view(Role.Leader, 9)),
      'respond',
    );
    const paid = s.budget.availableBytes;
    afterRespond(s, respond!, false);
    assert.equal(s.budget.availableBytes, paid + respond!.costBytes);
    assert.equal(s.awaitingRequest.has(PEER), false);
    afterRespond(s, respond!, true);
    assert.equal(s.awaitingRequest.has(PEER), true);
  });
});

describe('step: the append announcement', () => {
  it('one effect per peer: the held request is answered, a replica awaited is skipped', () => {
    const s = state();
    onInbound(s, inbound(PEER, syncRequest(9)), view(Role.Leader, 9));
    s.awaitingRequest.add(OTHER);
    // OTHER was sent the current commit with the events its next request follows.
    s.commitTold.set(OTHER, { epoch: s.quorum.epoch, commitSeq: s.quorum.commitSeq });
    // Several appends happened (9 → 12): still one answer for PEER and nothing for OTHER.
    const effects = announceAppends(s, view(Role.Leader, 12));
    assert.deepEqual(ofKind(effects, 'serve'), [serveOf(9)]);
    assert.equal(
      sends(effects).length,
      0,
      'no announcement to a replica whose request is in flight',
    );
    assert.equal(s.stats.announcementsSkipped, 1);
    assert.equal(s.parked.size, 0);
  });

  it('a peer with nothing held and nothing awaited gets one Leader heartbeat with the tail', () => {
    const s = state();
    const effects = announceAppends(s, view(Role.Leader, 12));
    assert.deepEqual(sends(effects), [
      [PEER, 'heartbeat', Role.Leader],
      [OTHER, 'heartbeat', Role.Leader],
    ]);
    const [first] = ofKind(effects, 'send');
    assert.equal(first?.message.kind === 'heartbeat' && first.message.tailSeq, 12);
  });

  it('a replica whose request waits at the tail and knows the commit gets no heartbeat', () => {
    const s = state();
    onInbound(s, inbound(PEER, syncRequest(12)), view(Role.Leader, 12));
    assert.equal(s.parked.has(PEER), true, 'held at the tail');
    assert.deepEqual(sends(announceAppends(s, view(Role.Leader, 12))), [
      [PEER, 'heartbeat', Role.Leader],
      [OTHER, 'heartbeat', Role.Leader],
    ]);
    // The announcement after the leader's own fsync, with no new commit: PEER heard it all.
    const skipped = s.stats.announcementsSkipped;
    assert.deepEqual(sends(announceAppends(s, view(Role.Leader, 12))), [
      [OTHER, 'heartbeat', Role.Leader],
    ]);
    assert.equal(s.stats.announcementsSkipped, skipped + 1);
    // A response that carried an older commit: the next announcement tells PEER again.
    const q = s.quorum;
    const empty = syncResponse(12, 0);
    afterRespond(
      s,
      {
        kind: 'respond',
        to: PEER,
        response: { ...empty, quorum: { epoch: q.epoch, commitSeq: q.commitSeq - 1, runs: [] } },
        costBytes: 0,
      },
      true,
    );
    assert.deepEqual(sends(announceAppends(s, view(Role.Leader, 12))), [
      [PEER, 'heartbeat', Role.Leader],
      [OTHER, 'heartbeat', Role.Leader],
    ]);
  });

  it('a replica awaited that was not sent the current commit gets a heartbeat with it', () => {
    const s = state();
    s.awaitingRequest.add(OTHER);
    // The events went out with an older commit; without this heartbeat OTHER would show them
    // only once the next append answers its next request.
    s.commitTold.set(OTHER, { epoch: s.quorum.epoch, commitSeq: s.quorum.commitSeq - 1 });
    const effects = announceAppends(s, view(Role.Leader, 12));
    assert.deepEqual(sends(effects), [
      [PEER, 'heartbeat', Role.Leader],
      [OTHER, 'heartbeat', Role.Leader],
    ]);
    const told = ofKind(effects, 'send').find((e) => e.to === OTHER)?.message;
    assert.equal(told?.kind === 'heartbeat' && told.quorum?.commitSeq, s.quorum.commitSeq);
    assert.deepEqual(s.commitTold.get(OTHER), {
      epoch: s.quorum.epoch,
      commitSeq: s.quorum.commitSeq,
    });
    // Told once: the next announcement with no new commit leaves it out again.
    assert.deepEqual(sends(announceAppends(s, view(Role.Leader, 12))), [
      [PEER, 'heartbeat', Role.Leader],
    ]);
  });

  it('nothing when this node no longer leads', () => {
    assert.deepEqual(announceAppends(state(), view(Role.Replica, 12)), []);
  });
});

describe('step: held requests at the tick', () => {
  it('a leader answers the ones held past the hold, keeps the younger ones', () => {
    const s = state();
    onInbound(s, inbound(PEER, syncRequest(9)), view(Role.Leader, 9, 1_000));
    onInbound(s, inbound(OTHER, syncRequest(9)), view(Role.Leader, 9, 2_000));
    const effects = releaseParked(s, view(Role.Leader, 9, 1_000 + PARKED_REQUEST_HOLD_MS));
    assert.deepEqual(
      ofKind(effects, 'serve').map((e) => e.to),
      [PEER],
    );
    assert.deepEqual([...s.parked.keys()], [OTHER]);
  });

  it('a node that lost leadership NACKs every held request NotLeader', () => {
    const s = state();
    onInbound(s, inbound(PEER, syncRequest(9)), view(Role.Leader, 9, 1_000));
    const effects = releaseParked(s, view(Role.Replica, 9, 1_001));
    assert.deepEqual(sends(effects), [[PEER, 'nack', NackCode.NotLeader]]);
    assert.equal(s.parked.size, 0);
  });
});
