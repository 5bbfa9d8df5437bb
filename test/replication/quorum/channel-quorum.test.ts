import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ChannelQuorum,
  type ChannelQuorumOptions,
  type QuorumEffect,
} from '../../../src/replication/quorum/channel-quorum.js';

const A = 1n;
const B = 2n;
const C = 3n;

function quorum(overrides: Partial<ChannelQuorumOptions> = {}): ChannelQuorum {
  return new ChannelQuorum({
    selfId: C,
    replicaSet: [A, B, C],
    heartbeatMs: 100,
    silenceMs: 300,
    durable: { epoch: 4, votedFor: null, history: [{ epoch: 4, startSeq: 0 }] },
    mayVote: true,
    nowMs: 0,
    ...overrides,
  });
}

const ask = { epoch: 5, lastEpoch: 4, nextSeq: 10, preVote: false, transfer: false };

function kinds(effects: readonly QuorumEffect[]): string[] {
  return effects.map((effect) => effect.kind);
}

/** Node A, leader of epoch 5 since t=400 after a pre-vote and a vote granted by B. */
function elected(): ChannelQuorum {
  const node = quorum({ selfId: A });
  const base = { role: 'replica' as const, nextSeq: 10, nowMs: 300 };
  const preVote = node.tick({ ...base, livePeers: [], jitterMs: 0 });
  assert.deepEqual(kinds(preVote), ['send-vote-request', 'send-vote-request']);
  const vote = node.onVoteResponse({ ...base, from: B, epoch: 5, granted: true, preVote: true });
  assert.deepEqual(kinds(vote), [
    'persist-vote',
    'become',
    'send-vote-request',
    'send-vote-request',
  ]);
  const won = node.onVoteResponse({
    ...base,
    role: 'candidate',
    nowMs: 400,
    from: B,
    epoch: 5,
    granted: true,
    preVote: false,
  });
  assert.deepEqual(kinds(won), ['persist-epoch-start', 'become']);
  assert.deepEqual(won[0], { kind: 'persist-epoch-start', epoch: 5, startSeq: 10 });
  return node;
}

