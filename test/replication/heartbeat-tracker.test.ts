import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { HeartbeatTracker, MISS_THRESHOLD, Role, TRACKED_PEERS_MAX } from './imports.js';

const SELF = 0x10n;
const T0 = 1_700_000_000_000;

function tracker(heartbeatMs = 500): HeartbeatTracker {
  return new HeartbeatTracker(SELF, { heartbeatMs });
}

describe('HeartbeatTracker', () => {
  it('starts with no peers and no leader; its silence window comes from the config', () => {
    const t = tracker();
    assert.equal(t.peerCount, 0);
    assert.equal(t.believedLeader, null);
    assert.equal(t.silenceMs, 500 * MISS_THRESHOLD);
    assert.equal(t.silenceMs, 1500);
    t.assertInvariants();
  });

  it('records role, tail and last seen per peer', () => {
    const t = tracker();
    assert.equal(t.recordHeartbeat(0x42n, Role.Leader, 100, T0, 3), true);
    assert.deepEqual(t.peer(0x42n), {
      lastSeenMs: T0,
      heardAtMs: T0,
      generation: 0,
      epoch: 0,
      role: Role.Leader,
      tailSeq: 100,
      lastEpoch: 3,
    });
    assert.equal(t.peerCount, 1);
    // Recording is liveness and claims only: who leads is the quorum logic's to say.
    assert.equal(t.believedLeader, null);
    t.recordHeartbeat(0x43n, Role.Replica, 7, T0);
    assert.equal(t.peer(0x43n)?.lastEpoch, 0, 'a heartbeat without epochs claims epoch 0');
  });

  it('never records itself or NodeId 0', () => {
    const t = tracker();
    assert.equal(t.recordHeartbeat(SELF, Role.Leader, 5, T0), false);
    assert.equal(t.recordHeartbeat(0n, Role.Leader, 5, T0), false);
    assert.equal(t.peerCount, 0);
    assert.equal(t.believedLeader, null);
    assert.deepEqual(t.healthyPeers(T0), []);
    t.assertInvariants();
  });

  // Was "prefers the higher tail, then the lower NodeId": a claimed tail no longer picks a leader.
  it('never changes the belief on a claimed role or tail, whatever the tail', () => {
    const t = tracker();
    t.believe(0x43n);
    t.recordHeartbeat(0x42n, Role.Leader, 300, T0 + 100);
    t.recordHeartbeat(0x41n, Role.Leader, 300, T0 + 200);
    assert.equal(t.believedLeader, 0x43n, 'a higher claimed tail or lower id does not displace');
  });

  // Was "only a Leader heartbeat changes the belief": now only believe() does.
  it('changes the belief only through believe(), never to itself', () => {
    const t = tracker();
    t.believe(0x42n);
    t.recordHeartbeat(0x99n, Role.Replica, 500, T0 + 50);
    t.recordHeartbeat(0x98n, Role.Candidate, 500, T0 + 50);
    t.recordHeartbeat(0x97n, Role.Idle, 500, T0 + 50);
    assert.equal(t.believedLeader, 0x42n);
    assert.equal(t.peer(0x99n)?.role, Role.Replica);
    // The believed leader itself conceding does not clear the belief either.
    t.recordHeartbeat(0x42n, Role.Replica, 100, T0 + 60);
    assert.equal(t.believedLeader, 0x42n);
    t.believe(0x97n);
    assert.equal(t.believedLeader, 0x97n);
    t.believe(SELF);
    assert.equal(t.believedLeader, null, 'this node leading is not a belief in a peer');
    t.believe(0x42n);
    t.believe(null);
    assert.equal(t.believedLeader, null);
    t.assertInvariants();
  });

  it('lists healthy peers strictly inside the window, ascending', () => {
    const t = tracker();
    t.recordHeartbeat(0x30n, Role.Replica, 0, T0 + 400);
    t.recordHeartbeat(0x1n, Role.Leader, 100, T0);
    t.recordHeartbeat(0x20n, Role.Replica, 100, T0 + 200);
    assert.deepEqual(t.healthyPeers(T0 + 100), [0x1n, 0x20n, 0x30n]);
    // 1500 − 0 = 1500 is not < 1500; 1500 − 200 = 1300 is.
    assert.deepEqual(t.healthyPeers(T0 + 1500), [0x20n, 0x30n]);
    assert.deepEqual(t.healthyPeers(T0 + 1900), []);
  });

  it('reports lag as time since the last heartbeat', () => {
    const t = tracker();
    t.recordHeartbeat(0x42n, Role.Replica, 100, T0);
    assert.equal(t.peerLag(0x42n, T0 + 750), 750);
    assert.equal(t.peerLag(0x42n, T0 - 10), 0, 'never negative');
    assert.equal(t.peerLag(0x43n, T0), null);
  });

  it('lists peer tails ascending', () => {
    const t = tracker();
    t.recordHeartbeat(0x30n, Role.Replica, 980, T0);
    t.recordHeartbeat(0x20n, Role.Replica, 950, T0);
    t.recordHeartbeat(0x11n, Role.Leader, 1000, T0);
    assert.deepEqual(t.peerTails(), [
      [0x11n, 1000],
      [0x20n, 950],
      [0x30n, 980],
    ]);
  });

  it('bounds tracked peers, evicting the stalest non-leader', () => {
    const t = tracker();
    t.recordHeartbeat(1n, Role.Leader, 0, T0); // the oldest entry, but the believed leader
    t.believe(1n);
    for (let i = 0; i < TRACKED_PEERS_MAX - 1; i++) {
      t.recordHeartbeat(BigInt(100 + i), Role.Replica, 0, T0 + 1 + i);
    }
    assert.equal(t.peerCount, TRACKED_PEERS_MAX);
    t.recordHeartbeat(99_999n, Role.Replica, 0, T0 + 10_000);
    assert.equal(t.peerCount, TRACKED_PEERS_MAX);
    assert.notEqual(t.peer(1n), undefined, 'the believed leader survives');
    assert.equal(t.peer(100n), undefined, 'the stalest other peer went');
    assert.notEqual(t.peer(99_999n), undefined);
    t.assertInvariants();
  });

  it('keeps its invariants and matches a model under random heartbeats', () => {
    const event = fc.record({
      from: fc.bigInt({ min: 0n, max: 20n }),
      role: fc.constantFrom(Role.Leader, Role.Replica, Role.Candidate, Role.Idle),
      tail: fc.nat({ max: 50 }),
      dt: fc.nat({ max: 800 }),
      // Sometimes the quorum logic decides a leader (or none) before the heartbeat.
      believe: fc.option(fc.option(fc.bigInt({ min: 0n, max: 20n }), { nil: null }), {
        nil: undefined,
      }),
    });
    fc.assert(
      fc.property(fc.array(event, { maxLength: 60 }), (events) => {
        const t = new HeartbeatTracker(5n, { heartbeatMs: 200 });
        // Model: the last heartbeat per peer; the leader is whatever believe() was last told
        // (self reads as none), never a heartbeat's claim.
        const model = new Map<bigint, { at: number; tail: number }>();
        let leader: bigint | null = null;
        let now = T0;
        for (const e of events) {
          now += e.dt;
          if (e.believe !== undefined) {
            t.believe(e.believe);
            leader = e.believe === 5n ? null : e.believe;
          }
          t.recordHeartbeat(e.from, e.role, e.tail, now);
          if (e.from === 5n || e.from === 0n) continue;
          model.set(e.from, { at: now, tail: e.tail });
          t.assertInvariants();
        }
        assert.equal(t.believedLeader, leader);
        const healthy = [...model]
          .filter(([, s]) => now - s.at < 600)
          .map(([id]) => id)
          .sort((a, b) => (a < b ? -1 : 1));
        assert.deepEqual(t.healthyPeers(now), healthy);
      }),
    );
  });
});
