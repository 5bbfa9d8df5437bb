// A node's bound on elections standing at once (election-slots.ts): a channel whose turn came
// while every slot is taken keeps its turn and stands at a later check; a slot is freed when its
// election ends, and one whose channel never checks again is freed once no election could last.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChannelQuorum } from '../../../src/replication/quorum/channel-quorum.js';
import { ELECTION_GRACE_WINDOWS_MAX } from '../../../src/replication/quorum/election.js';
import { ElectionSlots } from '../../../src/replication/quorum/election-slots.js';
import { A, B, SILENCE_MS, threeMemberQuorum } from './three-members.js';

const quorum = (): ChannelQuorum => threeMemberQuorum(A);

/** The periodic check as step-tick.ts runs it: ask for a slot, check, hand the slot back. */
function check(q: ChannelQuorum, slots: ElectionSlots, nowMs: number): void {
  q.tick({
    role: q.electionInProgress === 'vote' ? 'candidate' : 'replica',
    nextSeq: 10,
    nowMs,
    livePeers: [],
    jitterMs: 0,
    mayStand: slots.mayStand(q, nowMs),
  });
  slots.checked(q, nowMs);
}

describe('election slots', () => {
  it('a channel whose turn came waits for a free slot, then stands', () => {
    const slots = new ElectionSlots(2);
    const channels = [quorum(), quorum(), quorum()];
    for (const q of channels) check(q, slots, SILENCE_MS);
    assert.deepEqual(
      channels.map((q) => q.electionInProgress),
      ['pre-vote', 'pre-vote', null],
    );
    assert.equal(slots.standing, 2);
    assert.equal(channels[2]!.standAtMs, SILENCE_MS, 'the third keeps its turn');
    // The first two pre-votes run out of time: their slots are freed at their checks.
    check(channels[0]!, slots, 2 * SILENCE_MS);
    assert.equal(channels[0]!.electionInProgress, null);
    assert.equal(slots.standing, 1);
    check(channels[2]!, slots, 2 * SILENCE_MS);
    assert.equal(channels[2]!.electionInProgress, 'pre-vote');
    assert.equal(slots.standing, 2);
  });

  it('a slot whose election ended between checks is freed when another needs it', () => {
    const slots = new ElectionSlots(1);
    const first = quorum();
    check(first, slots, SILENCE_MS);
    // A higher epoch ends its pre-vote through a message; its next check has not come yet.
    first.onVoteRequest({
      from: B,
      ask: { epoch: 9, lastEpoch: 4, nextSeq: 10, preVote: false, transfer: false },
      role: 'replica',
      nextSeq: 10,
      nowMs: SILENCE_MS + 1,
    });
    assert.equal(first.electionInProgress, null);
    const second = quorum();
    check(second, slots, SILENCE_MS + 2);
    assert.equal(second.electionInProgress, 'pre-vote');
  });

  it('a slot held longer than any election can last is freed', () => {
    const slots = new ElectionSlots(1);
    const stuck = quorum();
    check(stuck, slots, SILENCE_MS);
    // Its channel never checks again (closed mid-election), its pre-vote still marked running.
    const other = quorum();
    const longest = (2 + ELECTION_GRACE_WINDOWS_MAX) * SILENCE_MS;
    assert.equal(slots.mayStand(other, SILENCE_MS + longest), false);
    assert.equal(slots.mayStand(other, SILENCE_MS + longest + 1), true);
  });
});