describe('channel quorum', () => {
  it('a vote is persisted before the answer, and survives a crash', () => {
    const voter = quorum();
    const effects = voter.onVoteRequest({
      from: A,
      ask,
      role: 'replica',
      nextSeq: 10,
      nowMs: 1_000,
    });
    assert.deepEqual(kinds(effects), ['persist-vote', 'send-vote-response']);
    assert.deepEqual(effects[0], { kind: 'persist-vote', epoch: 5, votedFor: A });
    // The node restarts from what it persisted: B asks in the same epoch and is refused.
    const restarted = quorum({
      durable: { epoch: 5, votedFor: A, history: [{ epoch: 4, startSeq: 0 }] },
    });
    const second = restarted.onVoteRequest({
      from: B,
      ask,
      role: 'replica',
      nextSeq: 10,
      nowMs: 1_000,
    });
    assert.deepEqual(second.at(-1), {
      kind: 'send-vote-response',
      to: B,
      epoch: 5,
      granted: false,
      preVote: false,
    });
  });

  it('only a current-epoch Leader heartbeat proves the leader alive; stale epochs are dropped', () => {
    const node = quorum();
    const stale = node.onHeartbeat({
      from: A,
      claimsLeader: true,
      tailSeq: 2 ** 40,
      epochs: { epoch: 3, lastEpoch: 3, commitSeq: 0 },
      role: 'replica',
      nextSeq: 10,
      nowMs: 100,
    });
    assert.equal(stale.fromLiveLeader, false);
    assert.equal(node.counters.staleEpochDrops, 1);
    assert.equal(node.leader, null);
    const replicaClaim = node.onHeartbeat({
      from: B,
      claimsLeader: false,
      tailSeq: 2 ** 40,
      epochs: { epoch: 4, lastEpoch: 4, commitSeq: 0 },
      role: 'replica',
      nextSeq: 10,
      nowMs: 100,
    });
    assert.equal(replicaClaim.fromLiveLeader, false);
    assert.equal(node.leaderIsLive('replica', 100), false);
    const live = node.onHeartbeat({
      from: A,
      claimsLeader: true,
      tailSeq: 10,
      epochs: { epoch: 4, lastEpoch: 4, commitSeq: 8 },
      role: 'replica',
      nextSeq: 10,
      nowMs: 100,
    });
    assert.equal(live.fromLiveLeader, true);
    assert.deepEqual(live.effects, [{ kind: 'commit', commitSeq: 8 }]);
    assert.equal(node.leader, A);
  });

  it('a leader that hears a higher epoch steps down at once and fails its pending acks', () => {
    const node = elected();
    const { effects } = node.onHeartbeat({
      from: B,
      claimsLeader: false,
      tailSeq: 0,
      epochs: { epoch: 9, lastEpoch: 2, commitSeq: 0 },
      role: 'leader',
      nextSeq: 10,
      nowMs: 500,
    });
    assert.deepEqual(kinds(effects), ['persist-vote', 'leadership-lost', 'become']);
    assert.deepEqual(effects[1], { kind: 'leadership-lost', epoch: 5 });
    assert.equal(node.epoch, 9);
  });

  it('a single member elects itself; a leader out of touch with its majority steps down', () => {
    const single = quorum({
      selfId: A,
      replicaSet: [A],
      durable: { epoch: 0, votedFor: null, history: [] },
    });
    const won = single.tick({
      role: 'replica',
      nextSeq: 0,
      nowMs: 300,
      livePeers: [],
      jitterMs: 0,
    });
    assert.deepEqual(kinds(won), ['persist-vote', 'become', 'persist-epoch-start', 'become']);
    const leader = elected(); // won at t=400
    const tick = (nowMs: number) =>
      leader.tick({ role: 'leader', nextSeq: 10, nowMs, livePeers: [], jitterMs: 0 });
    assert.deepEqual(tick(699), []);
    assert.deepEqual(kinds(tick(700)), ['leadership-lost', 'become']);
    assert.equal(leader.leader, null);
  });

  it('a Diverged answer to an older request is ignored; a real one cuts, never below commit', () => {
    const node = quorum({
      durable: {
        epoch: 4,
        votedFor: null,
        history: [
          { epoch: 2, startSeq: 0 },
          { epoch: 3, startSeq: 5 },
        ],
      },
    });
    assert.deepEqual(
      node.onDiverged({ sinceSeq: 8, divergingEpoch: 2, endSeq: 5, nextSeq: 10 }),
      [],
    );
    assert.equal(node.counters.staleDiverged, 1);
    assert.deepEqual(node.onDiverged({ sinceSeq: 10, divergingEpoch: 2, endSeq: 7, nextSeq: 10 }), [
      { kind: 'truncate-log', fromSeq: 5 },
    ]);
    assert.deepEqual(node.afterTruncate(5), [{ kind: 'persist-history-truncate', fromSeq: 5 }]);
    assert.equal(node.history.latestEpoch, 2);
  });

  it('a node that may not vote neither votes nor stands until it caught up or a majority is new', () => {
    const fresh = () =>
      quorum({ mayVote: false, durable: { epoch: 0, votedFor: null, history: [] } });
    const refused = fresh().onVoteRequest({
      from: A,
      ask: { ...ask, lastEpoch: 0, nextSeq: 0 },
      role: 'replica',
      nextSeq: 0,
      nowMs: 1_000,
    });
    assert.equal((refused.at(-1) as { granted: boolean }).granted, false);
    const node = fresh();
    assert.deepEqual(
      node.tick({ role: 'replica', nextSeq: 0, nowMs: 5_000, livePeers: [], jitterMs: 0 }),
      [],
    );
    const beat = (target: ChannelQuorum, from: bigint, epoch: number) =>
      target.onHeartbeat({
        from,
        claimsLeader: false,
        tailSeq: 0,
        epochs: { epoch, lastEpoch: 0, commitSeq: 0 },
        role: 'replica',
        nextSeq: 0,
        nowMs: 5_000,
      });
    // One other new member makes a majority of three: a member down at creation does not block.
    beat(node, A, 0);
    assert.equal(node.mayVote, true);
    assert.equal(node.counters.bootstraps, 1);
    // A member that has led (epoch > 0) means state may be lost here: hearing it, the node adopts
    // its epoch and waits to catch up instead of bootstrapping.
    const other = fresh();
    beat(other, A, 3);
    beat(other, B, 0);
    assert.equal(other.mayVote, false);
    assert.equal(other.counters.bootstraps, 0);
  });
});
