// The pure inbound step driven directly: heartbeats, NACKs, and the continuations after a skip
// or a transition (step.ts). No runtime, no clock, no async.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  afterSkip,
  InboundDrop,
  inbound,
  NackCode,
  onInbound,
  type SyncNack,
  TransitionSignal,
} from './imports.js';
import { CID, HB, OTHER, ofKind, PEER, Role, SELF, sends, state, view } from './step-fixtures.js';

/** A heartbeat of `epoch` (the fixture's quorum is at epoch 1) whose last event is of `epoch`. */
function hb(from: bigint, role: Role, tailSeq: number, epoch = 1) {
  return inbound(from, {
    kind: 'heartbeat',
    channelId: CID,
    tailSeq,
    role,
    wallClockMs: 0,
    quorum: { epoch, lastEpoch: epoch, commitSeq: 0 },
  });
}

function nackFrom(from: bigint, code: NackCode, extra: Partial<SyncNack> = {}) {
  return inbound(from, {
    kind: 'nack',
    channelId: CID,
    sinceSeq: 5,
    errorCode: code,
    leaderFirstRetainedSeq: 0,
    requestId: 7n,
    detail: '',
    ...extra,
  });
}

describe('step: peer-auth gates', () => {
  it('drops frames from self, from non-members and for another channel, touching nothing', () => {
    const s = state();
    assert.deepEqual(onInbound(s, hb(SELF, Role.Leader, 9), view(Role.Replica, 0)), []);
    assert.deepEqual(onInbound(s, hb(0x99n, Role.Leader, 9), view(Role.Replica, 0)), []);
    const misrouted = inbound(PEER, {
      kind: 'heartbeat',
      channelId: new Uint8Array(CID.length),
      tailSeq: 9,
      role: Role.Leader,
      wallClockMs: 0,
    });
    assert.deepEqual(onInbound(s, misrouted, view(Role.Replica, 0)), []);
    assert.equal(s.stats.drops[InboundDrop.FromSelf], 1);
    assert.equal(s.stats.drops[InboundDrop.NotMember], 1);
    assert.equal(s.stats.drops[InboundDrop.ChannelMismatch], 1);
    assert.equal(s.tracker.peerCount, 0);
  });
});

describe('step: heartbeats', () => {
  it('records the peer and confirms its tail', () => {
    const s = state();
    // A leader confirms a replica's tail when it matches its own history (epoch 1 from seq 0).
    const effects = onInbound(s, hb(PEER, Role.Replica, 4), view(Role.Leader, 10));
    assert.equal(s.tracker.peer(PEER)?.tailSeq, 4);
    assert.equal(s.stats.heartbeatsIn, 1);
    assert.equal(s.quorum.matched.get(PEER), 4);
    assert.deepEqual(ofKind(effects, 'confirm-tail'), [
      { kind: 'confirm-tail', peer: PEER, tailSeq: 4 },
    ]);
  });

  it('a replica asks its leader at once when it announces a higher tail, once per period', () => {
    const s = state();
    const first = onInbound(s, hb(PEER, Role.Leader, 10), view(Role.Replica, 3, 1_000));
    const [request] = ofKind(first, 'request');
    assert.equal(request?.to, PEER);
    assert.equal(request?.sinceSeq, 3, 'from our tail');
    // The runtime records the token when it sends; a second announcement within a heartbeat
    // period does not duplicate the request in flight.
    s.outstanding.record(PEER, 1n, 1_000);
    const second = onInbound(s, hb(PEER, Role.Leader, 11), view(Role.Replica, 3, 1_000 + HB - 1));
    assert.equal(ofKind(second, 'request').length, 0);
    assert.equal(s.stats.inFlightSkips, 1);
    const later = onInbound(s, hb(PEER, Role.Leader, 12), view(Role.Replica, 3, 1_000 + HB));
    assert.equal(ofKind(later, 'request').length, 1, 'a period later it asks again');
  });

  it('no catch-up request when the leader holds no more than we do, or is not believed', () => {
    const s = state();
    assert.equal(
      ofKind(onInbound(s, hb(PEER, Role.Leader, 3), view(Role.Replica, 3)), 'request').length,
      0,
    );
    assert.equal(s.tracker.believedLeader, PEER);
    // OTHER claims leadership in an older epoch, with more events: dropped and counted, PEER
    // stays believed, OTHER is not asked.
    const effects = onInbound(s, hb(OTHER, Role.Leader, 9, 0), view(Role.Replica, 1));
    assert.equal(s.tracker.believedLeader, PEER);
    assert.equal(s.quorum.counters.staleEpochDrops, 1);
    assert.equal(ofKind(effects, 'request').length, 0);
  });

  it('a heartbeat without epoch fields never makes a leader', () => {
    const s = state();
    const old = inbound(PEER, {
      kind: 'heartbeat',
      channelId: CID,
      tailSeq: 10,
      role: Role.Leader,
      wallClockMs: 0,
    });
    const effects = onInbound(s, old, view(Role.Replica, 3));
    assert.equal(s.tracker.peer(PEER)?.tailSeq, 10, 'liveness and claims are still recorded');
    assert.equal(s.tracker.believedLeader, null);
    assert.equal(s.quorum.counters.noEpochDrops, 1);
    assert.equal(ofKind(effects, 'request').length, 0);
  });
});

