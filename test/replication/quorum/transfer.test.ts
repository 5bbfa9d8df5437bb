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
const D = 9n;

function node(selfId: bigint, overrides: Partial<ChannelQuorumOptions> = {}): ChannelQuorum {
  return new ChannelQuorum({
    selfId,
    replicaSet: [A, B, C],
    heartbeatMs: 100,
    silenceMs: 300,
    durable: { epoch: 4, votedFor: null, history: [{ epoch: 4, startSeq: 0 }] },
    mayVote: true,
    nowMs: 0,
    ...overrides,
  });
}

function kinds(effects: readonly QuorumEffect[]): string[] {
  return effects.map((effect) => effect.kind);
}

/** A leads epoch 5 (won at t=400 with B's vote) and wrote seq 10 in it: its log ends at 11. */
function leaderA(): ChannelQuorum {
  const a = node(A);
  const base = { role: 'replica' as const, nextSeq: 10, nowMs: 300 };
  a.tick({ ...base, livePeers: [], jitterMs: 0 });
  a.onVoteResponse({ ...base, from: B, epoch: 5, granted: true, preVote: true });
  a.onVoteResponse({
    ...base,
    role: 'candidate',
    from: B,
    epoch: 5,
    granted: true,
    preVote: false,
  });
  a.onLocalAppend(11);
  return a;
}

/** A replica of A's epoch 5 holding A's whole log [0, 11), heard from A at t=450. */
function followerOfA(selfId: bigint): ChannelQuorum {
  const replica = node(selfId);
  const epochs = { epoch: 5, commitSeq: 0, runs: [{ epoch: 5, startSeq: 10 }] };
  const before = replica.beforeApply({ from: A, epochs, role: 'replica', nextSeq: 10, nowMs: 450 });
  assert.equal(before.accept, true);
  replica.afterApply(11, 0);
  return replica;
}

/** B tells the leader it holds the log up to `tailSeq` (a heartbeat whose position matches). */
function bReports(a: ChannelQuorum, tailSeq: number, nowMs: number): QuorumEffect[] {
  return a.onHeartbeat({
    from: B,
    claimsLeader: false,
    tailSeq,
    epochs: { epoch: 5, lastEpoch: tailSeq > 10 ? 5 : 4, commitSeq: 0 },
    role: 'leader',
    nextSeq: 11,
    nowMs,
  }).effects;
}

