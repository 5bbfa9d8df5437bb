import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  decideVote,
  hasQuorum,
  logAtLeast,
  standDelayMs,
  type VoteAsk,
  type VoterState,
} from '../../../src/replication/quorum/vote.js';

const voter: VoterState = {
  epoch: 4,
  votedFor: null,
  lastEpoch: 4,
  nextSeq: 10,
  leaderIsLive: false,
  mayVote: true,
};
const ask: VoteAsk = {
  candidate: 7n,
  epoch: 5,
  lastEpoch: 4,
  nextSeq: 10,
  preVote: false,
  transfer: false,
};

describe('votes', () => {
  it('grants a vote for a higher epoch and persists it first', () => {
    assert.deepEqual(decideVote(voter, ask), {
      granted: true,
      refusal: null,
      persist: { epoch: 5, votedFor: 7n },
      adoptsEpoch: true,
    });
  });

  it('a pre-vote changes nothing', () => {
    const decision = decideVote(voter, { ...ask, preVote: true });
    assert.equal(decision.granted, true);
    assert.equal(decision.persist, null);
    assert.equal(decision.adoptsEpoch, false);
  });

  it('refuses while a leader is live, without adopting the epoch, unless it is a transfer', () => {
    const live = { ...voter, leaderIsLive: true };
    assert.deepEqual(decideVote(live, { ...ask, epoch: 99 }), {
      granted: false,
      refusal: 'leader-live',
      persist: null,
      adoptsEpoch: false,
    });
    assert.equal(decideVote(live, { ...ask, preVote: true }).refusal, 'leader-live');
    assert.equal(decideVote(live, { ...ask, transfer: true }).granted, true);
  });

  it('refuses stale epochs, a second candidate, shorter logs and voters that may not vote', () => {
    assert.equal(decideVote(voter, { ...ask, epoch: 3 }).refusal, 'stale-epoch');
    assert.equal(decideVote(voter, { ...ask, epoch: 4, preVote: true }).refusal, 'stale-epoch');
    const voted = { ...voter, epoch: 5, votedFor: 8n };
    assert.equal(decideVote(voted, ask).refusal, 'already-voted');
    assert.deepEqual(decideVote({ ...voter, epoch: 5, votedFor: 7n }, ask), {
      granted: true,
      refusal: null,
      persist: null,
      adoptsEpoch: false,
    });
    const behind = decideVote(voter, { ...ask, nextSeq: 9 });
    assert.equal(behind.refusal, 'log-behind');
    // Refused, but the higher epoch is still adopted (durably) so this node stops leading.
    assert.deepEqual(behind.persist, { epoch: 5, votedFor: null });
    assert.equal(decideVote(voter, { ...ask, lastEpoch: 3, nextSeq: 50 }).refusal, 'log-behind');
    assert.equal(decideVote({ ...voter, mayVote: false }, ask).refusal, 'may-not-vote');
  });

  it('at most one candidate gets a majority per epoch, whatever the order of asks', () => {
    const members = [1n, 2n, 3n, 4n, 5n];
    fc.assert(
      fc.property(
        fc.array(fc.record({ candidate: fc.constantFrom(...members), voter: fc.nat(4) }), {
          maxLength: 40,
        }),
        (asks) => {
          const states = members.map(() => ({
            ...voter,
            epoch: 1,
            votedFor: null as bigint | null,
          }));
          const granted = new Map<bigint, Set<bigint>>();
          for (const { candidate, voter: index } of asks) {
            const state = states[index] as { -readonly [K in keyof VoterState]: VoterState[K] };
            const decision = decideVote(state, { ...ask, candidate, epoch: 2 });
            if (decision.persist !== null) {
              state.epoch = decision.persist.epoch;
              state.votedFor = decision.persist.votedFor;
            }
            if (decision.granted) {
              const set = granted.get(candidate) ?? new Set();
              set.add(members[index] as bigint);
              granted.set(candidate, set);
            }
          }
          const winners = [...granted.values()].filter((set) => hasQuorum(set, members));
          assert.ok(winners.length <= 1);
        },
      ),
    );
  });

  it('log order and stand-down delays', () => {
    assert.equal(logAtLeast(3, 1, 2, 100), true);
    assert.equal(logAtLeast(3, 1, 3, 2), false);
    const self = { nodeId: 5n, lastEpoch: 3, nextSeq: 10 };
    assert.equal(standDelayMs(self, [{ nodeId: 1n, lastEpoch: 3, nextSeq: 9 }], 100), 0);
    assert.equal(standDelayMs(self, [{ nodeId: 1n, lastEpoch: 3, nextSeq: 10 }], 100), 50);
    assert.equal(
      standDelayMs(
        self,
        [
          { nodeId: 9n, lastEpoch: 4, nextSeq: 0 },
          { nodeId: 8n, lastEpoch: 3, nextSeq: 11 },
        ],
        100,
      ),
      100,
    );
    // Equal logs: the replica set's order (preferred leader first) decides before the NodeId.
    const equal = { nodeId: 1n, lastEpoch: 3, nextSeq: 10 };
    assert.equal(standDelayMs(self, [equal], 100, [5n, 1n]), 0);
    assert.equal(standDelayMs({ ...equal }, [self], 100, [5n, 1n]), 50);
    assert.equal(standDelayMs(self, [equal], 100, [1n, 5n]), 50);
    // A longer log still wins over preference.
    assert.equal(standDelayMs(self, [{ ...equal, nextSeq: 11 }], 100, [5n, 1n]), 50);
  });
});