describe('step: NACKs', () => {
  function followed() {
    const s = state();
    onInbound(s, hb(PEER, Role.Leader, 100), view(Role.Replica, 5, 1_000));
    assert.equal(s.tracker.believedLeader, PEER);
    s.outstanding.record(PEER, 7n, 1_000);
    return s;
  }

  it('only the believed leader, under a live token, may NACK', () => {
    const s = followed();
    assert.deepEqual(onInbound(s, nackFrom(OTHER, NackCode.BadRange), view(Role.Replica, 5)), []);
    assert.equal(s.stats.drops[InboundDrop.NotBelievedLeader], 1);
    const stale = nackFrom(PEER, NackCode.BadRange, { requestId: 8n });
    assert.deepEqual(onInbound(s, stale, view(Role.Replica, 5)), []);
    assert.equal(s.stats.drops[InboundDrop.UnknownToken], 1);
  });

  it("BadRange skips to the leader's first retained seq, then goes on from there", () => {
    const s = followed();
    const effects = onInbound(
      s,
      nackFrom(PEER, NackCode.BadRange, { leaderFirstRetainedSeq: 60 }),
      view(Role.Replica, 5),
    );
    const [skip] = ofKind(effects, 'skip-to');
    assert.equal(skip?.seq, 60);
    assert.equal(s.stats.skipAheads, 1);
    // The skip happened: still behind the leader's 100, so the next request goes at once.
    const next = afterSkip(s, skip!.next, view(Role.Replica, 60));
    assert.equal(ofKind(next, 'request')[0]?.sinceSeq, 60);
    assert.equal(sends(next).length, 0, 'no tail report while behind');
    // A skip that moved nothing asks nothing.
    assert.deepEqual(afterSkip(s, skip!.next, view(Role.Replica, 5)), []);
  });

  it('BadRange without a retained seq steps one past since', () => {
    const s = followed();
    const effects = onInbound(s, nackFrom(PEER, NackCode.BadRange), view(Role.Replica, 5));
    assert.equal(ofKind(effects, 'skip-to')[0]?.seq, 6);
  });

  it('a NotLeader NACK keeps the belief; the next current-epoch heartbeat decides', () => {
    const s = followed();
    assert.deepEqual(onInbound(s, nackFrom(PEER, NackCode.NotLeader), view(Role.Replica, 5)), []);
    assert.equal(s.tracker.believedLeader, PEER);
    // OTHER leads epoch 2 now: its heartbeat moves the belief.
    onInbound(s, hb(OTHER, Role.Leader, 100, 2), view(Role.Replica, 5, 1_100));
    assert.equal(s.tracker.believedLeader, OTHER);
    assert.equal(s.quorum.epoch, 2);
  });

  it('Backpressure waits for the tick; ChannelClosed idles the channel', () => {
    const s = followed();
    assert.deepEqual(
      onInbound(s, nackFrom(PEER, NackCode.Backpressure), view(Role.Replica, 5)),
      [],
    );
    s.outstanding.record(PEER, 7n, 1_000);
    const closed = onInbound(s, nackFrom(PEER, NackCode.ChannelClosed), view(Role.Replica, 5));
    assert.deepEqual(
      ofKind(closed, 'transition').map((t) => [t.target, t.signal]),
      [[Role.Idle, TransitionSignal.ChannelClose]],
    );
  });
});
