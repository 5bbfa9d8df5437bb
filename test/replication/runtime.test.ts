// The runtime beyond the seed's tests: elections from a cold start, pipelined catch-up, prompt
// announcements and tail reports, in-flight suppression, the race between the read and the send, budget refunds, NACK handling, skip-ahead, disk pressure from the apply
// path, lag gauges, tokens, and the garbage-collected handle.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { UNKNOWN_EPOCH } from '../../src/replication/quorum/fetch-check.js';
import { settle } from '../../src/time/virtual-clock.js';
import {
  BandwidthBudget,
  CATCHUP_CHUNK_BYTES,
  inbound,
  NackCode,
  PARKED_REQUEST_HOLD_MS,
  type ReplicationRuntime,
  Role,
  type RuntimeFile,
  TransitionSignal,
} from './imports.js';
import {
  buildCoordinator,
  buildFile,
  buildOptions,
  buildRuntime,
  CID,
  electLeader,
  events,
  fixedTailFile,
  fixture,
  followLeader,
  heartbeat,
  nack,
  promote,
  RecorderDispatcher,
  request,
  response,
  spawn,
} from './runtime-helpers.js';

const enc = new TextEncoder();

describe('runtime: election without a leader ever seen', () => {
  // Was "…becomes Candidate after three periods, then elects": a silent leader now starts a
  // pre-vote round; the role changes only when a majority answers.
  it('a replica that never heard a leader asks for pre-votes after three periods, then elects', async () => {
    const fx = fixture();
    const coordinator = buildCoordinator(fx, { heartbeatMs: 100 });
    await promote(coordinator, Role.Replica);
    const options = await buildOptions(fx, 0x10, [0x10, 0x20, 0x30], 100, coordinator);
    const handle = spawn(options);
    // Both peers are alive as replicas with shorter logs than ours (42): we stand first.
    const alive = async () => {
      await handle.dispatch(heartbeat(0x20, Role.Replica, 30));
      await handle.dispatch(heartbeat(0x30, Role.Replica, 10));
    };
    const asks = () =>
      options.dispatcher.quorumMessages.filter(([, m]) => m.kind === 'vote-request');
    await alive();
    await fx.clock.advance(200);
    await alive();
    await fx.clock.advance(99); // t = 299: two periods and a bit, nothing happened yet
    assert.equal(asks().length, 0);
    await fx.clock.advance(1); // t = 300: three periods without a leader
    assert.deepEqual(
      asks().map(([to, m]) => [to, m.kind === 'vote-request' && m.preVote]),
      [
        [0x20n, true],
        [0x30n, true],
      ],
    );
    assert.equal(coordinator.role, Role.Replica, 'a pre-vote changes no role');
    assert.equal(fx.channelMetrics.snapshot().electionThrash, 0);
    const epoch = handle.runtime.epoch + 1;
    const grant = (preVote: boolean) =>
      handle.dispatch(
        inbound(0x20n, { kind: 'vote-response', channelId: CID, epoch, granted: true, preVote }),
      );
    await grant(true);
    await fx.clock.advance(0);
    assert.equal(coordinator.role, Role.Candidate, 'a majority of pre-votes: the real vote');
    await grant(false);
    await fx.clock.advance(0);
    assert.equal(coordinator.role, Role.Leader);
    assert.equal(handle.runtime.epoch, epoch);
    await handle.cancel();
  });

  it('a replica that sees a better-placed live peer waits its turn before asking', async () => {
    const fx = fixture();
    const coordinator = buildCoordinator(fx, { heartbeatMs: 100 });
    await promote(coordinator, Role.Replica);
    const options = await buildOptions(fx, 0x10, [0x10, 0x20, 0x30], 100, coordinator);
    const runtime = buildRuntime(options);
    await runtime.onInbound(heartbeat(0x20, Role.Replica, 50)); // longer log than our 42
    await fx.clock.advance(250);
    await runtime.onInbound(heartbeat(0x20, Role.Replica, 50));
    await fx.clock.advance(50);
    await runtime.onTick();
    assert.equal(options.dispatcher.quorumMessages.length, 0, '0x20 stands first');
    // Half a period for the one better-placed peer, plus a jitter under one period.
    await fx.clock.advance(200);
    await runtime.onTick();
    assert.equal(options.dispatcher.quorumMessages.length, 2);
  });

  // Was "a stranded Candidate (nobody eligible) retries the election on every tick": the
  // tail-ranked election is gone; an election that gets no majority in a silence window is given up.
  it('a Candidate whose vote takes a silence window gives up, then asks again later', async () => {
    const fx = fixture();
    const coordinator = buildCoordinator(fx, { heartbeatMs: 100 });
    await promote(coordinator, Role.Replica);
    const options = await buildOptions(fx, 0x10, [0x10, 0x20, 0x30], 100, coordinator);
    const runtime = buildRuntime(options);
    await fx.clock.advance(300);
    await runtime.onTick();
    await runtime.onInbound(
      inbound(0x20n, {
        kind: 'vote-response',
        channelId: CID,
        epoch: 1,
        granted: true,
        preVote: true,
      }),
    );
    assert.equal(coordinator.role, Role.Candidate);
    await fx.clock.advance(300);
    await runtime.onTick();
    assert.equal(coordinator.role, Role.Replica, 'ElectionLost');
    assert.equal(runtime.quorum.counters.electionsLost, 1);
    const asked = options.dispatcher.quorumMessages.length;
    // A silence window, plus a random part of one for the election that ran out of time.
    const lostAt = fx.clock.nowMs();
    while (options.dispatcher.quorumMessages.length === asked) {
      assert.ok(fx.clock.nowMs() - lostAt < 600, 'no new pre-vote round within two windows');
      await fx.clock.advance(100);
      await runtime.onTick();
    }
    assert.equal(options.dispatcher.quorumMessages.length, asked + 2, 'a new pre-vote round');
    assert.ok(fx.clock.nowMs() - lostAt >= 300, 'not before a silence window');
  });
});

