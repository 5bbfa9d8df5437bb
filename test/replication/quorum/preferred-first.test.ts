// While the nodes open a channel at different speeds, its preferred member (the set's first)
// stands first: the others hold their candidacy while it is live but not yet heard on the
// channel (bounded), and leave it a silence window once it is heard. A candidate's election
// window starts when its own vote is durable. Liveness only: votes still decide.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type {
  ChannelQuorum,
  QuorumEffect,
} from '../../../src/replication/quorum/channel-quorum.js';
import {
  ELECTION_GRACE_WINDOWS_MAX,
  PREFERRED_WAIT_WINDOWS,
} from '../../../src/replication/quorum/election.js';
import type { NodeId } from '../../../src/wire/types.js';
import { A, B, C, HEARTBEAT_MS, SILENCE_MS, threeMemberQuorum } from './three-members.js';

function quorum(selfId: NodeId): ChannelQuorum {
  return threeMemberQuorum(selfId, { epoch: 0, votedFor: null, history: [] });
}

function stands(effects: readonly QuorumEffect[]): boolean {
  return effects.some((effect) => effect.kind === 'send-vote-request');
}

function tick(
  node: ChannelQuorum,
  nowMs: number,
  livePeers: NodeId[],
  preferredOpening = false,
  role: 'replica' | 'candidate' = 'replica',
): QuorumEffect[] {
  return node.tick({
    role,
    nextSeq: 0,
    nowMs,
    livePeers: livePeers.map((nodeId) => ({ nodeId, lastEpoch: 0, nextSeq: 0 })),
    jitterMs: 0,
    preferredOpening,
  });
}

describe('the preferred member stands first while the channel opens', () => {
  it('a member holds its candidacy while the preferred one is live but unheard, at most the bound', () => {
    const b = quorum(B);
    const limit = SILENCE_MS + PREFERRED_WAIT_WINDOWS * SILENCE_MS;
    let at = SILENCE_MS;
    for (; at < limit; at += HEARTBEAT_MS) {
      assert.equal(stands(tick(b, at, [C], true)), false, `held at ${at}`);
      assert.equal(b.standAtMs, null);
    }
    // Past the bound it stands in its turn, although the preferred member is still unheard.
    assert.equal(stands(tick(b, at, [C], true)), true);
  });

  it('the preferred member itself, and a member whose preferred node is down, do not wait', () => {
    assert.equal(stands(tick(quorum(A), SILENCE_MS, [B, C], true)), true);
    assert.equal(stands(tick(quorum(B), SILENCE_MS, [C], false)), true);
  });

  it('once the preferred member is heard, the others leave it a silence window', () => {
    const b = quorum(B);
    assert.equal(stands(tick(b, 400, [C], true)), false);
    // A opened the channel and is heard: B holds for a silence window, then takes its turn
    // (half a period behind A).
    assert.equal(stands(tick(b, 500, [A, C])), false);
    assert.equal(b.standAtMs, null);
    assert.equal(stands(tick(b, 500 + SILENCE_MS - 1, [A, C])), false);
    assert.equal(b.standAtMs, null);
    assert.equal(stands(tick(b, 500 + SILENCE_MS, [A, C])), false);
    assert.equal(b.standAtMs, 500 + SILENCE_MS + HEARTBEAT_MS / 2);
    // A stands at the end of its own window and asks B: B grants, and does not stand.
    const granted = b.onVoteRequest({
      from: A,
      ask: { epoch: 1, lastEpoch: 0, nextSeq: 0, preVote: true, transfer: false },
      role: 'replica',
      nextSeq: 0,
      nowMs: 810,
    });
    assert.equal(granted.at(-1)?.kind === 'send-vote-response', true);
    assert.equal(stands(tick(b, 850, [A, C])), false);
  });

  it('once the channel had a leader, a failover never holds for the preferred member', () => {
    const b = quorum(B);
    // C leads epoch 1; B hears it, then C dies while A's node beats but A never opened it.
    b.onHeartbeat({
      from: C,
      claimsLeader: true,
      tailSeq: 0,
      epochs: { epoch: 1, lastEpoch: 0, commitSeq: 0 },
      role: 'replica',
      nextSeq: 0,
      nowMs: 100,
    });
    assert.equal(b.leader, C);
    assert.equal(stands(tick(b, 100 + SILENCE_MS, [], true)), true);
  });

  it('a preferred member heard since long ago gets no extra window (failover stays one turn)', () => {
    const b = quorum(B);
    tick(b, 0, [A, C]);
    tick(b, SILENCE_MS, [A, C]);
    assert.equal(b.standAtMs, SILENCE_MS + HEARTBEAT_MS / 2);
  });
});

/** A stands at SILENCE_MS and B grants its pre-vote at `nowMs`: A asks for votes of epoch 1. */
function preVoteWon(nowMs: number) {
  const a = quorum(A);
  assert.equal(stands(tick(a, SILENCE_MS, [B, C])), true);
  const effects = a.onVoteResponse({
    from: B,
    epoch: 1,
    granted: true,
    preVote: true,
    role: 'replica',
    nextSeq: 0,
    nowMs,
  });
  return { a, effects };
}

describe('the election window counts from the candidate’s durable vote', () => {
  it('a slow own vote write does not eat the voters’ time', () => {
    const { a, effects: vote } = preVoteWon(SILENCE_MS + 5);
    assert.ok(vote.some((effect) => effect.kind === 'persist-vote'));
    assert.equal(a.electionInProgress, 'vote');
    // The vote write took most of a silence window.
    const wroteMs = SILENCE_MS - 10;
    const durableAt = SILENCE_MS + 5 + wroteMs;
    a.ownVoteDurable(1, durableAt);
    // Without the move the election would be given up at 2 × SILENCE_MS + 5; the voters' writes
    // are allowed as long as the candidate's own took.
    const endMs = durableAt + SILENCE_MS + wroteMs;
    assert.deepEqual(tick(a, endMs - 1, [B, C], false, 'candidate'), []);
    assert.equal(a.electionInProgress, 'vote');
    tick(a, endMs, [B, C], false, 'candidate');
    assert.equal(
      a.electionInProgress,
      null,
      'given up a window and the write time after the requests left',
    );
    // A durable write of another epoch, or a pre-vote, moves nothing.
    a.ownVoteDurable(7, 10_000);
    assert.equal(a.electionInProgress, null);
  });

  it('the extra time for the voters’ writes is bounded', () => {
    const { a } = preVoteWon(SILENCE_MS);
    // A write that took ten windows buys ELECTION_GRACE_WINDOWS_MAX more, not ten.
    const durableAt = SILENCE_MS + 10 * SILENCE_MS;
    a.ownVoteDurable(1, durableAt);
    const endMs = durableAt + (1 + ELECTION_GRACE_WINDOWS_MAX) * SILENCE_MS;
    tick(a, endMs - 1, [B, C], false, 'candidate');
    assert.equal(a.electionInProgress, 'vote');
    tick(a, endMs, [B, C], false, 'candidate');
    assert.equal(a.electionInProgress, null);
  });
});
