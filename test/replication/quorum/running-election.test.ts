// An election whose vote writes are slow keeps its voters (election.ts, vote.ts): a candidate
// within its window, and a member that gave it its vote, refuse pre-votes for the next epoch; a
// candidate that won but is still writing its epoch's history entry refuses votes; and check
// quorum counts from when the runtime leads, not from the count of the votes.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChannelQuorum } from '../../../src/replication/quorum/channel-quorum.js';
import type { NodeId } from '../../../src/wire/types.js';
import { A, B, C, SILENCE_MS, threeMemberQuorum } from './three-members.js';

const sameLog = { lastEpoch: 4, nextSeq: 10 };

const quorum = threeMemberQuorum;

function ask(node: ChannelQuorum, from: NodeId, epoch: number, preVote: boolean, nowMs: number) {
  const role = node.electionInProgress === 'vote' ? 'candidate' : 'replica';
  const effects = node.onVoteRequest({
    from,
    ask: { epoch, ...sameLog, preVote, transfer: false },
    role,
    nextSeq: 10,
    nowMs,
  });
  const answer = effects.at(-1);
  assert.ok(answer?.kind === 'send-vote-response');
  return answer.granted;
}

/** A stands at `nowMs` (no live peer, first in the set) and wins its pre-vote from B. */
function candidate(nowMs: number): ChannelQuorum {
  const a = quorum(A);
  a.tick({ role: 'replica', nextSeq: 10, nowMs, livePeers: [], jitterMs: 0 });
  assert.equal(a.electionInProgress, 'pre-vote');
  a.onVoteResponse({
    from: B,
    epoch: 5,
    granted: true,
    preVote: true,
    role: 'replica',
    nextSeq: 10,
    nowMs,
  });
  assert.equal(a.electionInProgress, 'vote');
  return a;
}

/** B grants `a` its vote of epoch 5 at `nowMs`: with its own, a majority. */
function voteFromB(a: ChannelQuorum, nowMs: number) {
  return a.onVoteResponse({
    from: B,
    epoch: 5,
    granted: true,
    preVote: false,
    role: 'candidate',
    nextSeq: 10,
    nowMs,
  });
}

describe('a running election keeps its voters', () => {
  it('a candidate within its window refuses pre-votes, and grants them once it ran out', () => {
    const a = candidate(SILENCE_MS);
    a.ownVoteDurable(5, SILENCE_MS + 50);
    assert.equal(ask(a, C, 6, true, SILENCE_MS + 100), false);
    assert.equal(a.counters.votesRefusedBy['election-live'], 1);
    // Its window (a silence window from its durable vote, plus the 50 ms the write took) ended.
    a.tick({
      role: 'candidate',
      nextSeq: 10,
      nowMs: SILENCE_MS + 50 + SILENCE_MS + 50,
      livePeers: [],
      jitterMs: 0,
    });
    assert.equal(a.electionInProgress, null);
    assert.equal(ask(a, C, 6, true, 2 * SILENCE_MS + 100), true);
  });

  it('a voter refuses pre-votes of others for a silence window after its vote, not its candidate’s', () => {
    const b = quorum(B);
    assert.equal(ask(b, A, 5, false, 1_000), true);
    assert.equal(ask(b, C, 6, true, 1_010), false, 'another asker: the vote it gave is running');
    assert.equal(b.counters.votesRefusedBy['election-live'], 1);
    assert.equal(ask(b, A, 6, true, 1_020), true, 'its candidate trying again');
    assert.equal(ask(b, C, 6, true, 1_000 + SILENCE_MS), true, 'a window later');
  });

  it('a candidate that counted its majority refuses votes while its epoch entry is written', () => {
    const a = candidate(SILENCE_MS);
    const won = voteFromB(a, SILENCE_MS + 10);
    assert.ok(won.some((e) => e.kind === 'persist-epoch-start'));
    assert.equal(a.leader, A);
    // Still a Candidate to the runtime: C's vote request for the next epoch is refused.
    const answer = a.onVoteRequest({
      from: C,
      ask: { epoch: 6, ...sameLog, preVote: false, transfer: false },
      role: 'candidate',
      nextSeq: 10,
      nowMs: SILENCE_MS + 20,
    });
    assert.deepEqual(answer, [
      { kind: 'send-vote-response', to: C, epoch: 5, granted: false, preVote: false },
    ]);
    assert.equal(a.counters.votesRefusedBy['leader-live'], 1);
    assert.equal(a.epoch, 5);
  });

  it('check quorum counts from when the runtime leads', () => {
    const a = candidate(SILENCE_MS);
    voteFromB(a, SILENCE_MS + 10);
    // The epoch entry took two silence windows to write; the runtime leads from then on.
    const ledAt = SILENCE_MS + 10 + 2 * SILENCE_MS;
    a.leadershipStarted(ledAt);
    const tick = (nowMs: number) =>
      a.tick({ role: 'leader', nextSeq: 10, nowMs, livePeers: [], jitterMs: 0 });
    assert.deepEqual(
      tick(ledAt + SILENCE_MS - 1).filter((e) => e.kind === 'become'),
      [],
      'not deposed by its own check before it could hear anyone',
    );
    assert.ok(tick(ledAt + SILENCE_MS).some((e) => e.kind === 'become' && e.role === 'replica'));
  });
});