describe('runtime: pipelined catch-up', () => {
  async function replicaWithLeaderAt(tail: number) {
    const fx = fixture();
    const coordinator = buildCoordinator(fx, { heartbeatMs: 100 });
    await promote(coordinator, Role.Replica);
    const options = await buildOptions(fx, 0x10, [0x10, 0x20, 0x30], 100, coordinator, {
      tail: null,
    });
    const runtime = buildRuntime(options);
    await followLeader(runtime, options.dispatcher, tail);
    return { fx, options, runtime, coordinator };
  }

  it('a productive chunk with more to fetch asks for the next one at once', async () => {
    const { options, runtime, fx } = await replicaWithLeaderAt(10);
    runtime.outstanding.record(0x20n, 1n, fx.clock.nowMs());
    await runtime.onInbound(response(0x20, { requestId: 1n, events: events(0, ['a', 'b', 'c']) }));

    assert.equal(options.file.nextSeq, 3);
    assert.equal(options.dispatcher.syncRequests.length, 1, 'the next request left at once');
    const [target, next] = options.dispatcher.syncRequests[0]!;
    assert.equal(target, 0x20n);
    assert.equal(next.sinceSeq, 3);
    assert.equal(next.chunkMax, CATCHUP_CHUNK_BYTES, 'a pipelined request');
    // Sent before the chunk was written, from past the tail: it claims no position.
    assert.equal(next.quorum?.lastFetchedEpoch, UNKNOWN_EPOCH);
    assert.equal(options.dispatcher.heartbeats.length, 0);
    assert.equal(runtime.stats.chunksApplied, 1);
  });

  it('the chunk that catches up is reported to the leader at once, with a long-poll request', async () => {
    const { options, runtime, fx, coordinator } = await replicaWithLeaderAt(2);
    runtime.outstanding.record(0x20n, 1n, fx.clock.nowMs());
    await runtime.onInbound(response(0x20, { requestId: 1n, events: events(0, ['a', 'b']) }));

    assert.deepEqual(
      options.dispatcher.heartbeats.map(([t, m]) => [t, m.role, m.tailSeq]),
      [[0x20n, Role.Replica, 2]],
      'one heartbeat, to the leader only, with the new tail',
    );
    assert.deepEqual(
      options.dispatcher.syncRequests.map(([t, m]) => [t, m.sinceSeq]),
      [
        [0x20n, 2],
        [0x20n, 2],
      ],
      'and two requests from the new tail, which the leader holds for its next appends',
    );
    assert.equal(runtime.outstanding.size, 2, 'their tokens are outstanding');
    assert.equal(coordinator.tailSeq, 2);
  });

  it('an empty answer to the long poll is not polled again (an upstream leader answers at once)', async () => {
    const { options, runtime, fx } = await replicaWithLeaderAt(2);
    runtime.outstanding.record(0x20n, 1n, fx.clock.nowMs());
    await runtime.onInbound(response(0x20, { requestId: 1n, events: events(0, ['a', 'b']) }));
    const [, poll] = options.dispatcher.syncRequests[0]!;
    await runtime.onInbound(response(0x20, { requestId: poll.requestId, firstSeq: 2, events: [] }));
    assert.equal(options.dispatcher.syncRequests.length, 2, 'no request after the two polls');
    assert.equal(runtime.stats.emptyResponses, 1);
  });

  it('a Leader heartbeat announcing more triggers a request, unless one is in flight', async () => {
    const { options, runtime, fx } = await replicaWithLeaderAt(0);
    await runtime.onInbound(heartbeat(0x20, Role.Leader, 5));
    assert.equal(options.dispatcher.syncRequests.length, 1);
    await runtime.onInbound(heartbeat(0x20, Role.Leader, 6));
    assert.equal(options.dispatcher.syncRequests.length, 1, 'the first is still in flight');
    assert.equal(runtime.stats.inFlightSkips, 1);
    await runtime.onTick();
    assert.equal(options.dispatcher.syncRequests.length, 1, 'the tick does not duplicate it');
    await fx.clock.advance(100); // unanswered for a whole period: asked again
    await runtime.onTick();
    assert.equal(options.dispatcher.syncRequests.length, 2);
    // Heartbeats from a member that is not the believed leader never trigger a request.
    await runtime.onInbound(heartbeat(0x30, Role.Replica, 100));
    assert.equal(options.dispatcher.syncRequests.length, 2);
  });

  it('a request that could not be sent frees its token', async () => {
    const { options, runtime } = await replicaWithLeaderAt(5);
    options.dispatcher.failSends = true;
    await runtime.onTick();
    assert.equal(runtime.stats.sendFailures, 3, 'two heartbeats and the request');
    assert.equal(runtime.outstanding.size, 0);
  });

  it('request tokens are random 64-bit values, each consumed once', async () => {
    const { options, runtime, fx } = await replicaWithLeaderAt(10);
    const tokens = new Set<bigint>();
    for (let i = 0; i < 20; i++) {
      await runtime.onInbound(heartbeat(0x20, Role.Leader, 10));
      await runtime.onTick();
      await fx.clock.advance(100);
    }
    assert.equal(runtime.coordinator.role, Role.Replica);
    for (const [, message] of options.dispatcher.syncRequests) tokens.add(message.requestId);
    assert.equal(tokens.size, options.dispatcher.syncRequests.length);
    assert.ok(
      [...tokens].some((t) => t > 0xffff_ffffn),
      'not small counters',
    );
    // Answers: a replay of a consumed token and a made-up one are both dropped.
    const [first] = [...tokens];
    await runtime.onInbound(response(0x20, { requestId: first!, events: events(0, ['x']) }));
    await runtime.onInbound(response(0x20, { requestId: first!, events: events(1, ['y']) }));
    await runtime.onInbound(response(0x20, { requestId: 12345n, events: events(1, ['z']) }));
    assert.equal(options.file.nextSeq, 1);
    assert.equal(runtime.stats.drops['unknown-token'], 2);
  });

  it('a gap before the chunk skips ahead to it and applies it', async () => {
    const { options, runtime, fx } = await replicaWithLeaderAt(12);
    runtime.outstanding.record(0x20n, 1n, fx.clock.nowMs());
    await runtime.onInbound(
      response(0x20, {
        requestId: 1n,
        firstSeq: 10,
        leaderFirstRetainedSeq: 10,
        events: events(10, ['k', 'l']),
      }),
    );
    assert.equal(options.file.nextSeq, 12);
    assert.equal(runtime.stats.skipAheads, 1);
    assert.equal(runtime.stats.divergenceSuspected, 0, 'an empty replica diverges from nobody');
    assert.equal(fx.channelMetrics.snapshot().skipAhead, 1);
  });

  it('empty chunks from a fresh leader that claims more engage the backoff after three', async () => {
    const { options, runtime, fx } = await replicaWithLeaderAt(200);
    for (let i = 0; i < 4; i++) {
      runtime.outstanding.record(0x20n, BigInt(i), fx.clock.nowMs());
      await runtime.onInbound(response(0x20, { requestId: BigInt(i) }));
    }
    assert.equal(runtime.backoff.isInBackoff(0x20n, fx.clock.nowMs()), true);
    const sent = options.dispatcher.syncRequests.length;
    await fx.clock.advance(500);
    await runtime.onInbound(heartbeat(0x20, Role.Leader, 200));
    await runtime.onTick();
    assert.equal(options.dispatcher.syncRequests.length, sent, 'no request inside the window');
    assert.equal(runtime.stats.backoffSkips, 2, "the heartbeat's prompt request and the tick's");
    await fx.clock.advance(500);
    await runtime.onInbound(heartbeat(0x20, Role.Leader, 200));
    await runtime.onTick();
    assert.equal(options.dispatcher.syncRequests.length, sent + 1, 'asked again after 1 s');
  });

  it('NACK Backpressure waits for the tick; ChannelClosed idles the channel', async () => {
    const { options, runtime, fx, coordinator } = await replicaWithLeaderAt(10);
    runtime.outstanding.record(0x20n, 1n, fx.clock.nowMs());
    await runtime.onInbound(nack(0x20, { requestId: 1n, errorCode: NackCode.Backpressure }));
    assert.equal(options.dispatcher.syncRequests.length, 0, 'nothing sent at once');
    await runtime.onTick();
    assert.equal(options.dispatcher.syncRequests.length, 1, 'the tick asks again');
    const token = options.dispatcher.syncRequests[0]![1].requestId;
    await runtime.onInbound(nack(0x20, { requestId: token, errorCode: NackCode.ChannelClosed }));
    assert.equal(coordinator.role, Role.Idle);
  });

  it('a NACK from a member that is not the believed leader is dropped', async () => {
    const { options, runtime, fx } = await replicaWithLeaderAt(10);
    runtime.outstanding.record(0x30n, 1n, fx.clock.nowMs());
    const before = options.file.nextSeq;
    await runtime.onInbound(
      nack(0x30, { requestId: 1n, errorCode: NackCode.BadRange, leaderFirstRetainedSeq: 1000 }),
    );
    assert.equal(options.file.nextSeq, before);
    assert.equal(runtime.stats.drops['not-believed-leader'], 1);
  });

  it('BadRange without a first retained seq skips to since + 1', async () => {
    const { options, runtime, fx } = await replicaWithLeaderAt(10);
    runtime.outstanding.record(0x20n, 1n, fx.clock.nowMs());
    await runtime.onInbound(
      nack(0x20, { requestId: 1n, errorCode: NackCode.BadRange, sinceSeq: 0 }),
    );
    assert.equal(options.file.nextSeq, 1);
  });

  it('a chunk the log refuses triggers the disk-pressure policy (withdraw)', async () => {
    const fx = fixture();
    const coordinator = buildCoordinator(fx, { heartbeatMs: 100, onUnderCapacity: 'withdraw' });
    await promote(coordinator, Role.Replica);
    const file = await buildFile(fx, { maxLiveBytes: 4 });
    const runtime = buildRuntime(
      await buildOptions(fx, 0x10, [0x10, 0x20], 100, coordinator, { tail: null, file }),
    );
    await followLeader(runtime, null, 10);
    runtime.outstanding.record(0x20n, 1n, fx.clock.nowMs());
    await runtime.onInbound(response(0x20, { requestId: 1n, events: events(0, ['too large']) }));
    assert.equal(file.nextSeq, 0);
    assert.equal(runtime.stats.diskPressure, 1);
    assert.equal(coordinator.role, Role.Idle);
    assert.equal(fx.channelMetrics.snapshot().underCapacity, 1);
  });
});