describe('leadership transfer', () => {
  it('is refused by a non-leader, for a non-member or self, and while one is in progress', () => {
    const replica = followerOfA(B);
    assert.equal(
      replica.startTransfer({ target: C, role: 'replica', nextSeq: 11, nowMs: 500 }).refusal,
      'not-leader',
    );
    const a = leaderA();
    const at = { role: 'leader' as const, nextSeq: 11, nowMs: 500 };
    assert.equal(a.startTransfer({ ...at, target: D }).refusal, 'not-a-peer');
    assert.equal(a.startTransfer({ ...at, target: A }).refusal, 'not-a-peer');
    assert.equal(a.startTransfer({ ...at, target: B }).refusal, null);
    assert.equal(a.startTransfer({ ...at, target: C }).refusal, 'in-progress');
    assert.equal(a.transferTarget, B);
    assert.equal(a.counters.transfersStarted, 1);
  });

  it('sends stand-now once, only when the target holds the whole log and all of it is committed', () => {
    const a = leaderA();
    assert.deepEqual(
      kinds(a.startTransfer({ target: B, role: 'leader', nextSeq: 11, nowMs: 500 }).effects),
      [],
    );
    // B is behind: nothing yet.
    assert.deepEqual(kinds(bReports(a, 10, 510)), []);
    assert.equal(a.commitSeq, 0);
    // B holds everything: the epoch-5 event reaches a majority (commit) and B is told to stand.
    const caughtUp = bReports(a, 11, 520);
    assert.deepEqual(kinds(caughtUp), ['commit', 'send-stand-now']);
    assert.deepEqual(caughtUp[1], { kind: 'send-stand-now', to: B, epoch: 5, nextSeq: 11 });
    assert.equal(a.commitSeq, 11);
    // Never twice, neither from another report nor from the tick.
    assert.deepEqual(kinds(bReports(a, 11, 530)), []);
    const tick = a.tick({ role: 'leader', nextSeq: 11, nowMs: 540, livePeers: [], jitterMs: 0 });
    assert.deepEqual(kinds(tick), []);
  });

  it('waits up to half a silence window for every member in touch, so acks beyond a quorum complete', () => {
    const a = leaderA();
    a.startTransfer({ target: B, role: 'leader', nextSeq: 11, nowMs: 500 });
    // C is in touch but holds only 10 events.
    a.onHeartbeat({
      from: C,
      claimsLeader: false,
      tailSeq: 10,
      epochs: { epoch: 5, lastEpoch: 4, commitSeq: 0 },
      role: 'leader',
      nextSeq: 11,
      nowMs: 505,
    });
    assert.deepEqual(kinds(bReports(a, 11, 510)), ['commit'], 'C still behind');
    const tickAt = (nowMs: number) =>
      a.tick({ role: 'leader', nextSeq: 11, nowMs, livePeers: [], jitterMs: 0 });
    assert.deepEqual(kinds(tickAt(600)), []);
    // Half the silence window (150 ms) after the start it goes ahead with the quorum alone.
    assert.deepEqual(kinds(tickAt(650)), ['send-stand-now']);
  });

  it('the target stands at once with the transfer flag; voters hearing the old leader grant it', () => {
    const b = followerOfA(B);
    b.onHeartbeat({
      from: A,
      claimsLeader: true,
      tailSeq: 11,
      epochs: { epoch: 5, lastEpoch: 5, commitSeq: 11 },
      role: 'replica',
      nextSeq: 11,
      nowMs: 520,
    });
    const stand = b.onStandNow({ from: A, epoch: 5, role: 'replica', nextSeq: 11, nowMs: 530 });
    assert.deepEqual(kinds(stand), [
      'persist-vote',
      'become',
      'send-vote-request',
      'send-vote-request',
    ]);
    assert.deepEqual(stand[0], { kind: 'persist-vote', epoch: 6, votedFor: B });
    const request = stand[2];
    assert.ok(request?.kind === 'send-vote-request');
    assert.equal(request.epoch, 6);
    assert.equal(request.preVote, false);
    assert.equal(request.transfer, true);
    assert.equal(request.lastEpoch, 5);
    assert.equal(b.counters.transfersStood, 1);

    const ask = { epoch: 6, lastEpoch: 5, nextSeq: 11, preVote: false };
    // C heard A a moment ago: a plain vote request is refused (leader stickiness)…
    const c = followerOfA(C);
    c.onHeartbeat({
      from: A,
      claimsLeader: true,
      tailSeq: 11,
      epochs: { epoch: 5, lastEpoch: 5, commitSeq: 11 },
      role: 'replica',
      nextSeq: 11,
      nowMs: 520,
    });
    const plain = c.onVoteRequest({
      from: B,
      ask: { ...ask, transfer: false },
      role: 'replica',
      nextSeq: 11,
      nowMs: 535,
    });
    assert.deepEqual(plain.at(-1), {
      kind: 'send-vote-response',
      to: B,
      epoch: 5,
      granted: false,
      preVote: false,
    });
    // …the transfer is granted.
    const granted = c.onVoteRequest({
      from: B,
      ask: { ...ask, transfer: true },
      role: 'replica',
      nextSeq: 11,
      nowMs: 536,
    });
    assert.deepEqual(granted.at(-1), {
      kind: 'send-vote-response',
      to: B,
      epoch: 6,
      granted: true,
      preVote: false,
    });
    // The old leader grants too and steps down; its transfer ends with its leadership.
    const a = leaderA();
    a.startTransfer({ target: B, role: 'leader', nextSeq: 11, nowMs: 500 });
    bReports(a, 11, 520);
    const oldLeader = a.onVoteRequest({
      from: B,
      ask: { ...ask, transfer: true },
      role: 'leader',
      nextSeq: 11,
      nowMs: 537,
    });
    assert.deepEqual(kinds(oldLeader), [
      'persist-vote',
      'leadership-lost',
      'become',
      'send-vote-response',
    ]);
    assert.equal(a.transferTarget, null);
    a.assertInvariants('replica', 11);
    // B wins with one grant: leader of epoch 6.
    const won = b.onVoteResponse({
      from: C,
      epoch: 6,
      granted: true,
      preVote: false,
      role: 'candidate',
      nextSeq: 11,
      nowMs: 540,
    });
    assert.deepEqual(kinds(won), ['persist-epoch-start', 'become']);
    assert.equal(b.leader, B);
  });

  it('a stand-now from anyone but the current leader, or to a node that may not vote, is ignored', () => {
    const b = followerOfA(B);
    const at = { role: 'replica' as const, nextSeq: 11, nowMs: 530 };
    assert.deepEqual(b.onStandNow({ ...at, from: C, epoch: 5 }), []);
    assert.deepEqual(b.onStandNow({ ...at, from: A, epoch: 4 }), []);
    assert.deepEqual(b.onStandNow({ ...at, role: 'candidate', from: A, epoch: 5 }), []);
    const unsure = node(B, { mayVote: false });
    unsure.beforeApply({
      from: A,
      epochs: { epoch: 5, commitSeq: 0, runs: [{ epoch: 5, startSeq: 10 }] },
      role: 'replica',
      nextSeq: 10,
      nowMs: 450,
    });
    assert.deepEqual(unsure.onStandNow({ ...at, from: A, epoch: 5 }), []);
    assert.equal(b.counters.standNowIgnored, 3);
    assert.equal(b.epoch, 5);
  });

  it('gives up after a silence window without a new leader: the leader resumes', () => {
    const a = leaderA();
    a.startTransfer({ target: B, role: 'leader', nextSeq: 11, nowMs: 500 });
    // Keep check quorum satisfied: B is in touch but never catches up.
    bReports(a, 10, 700);
    const early = a.tick({ role: 'leader', nextSeq: 11, nowMs: 790, livePeers: [], jitterMs: 0 });
    assert.deepEqual(kinds(early), []);
    assert.equal(a.transferTarget, B);
    bReports(a, 10, 795);
    a.tick({ role: 'leader', nextSeq: 11, nowMs: 800, livePeers: [], jitterMs: 0 });
    assert.equal(a.transferTarget, null);
    assert.equal(a.counters.transfersAbandoned, 1);
    assert.equal(a.leader, A);
    assert.equal(a.epoch, 5);
  });
});

