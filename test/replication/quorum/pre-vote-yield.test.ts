// Granting a pre-vote holds back this node's own candidacy: the asker's vote request follows
// once the asker's own vote is durable, and standing meanwhile would split that vote between two
// candidates of one epoch. A waiting replica pushes its stand a silence window away; a pre-vote of
// its own gives way only to a better-placed asker, so two crossing pre-votes never both give way.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type {
  ChannelQuorum,
  QuorumEffect,
} from '../../../src/replication/quorum/channel-quorum.js';
import type { NodeId } from '../../../src/wire/types.js';
import { A, B, C, SILENCE_MS, threeMemberQuorum } from './three-members.js';

const quorum = threeMemberQuorum;

const sameLog = { lastEpoch: 4, nextSeq: 10 };
const preVoteAsk = { epoch: 5, ...sameLog, preVote: true, transfer: false };

function kinds(effects: readonly QuorumEffect[]): string[] {
  return effects.map((effect) => effect.kind);
}

function tick(node: ChannelQuorum, nowMs: number, livePeers: NodeId[]): QuorumEffect[] {
  return node.tick({
    role: 'replica',
    nextSeq: 10,
    nowMs,
    livePeers: livePeers.map((nodeId) => ({ nodeId, ...sameLog })),
    jitterMs: 0,
  });
}

describe('a granted pre-vote holds back the granter', () => {
  it('a replica waiting for its turn stands no sooner than a period after granting', () => {
    const c = quorum(C);
    // A is live and ranks first (the set's order): C's turn is half a period later. (Heard
    // since the open: one heard only just would get a silence window to stand first.)
    assert.deepEqual(kinds(tick(c, 0, [A])), []);
    assert.deepEqual(kinds(tick(c, 300, [A])), []);
    assert.equal(c.standAtMs, 350);
    const granted = c.onVoteRequest({
      from: A,
      ask: preVoteAsk,
      role: 'replica',
      nextSeq: 10,
      nowMs: 310,
    });
    assert.deepEqual(granted.at(-1), {
      kind: 'send-vote-response',
      to: A,
      epoch: 5,
      granted: true,
      preVote: true,
    });
    assert.equal(c.standAtMs, 310 + SILENCE_MS);
    assert.deepEqual(kinds(tick(c, 350, [A])), [], 'its old turn no longer stands');
    assert.deepEqual(kinds(tick(c, 410, [A])), [], 'nor a period later: A may still be writing');
    assert.equal(c.electionInProgress, null);
    // A's election never came: C stands at its new turn.
    assert.deepEqual(kinds(tick(c, 610, [])), ['send-vote-request', 'send-vote-request']);
    assert.equal(c.electionInProgress, 'pre-vote');
  });

  it('an own pre-vote gives way to a better-placed asker only', () => {
    const c = quorum(C);
    assert.deepEqual(kinds(tick(c, 300, [])), ['send-vote-request', 'send-vote-request']);
    assert.equal(c.electionInProgress, 'pre-vote');
    // B ranks before C (same log, earlier in the set): C drops its pre-vote.
    c.onVoteRequest({ from: B, ask: preVoteAsk, role: 'replica', nextSeq: 10, nowMs: 301 });
    assert.equal(c.electionInProgress, null);
    assert.equal(c.standAtMs, 301 + SILENCE_MS);
    assert.equal(c.counters.preVotesLost, 1, 'the pre-vote it gave up is counted as lost');
    // A pre-vote for an epoch it already holds is refused, and counted by its reason.
    c.onVoteRequest({
      from: B,
      ask: { ...preVoteAsk, epoch: 4 },
      role: 'replica',
      nextSeq: 10,
      nowMs: 302,
    });
    assert.equal(c.counters.votesRefusedBy['stale-epoch'], 1);
    assert.equal(c.counters.votesRefused, 1);

    const a = quorum(A);
    assert.deepEqual(kinds(tick(a, 300, [])), ['send-vote-request', 'send-vote-request']);
    // C ranks after A: A grants but keeps its own pre-vote, and its grant from B still counts.
    a.onVoteRequest({ from: C, ask: preVoteAsk, role: 'replica', nextSeq: 10, nowMs: 301 });
    assert.equal(a.electionInProgress, 'pre-vote');
    const vote = a.onVoteResponse({
      from: B,
      epoch: 5,
      granted: true,
      preVote: true,
      role: 'replica',
      nextSeq: 10,
      nowMs: 302,
    });
    assert.ok(kinds(vote).includes('become'));
    assert.equal(a.electionInProgress, 'vote');
  });

  it('a longer log outranks the set order', () => {
    const a = quorum(A);
    assert.deepEqual(kinds(tick(a, 300, [])), ['send-vote-request', 'send-vote-request']);
    a.onVoteRequest({
      from: C,
      ask: { ...preVoteAsk, nextSeq: 11 },
      role: 'replica',
      nextSeq: 10,
      nowMs: 301,
    });
    assert.equal(a.electionInProgress, null);
  });
});

describe('elections that ran out of time back off', () => {
  const at = (node: ChannelQuorum, nowMs: number, jitterMs: number) =>
    node.tick({ role: 'replica', nextSeq: 10, nowMs, livePeers: [], jitterMs });

  it('the best-placed member stands at once, then after a random part of a silence window per lost election', () => {
    const a = quorum(A);
    assert.deepEqual(kinds(at(a, 300, 50)), ['send-vote-request', 'send-vote-request']);
    // Nobody answered within the silence window: lost; with no jitter it would stand at once.
    assert.deepEqual(kinds(at(a, 600, 50)), []);
    assert.equal(a.electionInProgress, null);
    assert.deepEqual(
      kinds(at(a, 900, 50)),
      [],
      'half a silence window of backoff (jitter 50 of 100)',
    );
    assert.equal(a.standAtMs, 900 + 150);
    assert.deepEqual(kinds(at(a, 1_050, 50)), ['send-vote-request', 'send-vote-request']);
    // Lost again: twice the windows, the same fraction.
    at(a, 1_350, 50);
    at(a, 1_650, 50);
    assert.equal(a.standAtMs, 1_650 + 300);
  });

  it('a leader heard resets it', () => {
    const a = quorum(A);
    at(a, 300, 50);
    at(a, 600, 50);
    a.onHeartbeat({
      from: B,
      claimsLeader: true,
      tailSeq: 10,
      epochs: { epoch: 5, lastEpoch: 4, commitSeq: 0 },
      role: 'replica',
      nextSeq: 10,
      nowMs: 700,
    });
    // B went silent: A stands at once again.
    assert.deepEqual(kinds(at(a, 1_000, 50)), ['send-vote-request', 'send-vote-request']);
  });
});