describe('runtime: leader side', () => {
  /** A Replica of a 3-member set, made Leader by `electLeader` once its log is set up. */
  async function leader(dispatcherFile?: RuntimeFile) {
    const fx = fixture();
    const coordinator = buildCoordinator(fx, { heartbeatMs: 100 });
    await promote(coordinator, Role.Replica);
    const file = dispatcherFile ?? (await buildFile(fx));
    const options = await buildOptions(fx, 0x10, [0x10, 0x20, 0x30], 100, coordinator, {
      tail: null,
      file,
    });
    return { fx, options, coordinator };
  }

  it('serves a chunk, charges the budget, and refunds it when the send fails', async () => {
    const { options, fx } = await leader();
    const file = options.file as Awaited<ReturnType<typeof buildFile>>;
    for (let i = 0; i < 3; i++) await file.append(enc.encode(`event-${i}`));
    const runtime = buildRuntime(options);
    await electLeader(runtime, fx.clock);
    const full = options.budget.availableBytes;

    await runtime.onInbound(request(0x20, { sinceSeq: 1, chunkMax: 0, requestId: 9n }));
    const [target, sent] = options.dispatcher.syncResponses[0]!;
    assert.equal(target, 0x20n);
    assert.deepEqual(
      sent.events.map((e) => e.seq),
      [1, 2],
    );
    assert.equal(sent.requestId, 9n);
    const cost = 63 + 2 * (12 + 7);
    assert.equal(full - options.budget.availableBytes, cost);
    assert.equal(fx.channelMetrics.snapshot().syncBytes, cost);
    assert.equal(runtime.progress.confirmedTail(0x20n), 1, 'since 1 confirms [0, 1)');

    options.dispatcher.failSends = true;
    await runtime.onInbound(request(0x20, { sinceSeq: 1, chunkMax: 0, requestId: 10n }));
    assert.equal(full - options.budget.availableBytes, cost, 'the failed send was refunded');
    assert.equal(runtime.stats.sendFailures, 1);
  });

  it('a role lost between the read and the send ships a NotLeader NACK, not data', async () => {
    const fx = fixture();
    const coordinator = buildCoordinator(fx, { heartbeatMs: 100 });
    await promote(coordinator, Role.Replica);
    const real = await buildFile(fx);
    for (let i = 0; i < 3; i++) await real.append(enc.encode(`event-${i}`));
    let withdrawOnRead = false;
    // The read itself loses the role: a withdraw lands while the leader reads the range.
    const file: RuntimeFile = {
      get nextSeq() {
        return real.nextSeq;
      },
      get firstSeq() {
        return real.firstSeq;
      },
      async readRangeLimited(start, end, maxBytes, overhead) {
        if (withdrawOnRead) {
          await coordinator.transitionTo(Role.Idle, TransitionSignal.LeaderDiskPressureWithdraw);
        }
        return real.readRangeLimited(start, end, maxBytes, overhead);
      },
      appendBatchIfNextSeq: (e, p) => real.appendBatchIfNextSeq(e, p),
      skipTo: (s) => real.skipTo(s),
      truncateFrom: () => Promise.resolve(0),
      sweepRetention: () => real.sweepRetention(),
    };
    const budget = new BandwidthBudget({
      nicPeakBps: 10_000,
      fraction: 1,
      nowMs: fx.clock.nowMs(),
    });
    const options = await buildOptions(fx, 0x10, [0x10, 0x20], 100, coordinator, { file, budget });
    const runtime = buildRuntime(options);
    await electLeader(runtime, fx.clock);
    withdrawOnRead = true;

    await runtime.onInbound(request(0x20, { sinceSeq: 0, requestId: 4n }));

    assert.equal(options.dispatcher.syncResponses.length, 0, 'no data from a non-leader');
    assert.equal(options.dispatcher.syncNacks.length, 1);
    assert.equal(options.dispatcher.syncNacks[0]![1].errorCode, NackCode.NotLeader);
    assert.equal(budget.availableBytes, 10_000, 'nothing was sent: the budget is whole again');
  });

  it('confirmed tails come from heartbeats and requests; they feed the metrics', async () => {
    const { options, fx } = await leader();
    const file = options.file as Awaited<ReturnType<typeof buildFile>>;
    for (let i = 0; i < 10; i++) await file.append(enc.encode(`e${i}`));
    const runtime = buildRuntime(options);
    await electLeader(runtime, fx.clock);
    // Positions below 10 were written before epoch 1, which starts at 10 in this leader's log.
    await runtime.onInbound(heartbeat(0x20, Role.Replica, 7));
    await runtime.onInbound(request(0x30, { sinceSeq: 4 }));
    assert.equal(runtime.progress.confirmedTail(0x20n), 7);
    assert.equal(runtime.progress.confirmedTail(0x30n), 4);
    assert.equal(runtime.progress.holding(5), 1);
    await runtime.waitForReplicas(3, { count: 2 });
    const text = await fx.metrics.expose();
    assert.match(
      text,
      /redex_replication_replica_confirmed_tail\{channel="test\/runtime",replica="0000000000000020"\} 7/,
    );
    assert.match(
      text,
      /redex_replication_replica_lag_events\{channel="test\/runtime",replica="0000000000000020"\} 3/,
    );
  });

  it('announces appends with one coalesced heartbeat per peer, only as Leader', async () => {
    const { options, fx, coordinator } = await leader();
    const handle = spawn(options);
    await electLeader(handle.runtime, fx.clock);
    await fx.clock.advance(0);
    options.dispatcher.heartbeats.length = 0; // the new leader's own announcement
    for (let i = 0; i < 5; i++) handle.runtime.notifyAppended();
    assert.equal(options.dispatcher.heartbeats.length, 0, 'nothing inside the caller');
    await fx.clock.advance(0);
    assert.deepEqual(
      options.dispatcher.heartbeats.map(([t, m]) => [t, m.role]),
      [
        [0x20n, Role.Leader],
        [0x30n, Role.Leader],
      ],
    );
    await coordinator.transitionTo(Role.Replica, TransitionSignal.PeerLeaderObserved);
    handle.runtime.notifyAppended();
    await fx.clock.advance(0);
    assert.equal(options.dispatcher.heartbeats.length, 2, 'a Replica announces nothing');
    await handle.cancel();
  });

  it('a node that wins an election announces itself at once, not at its next tick', async () => {
    const fx = fixture();
    const coordinator = buildCoordinator(fx, { heartbeatMs: 100 });
    await promote(coordinator, Role.Replica);
    const options = await buildOptions(fx, 0x10, [0x10, 0x20], 100, coordinator);
    const handle = spawn(options);
    await fx.clock.advance(300); // three silent periods: the pre-vote round starts
    for (const preVote of [true, false]) {
      await handle.dispatch(
        inbound(0x20n, { kind: 'vote-response', channelId: CID, epoch: 1, granted: true, preVote }),
      );
      await fx.clock.advance(0);
    }
    assert.equal(coordinator.role, Role.Leader);
    const leaderBeats = options.dispatcher.heartbeats.filter(([, m]) => m.role === Role.Leader);
    assert.equal(leaderBeats.length, 1, 'announced right after winning');
    await handle.cancel();
  });

  it('sets the lag gauges on each tick and clears them on a role change', async () => {
    const { options, fx, coordinator } = await leader();
    const runtime = buildRuntime(options);
    await electLeader(runtime, fx.clock);
    runtime.tracker.recordHeartbeat(0x20n, Role.Replica, 0, fx.clock.nowMs());
    await fx.clock.advance(250);
    await runtime.onTick();
    assert.equal(fx.channelMetrics.snapshot().leaderLagSeconds, 0.25);
    await coordinator.transitionTo(Role.Idle, TransitionSignal.GracefulRelinquish);
    assert.equal(fx.channelMetrics.snapshot().leaderLagSeconds, null);
  });
});

