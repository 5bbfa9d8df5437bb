import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  type ElectionCandidate,
  type ElectionView,
  elect,
  electionTransition,
  electionViewFrom,
  HeartbeatTracker,
  type NodeId,
  Role,
  TransitionSignal,
} from './imports.js';

const T0 = 1_000_000;

function view(
  selfId: bigint,
  selfTail: number,
  set: bigint[],
  peers: [bigint, number][],
): ElectionView {
  return {
    selfId,
    selfTail,
    replicaSet: set,
    healthyPeers: peers.map(([nodeId, tailSeq]) => ({ nodeId, tailSeq })),
  };
}

/** The dumb reference: sort everyone eligible by (tail desc, id asc) and take the first. */
function referenceLeader(v: ElectionView): NodeId | null {
  const members = new Set(v.replicaSet);
  const all: ElectionCandidate[] = [];
  if (members.has(v.selfId)) all.push({ nodeId: v.selfId, tailSeq: v.selfTail });
  for (const p of v.healthyPeers) {
    if (p.nodeId !== v.selfId && members.has(p.nodeId) && !all.some((c) => c.nodeId === p.nodeId)) {
      all.push(p);
    }
  }
  all.sort(
    (a, b) => b.tailSeq - a.tailSeq || (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0),
  );
  return all[0]?.nodeId ?? null;
}

describe('election', () => {
  it('elects the highest tail', () => {
    const outcome = elect(
      view(
        1n,
        10,
        [1n, 2n, 3n],
        [
          [2n, 30],
          [3n, 20],
        ],
      ),
    );
    assert.deepEqual(outcome, { kind: 'peer-wins', leader: 2n });
  });

  it('breaks a tail tie to the lowest NodeId', () => {
    assert.deepEqual(
      elect(
        view(
          3n,
          30,
          [1n, 2n, 3n],
          [
            [2n, 30],
            [1n, 5],
          ],
        ),
      ),
      {
        kind: 'peer-wins',
        leader: 2n,
      },
    );
    assert.deepEqual(elect(view(1n, 30, [1n, 2n, 3n], [[2n, 30]])), {
      kind: 'self-wins',
      leader: 1n,
    });
  });

  it('counts self even though the tracker never lists it', () => {
    assert.deepEqual(elect(view(7n, 0, [7n, 8n], [])), { kind: 'self-wins', leader: 7n });
  });

  it('ignores healthy peers outside the replica set', () => {
    assert.deepEqual(elect(view(1n, 0, [1n, 2n], [[9n, 1000]])), { kind: 'self-wins', leader: 1n });
  });

  it('finds nobody eligible when self is not a member and no member is healthy', () => {
    assert.deepEqual(elect(view(1n, 0, [2n, 3n], [[9n, 5]])), { kind: 'no-eligible' });
    assert.equal(electionTransition(view(1n, 0, [2n, 3n], [])), null, 'stay Candidate');
  });

  it('maps outcomes to the Candidate transition', () => {
    assert.deepEqual(electionTransition(view(1n, 9, [1n, 2n], [[2n, 3]])), {
      target: Role.Leader,
      signal: TransitionSignal.ElectionWon,
      leader: 1n,
    });
    assert.deepEqual(electionTransition(view(1n, 1, [1n, 2n], [[2n, 3]])), {
      target: Role.Replica,
      signal: TransitionSignal.ElectionLost,
      leader: 2n,
    });
  });

  it('builds its view from the tracker: healthy peers with their claimed tails', () => {
    const tracker = new HeartbeatTracker(1n, 100);
    tracker.recordHeartbeat(2n, Role.Leader, 50, T0); // will be stale
    tracker.recordHeartbeat(3n, Role.Replica, 40, T0 + 250);
    const v = electionViewFrom(tracker, 1n, 10, [1n, 2n, 3n], T0 + 300);
    assert.deepEqual(v.healthyPeers, [{ nodeId: 3n, tailSeq: 40 }]);
    assert.deepEqual(elect(v), { kind: 'peer-wins', leader: 3n });
  });

  // A cluster-wide view: every candidate's id and last-known tail. Each node sees itself as self
  // and everyone else as a healthy peer.
  const cluster = fc
    .uniqueArray(fc.bigInt({ min: 1n, max: 40n }), { minLength: 1, maxLength: 8 })
    .chain((nodeIds) =>
      fc.record({
        nodes: fc.tuple(...nodeIds.map((id) => fc.tuple(fc.constant(id), fc.nat({ max: 6 })))),
        outsiders: fc.array(fc.tuple(fc.bigInt({ min: 41n, max: 60n }), fc.nat({ max: 100 })), {
          maxLength: 3,
        }),
      }),
    );

  it('property: two nodes with the same view pick the same leader', () => {
    fc.assert(
      fc.property(cluster, ({ nodes, outsiders }) => {
        const set = nodes.map(([id]) => id);
        const winners = nodes.map(([selfId, selfTail]) => {
          const peers = [...nodes.filter(([id]) => id !== selfId), ...outsiders];
          const outcome = elect(view(selfId, selfTail, set, peers));
          assert.notEqual(outcome.kind, 'no-eligible');
          return outcome.kind === 'no-eligible' ? null : outcome.leader;
        });
        assert.equal(new Set(winners).size, 1, `winners ${winners.join(',')}`);
        // Exactly one node elects itself; everyone else loses to it.
        const selfWins = nodes.filter(([selfId, selfTail]) => {
          const peers = nodes.filter(([id]) => id !== selfId);
          return elect(view(selfId, selfTail, set, peers)).kind === 'self-wins';
        });
        assert.equal(selfWins.length, 1);
      }),
    );
  });

  it('property: agrees with the dumb reference on arbitrary views', () => {
    const arbitraryView = fc.record({
      selfId: fc.bigInt({ min: 1n, max: 12n }),
      selfTail: fc.nat({ max: 8 }),
      replicaSet: fc.array(fc.bigInt({ min: 1n, max: 12n }), { maxLength: 8 }),
      healthyPeers: fc.array(
        fc.record({ nodeId: fc.bigInt({ min: 1n, max: 12n }), tailSeq: fc.nat({ max: 8 }) }),
        { maxLength: 10 },
      ),
    });
    fc.assert(
      fc.property(arbitraryView, (v) => {
        // The reference takes the first report of a duplicated peer; make reports unique so the
        // comparison is about ranking, not about which duplicate wins.
        const seen = new Set<bigint>();
        const unique = {
          ...v,
          healthyPeers: v.healthyPeers.filter((p) => !seen.has(p.nodeId) && seen.add(p.nodeId)),
        };
        const outcome = elect(unique);
        const expected = referenceLeader(unique);
        if (expected === null) assert.deepEqual(outcome, { kind: 'no-eligible' });
        else {
          assert.deepEqual(outcome, {
            kind: expected === unique.selfId ? 'self-wins' : 'peer-wins',
            leader: expected,
          });
        }
      }),
    );
  });
});