describe('the preferred leader takes its channel back', () => {
  /** A leads epoch 5 of a channel whose preferred member (first of the replica set) is B. */
  function leaderAPreferringB(): ChannelQuorum {
    const a = node(A, { replicaSet: [B, A, C] });
    const base = { role: 'replica' as const, nextSeq: 10, nowMs: 300 };
    a.tick({ ...base, livePeers: [], jitterMs: 0 });
    a.onVoteResponse({ ...base, from: C, epoch: 5, granted: true, preVote: true });
    a.onVoteResponse({
      ...base,
      role: 'candidate',
      from: C,
      epoch: 5,
      granted: true,
      preVote: false,
    });
    a.onLocalAppend(11);
    assert.equal(a.preferredLeader, B);
    return a;
  }

  const tick = (q: ChannelQuorum, nowMs: number) =>
    q.tick({ role: 'leader', nextSeq: 11, nowMs, livePeers: [], jitterMs: 0 });

  it('once the preferred member was in touch and caught up for a silence window', () => {
    const a = leaderAPreferringB();
    // Not yet in touch with a position: nothing.
    assert.deepEqual(kinds(tick(a, 450)), []);
    bReports(a, 11, 500);
    assert.deepEqual(kinds(tick(a, 500)), []);
    bReports(a, 11, 700);
    assert.deepEqual(kinds(tick(a, 700)), [], 'ready for less than a silence window');
    bReports(a, 11, 790);
    const handed = tick(a, 800);
    assert.deepEqual(kinds(handed), ['send-stand-now']);
    assert.equal(a.transferTarget, B);
    assert.equal(a.counters.leadershipReturns, 1);
  });

  it('not while the preferred member lags, and not again soon after a return failed', () => {
    const a = leaderAPreferringB();
    // A's log grew to 1,000 events; B holds the first 10 (more than the allowed lag behind).
    for (let t = 500; t <= 1_000; t += 100) {
      a.onHeartbeat({
        from: B,
        claimsLeader: false,
        tailSeq: 10,
        epochs: { epoch: 5, lastEpoch: 4, commitSeq: 0 },
        role: 'leader',
        nextSeq: 1_000,
        nowMs: t,
      });
      const effects = a.tick({
        role: 'leader',
        nextSeq: 1_000,
        nowMs: t,
        livePeers: [],
        jitterMs: 0,
      });
      assert.deepEqual(kinds(effects), []);
    }
    assert.equal(a.transferTarget, null, 'no transfer to a member that does not hold the log');
    const b = leaderAPreferringB();
    b.startTransfer({ target: B, role: 'leader', nextSeq: 11, nowMs: 500 });
    bReports(b, 10, 790);
    tick(b, 800);
    assert.equal(b.counters.transfersAbandoned, 1);
    // B catches up, but the return waits out the back-off (ten silence windows).
    for (let t = 900; t < 3_800; t += 100) {
      bReports(b, 11, t);
      assert.deepEqual(kinds(tick(b, t)), [], `t=${t}`);
    }
    bReports(b, 11, 3_900);
    assert.deepEqual(kinds(tick(b, 3_900)), ['send-stand-now']);
  });

  it('a preferred leader never hands its own channel away', () => {
    const a = leaderA(); // A is first of [A, B, C]
    for (let t = 500; t <= 1_500; t += 100) {
      bReports(a, 11, t);
      tick(a, t);
    }
    assert.equal(a.transferTarget, null);
    assert.equal(a.counters.leadershipReturns, 0);
  });
});