describe('runtime: long poll (leader)', () => {
  async function leaderWith(count: number) {
    const fx = fixture();
    const coordinator = buildCoordinator(fx, { heartbeatMs: 100 });
    await promote(coordinator, Role.Replica);
    const file = await buildFile(fx);
    for (let i = 0; i < count; i++) await file.append(enc.encode(`e${i}`));
    const options = await buildOptions(fx, 0x10, [0x10, 0x20, 0x30], 100, coordinator, {
      tail: null,
      file,
    });
    return { fx, options, coordinator, file };
  }

  /** Elects `runtime`; the new leader's own announcement is forgotten. */
  async function elected(
    runtime: ReplicationRuntime,
    fx: ReturnType<typeof fixture>,
    dispatcher: RecorderDispatcher,
  ): Promise<void> {
    await electLeader(runtime, fx.clock);
    await fx.clock.advance(0);
    dispatcher.heartbeats.length = 0;
  }

  /** Both replicas heartbeat (the leader keeps its quorum), then one period passes with a tick. */
  async function period(runtime: ReplicationRuntime, fx: ReturnType<typeof fixture>, tail: number) {
    await runtime.onInbound(heartbeat(0x20, Role.Replica, tail));
    await runtime.onInbound(heartbeat(0x30, Role.Replica, tail));
    await fx.clock.advance(100);
    await runtime.onTick();
  }

  it('holds a caught-up request and answers it with the next append instead of announcing', async () => {
    const { fx, options, file } = await leaderWith(2);
    const handle = spawn(options);
    await elected(handle.runtime, fx, options.dispatcher);
    await handle.dispatch(request(0x20, { sinceSeq: 2, requestId: 5n }));
    await fx.clock.advance(0);
    assert.equal(options.dispatcher.syncResponses.length, 0, 'held, not answered empty');
    assert.equal(handle.stats.requestsParked, 1);
    assert.equal(handle.runtime.progress.confirmedTail(0x20n), 2, 'it still confirms the tail');

    await file.append(enc.encode('e2'));
    handle.runtime.notifyAppended();
    await fx.clock.advance(0);
    assert.deepEqual(
      options.dispatcher.syncResponses.map(([t, m]) => [
        t,
        m.requestId,
        m.events.map((e) => e.seq),
      ]),
      [[0x20n, 5n, [2]]],
      'the held request carries the append',
    );
    assert.deepEqual(
      options.dispatcher.heartbeats.map(([t]) => t),
      [0x30n],
      'only the peer without a held request gets the announcement',
    );
    assert.equal(handle.stats.parkedAnswered, 1);
    await handle.cancel();
  });

  it('answers a held request within the turn of the append: no timer, no wait for the check phase', async () => {
    const { fx, options, file } = await leaderWith(2);
    const handle = spawn(options);
    await elected(handle.runtime, fx, options.dispatcher);
    await handle.dispatch(request(0x20, { sinceSeq: 2, requestId: 5n }));
    await fx.clock.advance(0);
    assert.equal(options.dispatcher.syncResponses.length, 0, 'held');

    await file.append(enc.encode('e2'));
    handle.runtime.notifyAppended();
    // Only promise jobs run here: the clock does not move and no timer or immediate fires, as
    // when a leader parses a burst of HTTP appends in one turn of the event loop.
    for (let i = 0; i < 100 && options.dispatcher.syncResponses.length === 0; i++) {
      await Promise.resolve();
    }
    assert.deepEqual(
      options.dispatcher.syncResponses.map(([t, m]) => [
        t,
        m.requestId,
        m.events.map((e) => e.seq),
      ]),
      [[0x20n, 5n, [2]]],
    );
    await handle.cancel();
  });

  it('a request from behind the tail is answered at once and replaces a held one', async () => {
    const { fx, options } = await leaderWith(3);
    const runtime = buildRuntime(options);
    await elected(runtime, fx, options.dispatcher);
    await runtime.onInbound(request(0x20, { sinceSeq: 3, requestId: 1n }));
    await runtime.onInbound(request(0x20, { sinceSeq: 1, requestId: 2n }));
    assert.deepEqual(
      options.dispatcher.syncResponses.map(([, m]) => [m.requestId, m.events.map((e) => e.seq)]),
      [[2n, [1, 2]]],
    );
    // The held request is gone: the next append is announced, not sent as an answer to it.
    await fx.clock.advance(1);
    await runtime.onTick();
    assert.equal(options.dispatcher.syncResponses.length, 1);
  });

  it('answers a held request empty after the hold, and NACKs it NotLeader once the role is lost', async () => {
    const { fx, options, coordinator } = await leaderWith(1);
    const runtime = buildRuntime(options);
    await elected(runtime, fx, options.dispatcher);
    await runtime.onInbound(request(0x20, { sinceSeq: 1, requestId: 7n }));
    // The replicas stay in touch through the hold, so the leader keeps its quorum.
    for (let t = 100; t < PARKED_REQUEST_HOLD_MS; t += 100) await period(runtime, fx, 1);
    await fx.clock.advance(99); // hold − 1
    await runtime.onTick();
    assert.equal(options.dispatcher.syncResponses.length, 0, 'still held');
    await fx.clock.advance(1);
    await runtime.onTick();
    assert.deepEqual(
      options.dispatcher.syncResponses.map(([t, m]) => [
        t,
        m.requestId,
        m.firstSeq,
        m.events.length,
      ]),
      [[0x20n, 7n, 1, 0]],
      'empty, at since, well before the replica forgets its token',
    );

    await runtime.onInbound(request(0x30, { sinceSeq: 1, requestId: 8n }));
    await coordinator.transitionTo(Role.Replica, TransitionSignal.PeerLeaderObserved);
    await runtime.onTick();
    assert.deepEqual(
      options.dispatcher.syncNacks.map(([t, m]) => [t, m.requestId, m.errorCode]),
      [[0x30n, 8n, NackCode.NotLeader]],
    );
    assert.equal(runtime.stats.parkedAnswered, 2);
    runtime.assertInvariants();
  });

  it('does not announce to a replica it just sent events to, until that replica asks or a tick passes', async () => {
    const { fx, options, file } = await leaderWith(2);
    const handle = spawn(options);
    await elected(handle.runtime, fx, options.dispatcher);
    await handle.dispatch(request(0x20, { sinceSeq: 0, requestId: 1n }));
    await fx.clock.advance(0);
    assert.equal(options.dispatcher.syncResponses.length, 1);

    await file.append(enc.encode('e2'));
    handle.runtime.notifyAppended();
    await fx.clock.advance(0);
    assert.deepEqual(
      options.dispatcher.heartbeats.map(([t]) => t),
      [0x30n],
      'its next request will find the append anyway',
    );
    assert.equal(handle.stats.announcementsSkipped, 1);

    await handle.dispatch(request(0x20, { sinceSeq: 2, requestId: 2n }));
    await fx.clock.advance(0);
    assert.deepEqual(
      options.dispatcher.syncResponses.map(([, m]) => [m.requestId, m.events.map((e) => e.seq)]),
      [
        [1n, [0, 1]],
        [2n, [2]],
      ],
    );
    // Sent events again; the tick forgets that, so the next append is announced to everyone.
    await fx.clock.advance(100);
    const before = options.dispatcher.heartbeats.length;
    await file.append(enc.encode('e3'));
    handle.runtime.notifyAppended();
    await fx.clock.advance(0);
    assert.deepEqual(
      options.dispatcher.heartbeats.slice(before).map(([t, m]) => [t, m.tailSeq]),
      [
        [0x20n, 4],
        [0x30n, 4],
      ],
    );
    await handle.cancel();
  });
});

describe('runtime: lifecycle', () => {
  it('a handle collected without cancel or dispose stops its task (FinalizationRegistry)', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const fx = fixture();
    const coordinator = buildCoordinator(fx, { heartbeatMs: 60_000 });
    const options = await buildOptions(fx, 0x10, [0x10, 0x20], 60_000, coordinator);
    // Only the runtime escapes this scope; the handle becomes garbage.
    const runtime = ((): ReplicationRuntime => spawn(options).runtime)();
    assert.equal(runtime.ended, false);
    for (let i = 0; i < 50 && !runtime.ended; i++) {
      gc();
      await settle();
    }
    assert.equal(runtime.ended, true, 'the finalizer aborted the task');
    assert.equal(runtime.holdsDispatcher, false);
  });

  it('Symbol.asyncDispose cancels gracefully; Symbol.dispose aborts', async () => {
    const fx = fixture();
    const coordinator = buildCoordinator(fx, { heartbeatMs: 100 });
    await promote(coordinator, Role.Replica);
    {
      await using handle = spawn(await buildOptions(fx, 0x10, [0x10, 0x20], 100, coordinator));
      assert.equal(handle.isStopped, false);
    }
    assert.equal(coordinator.role, Role.Idle, 'asyncDispose ran the graceful close');
    const other = buildCoordinator(fx, { heartbeatMs: 100 });
    await promote(other, Role.Replica);
    let runtime: ReplicationRuntime;
    {
      using handle = spawn(await buildOptions(fx, 0x10, [0x10, 0x20], 100, other));
      runtime = handle.runtime;
    }
    await settle();
    assert.equal(runtime.ended, true);
    assert.equal(other.role, Role.Replica, 'dispose skips the Idle transition');
  });

  it('steps that throw are counted, and the loop goes on', async () => {
    const fx = fixture();
    const coordinator = buildCoordinator(fx, { heartbeatMs: 100 });
    await promote(coordinator, Role.Replica);
    const options = await buildOptions(fx, 0x10, [0x10, 0x20], 100, coordinator);
    // The file's tail throws once, in the first tick.
    let boom = false;
    const file: RuntimeFile = {
      ...fixedTailFile(1),
      get nextSeq() {
        if (!boom) return 1;
        boom = false;
        throw new Error('boom');
      },
    };
    const dispatcher = new RecorderDispatcher();
    const handle = spawn({ ...options, dispatcher, file });
    boom = true;
    await fx.clock.advance(200);
    assert.equal(handle.stats.stepErrors, 1);
    assert.match(String(handle.runtime.lastError), /boom/);
    assert.ok(dispatcher.heartbeats.length > 0, 'the second tick ran');
    handle.runtime.assertInvariants();
    await handle.cancel();
    handle.runtime.assertInvariants();
  });
});
