import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { config, deferred, flushMicrotasks, RecorderSink } from './helpers.js';
import {
  ALL_ROLES,
  ALL_SIGNALS,
  checkTransition,
  InvalidPairError,
  OBSERVERS_MAX,
  RedexError,
  RedexErrorCode,
  ReplicationCoordinator,
  ReplicationMetrics,
  Role,
  type RoleChangeEvent,
  TransitionSignal as S,
  SignalMismatchError,
  TagSinkError,
  TRANSITION_QUEUE_MAX,
  TransitionQueueFullError,
} from './imports.js';

const ORIGIN = 0xcafe_babe_dead_beefn;

function build() {
  const sink = new RecorderSink();
  const metrics = new ReplicationMetrics();
  const channelMetrics = metrics.forChannel('payments/settlements');
  const coordinator = new ReplicationCoordinator({
    channel: { name: 'payments/settlements', originHash: ORIGIN },
    config,
    sink,
    metrics: channelMetrics,
  });
  const events: RoleChangeEvent[] = [];
  coordinator.onRoleChange((event) => events.push(event));
  return { sink, metrics, channelMetrics, coordinator, events };
}

async function toLeader(coordinator: ReplicationCoordinator): Promise<void> {
  await coordinator.transitionTo(Role.Replica, S.CapabilitySelected);
  await coordinator.transitionTo(Role.Candidate, S.MissedHeartbeats);
  await coordinator.transitionTo(Role.Leader, S.ElectionWon);
}

describe('ReplicationCoordinator', () => {
  it('starts Idle with tail 0', () => {
    const { coordinator } = build();
    assert.equal(coordinator.role, Role.Idle);
    assert.equal(coordinator.tailSeq, 0);
    assert.equal(coordinator.config.heartbeatMs, 500);
    coordinator.assertInvariants();
  });

  it('announces the recorded tail on Idle → Replica', async () => {
    const { coordinator, sink } = build();
    coordinator.recordTailSeq(42);
    const t = await coordinator.transitionTo(Role.Replica, S.CapabilitySelected);
    assert.deepEqual(t, {
      from: Role.Idle,
      to: Role.Replica,
      signal: S.CapabilitySelected,
      noop: false,
    });
    assert.equal(coordinator.role, Role.Replica);
    assert.deepEqual(sink.calls, [{ op: 'announce', originHash: ORIGIN, tailSeq: 42 }]);
    coordinator.assertInvariants();
  });

  it('announces again on Candidate → Leader, not on Replica → Candidate', async () => {
    const { coordinator, sink } = build();
    await coordinator.transitionTo(Role.Replica, S.CapabilitySelected);
    await coordinator.transitionTo(Role.Candidate, S.MissedHeartbeats);
    assert.equal(sink.calls.length, 1, 'Candidate is transient: no announce');
    coordinator.recordTailSeq(999);
    await coordinator.transitionTo(Role.Leader, S.ElectionWon);
    assert.deepEqual(sink.calls, [
      { op: 'announce', originHash: ORIGIN, tailSeq: 0 },
      { op: 'announce', originHash: ORIGIN, tailSeq: 999 },
    ]);
  });

  it('has no tag side effect on Candidate → Replica or Leader → Replica', async () => {
    const { coordinator, sink } = build();
    await coordinator.transitionTo(Role.Replica, S.CapabilitySelected);
    await coordinator.transitionTo(Role.Candidate, S.MissedHeartbeats);
    await coordinator.transitionTo(Role.Replica, S.ElectionLost);
    await coordinator.transitionTo(Role.Candidate, S.MissedHeartbeats);
    await coordinator.transitionTo(Role.Leader, S.ElectionWon);
    const before = sink.calls.length;
    await coordinator.transitionTo(Role.Replica, S.PeerLeaderObserved);
    assert.equal(sink.calls.length, before);
    assert.equal(before, 2);
  });

  for (const [name, setup, signal] of [
    [
      'Replica',
      async (c: ReplicationCoordinator) => c.transitionTo(Role.Replica, S.CapabilitySelected),
      S.DiskPressureWithdraw,
    ],
    [
      'Candidate',
      async (c: ReplicationCoordinator) => {
        await c.transitionTo(Role.Replica, S.CapabilitySelected);
        await c.transitionTo(Role.Candidate, S.MissedHeartbeats);
      },
      S.CandidateDiskPressureWithdraw,
    ],
    ['Leader', toLeader, S.GracefulRelinquish],
    ['Leader (ChannelClose)', toLeader, S.ChannelClose],
  ] as const) {
    it(`withdraws on ${name} → Idle`, async () => {
      const { coordinator, sink } = build();
      await setup(coordinator);
      await coordinator.transitionTo(Role.Idle, signal);
      assert.equal(coordinator.role, Role.Idle);
      assert.deepEqual(sink.calls.at(-1), { op: 'withdraw', originHash: ORIGIN });
    });
  }

  it('treats Idle → Idle by ChannelClose as a no-op: no sink, no metrics, no observers', async () => {
    const { coordinator, sink, channelMetrics, events } = build();
    assert.equal(await coordinator.transitionTo(Role.Idle, S.ChannelClose), null);
    assert.equal(await coordinator.transitionTo(Role.Idle, S.ChannelClose), null);
    assert.deepEqual(sink.calls, []);
    assert.deepEqual(sink.log, []);
    assert.equal(channelMetrics.snapshot().leaderChanges, 0);
    assert.equal(channelMetrics.snapshot().announceDivergence, 0);
    assert.deepEqual(events, []);
  });

  it('rejects an invalid transition without changing anything', async () => {
    const { coordinator, sink, channelMetrics, events } = build();
    await assert.rejects(coordinator.transitionTo(Role.Leader, S.ElectionWon), InvalidPairError);
    await assert.rejects(
      coordinator.transitionTo(Role.Replica, S.ElectionLost),
      SignalMismatchError,
    );
    assert.equal(coordinator.role, Role.Idle);
    assert.deepEqual(sink.log, []);
    assert.equal(channelMetrics.snapshot().leaderChanges, 0);
    assert.deepEqual(events, []);
    // The queue keeps working after a rejection.
    await coordinator.transitionTo(Role.Replica, S.CapabilitySelected);
    assert.equal(coordinator.role, Role.Replica);
  });

  it('counts leader changes on entering Leader and thrash on MissedHeartbeats', async () => {
    const { coordinator, channelMetrics, metrics } = build();
    await toLeader(coordinator);
    await coordinator.transitionTo(Role.Replica, S.PeerLeaderObserved);
    await coordinator.transitionTo(Role.Candidate, S.MissedHeartbeats);
    await coordinator.transitionTo(Role.Leader, S.ElectionWon);
    const snap = channelMetrics.snapshot();
    assert.equal(snap.leaderChanges, 2);
    assert.equal(snap.electionThrash, 2);
    const text = await metrics.expose();
    assert.match(text, /redex_leader_changes_total\{channel="payments\/settlements"\} 2/);
    assert.match(
      text,
      /redex_replication_election_thrash_total\{channel="payments\/settlements"\} 2/,
    );
  });

  it('keeps the role and throws TagSink when announce fails, without counting divergence', async () => {
    const { coordinator, sink, channelMetrics, events } = build();
    sink.failNext = new Error('mesh down');
    const error = await coordinator.transitionTo(Role.Replica, S.CapabilitySelected).then(
      () => assert.fail('expected a TagSinkError'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof TagSinkError);
    assert.ok(error instanceof RedexError);
    assert.equal(error.operation, 'announce');
    assert.equal(error.code, RedexErrorCode.Io);
    assert.equal((error.cause as Error).message, 'mesh down');
    assert.equal(error.transition.to, Role.Replica);
    assert.equal(coordinator.role, Role.Replica, 'the role stays changed');
    assert.equal(channelMetrics.snapshot().announceDivergence, 0);
    assert.equal(events.length, 1);
    assert.equal(events[0]?.tagSinkFailed, true);
    assert.deepEqual(events[0]?.kinds, ['became-holder']);
  });

  it('counts announce divergence when withdraw fails, and the role is Idle anyway', async () => {
    const { coordinator, sink, channelMetrics } = build();
    await toLeader(coordinator);
    sink.failNext = new Error('withdraw refused');
    await assert.rejects(
      coordinator.transitionTo(Role.Idle, S.GracefulRelinquish),
      (e: unknown) => {
        assert.ok(e instanceof TagSinkError);
        assert.equal(e.operation, 'withdraw');
        return true;
      },
    );
    assert.equal(coordinator.role, Role.Idle);
    assert.equal(channelMetrics.snapshot().announceDivergence, 1);
    assert.equal(channelMetrics.snapshot().leaderChanges, 1);
  });

  it('serializes transitions including their side effects', async () => {
    const { coordinator, sink } = build();
    const gate = deferred();
    sink.gate = gate.promise;
    // Queued back to back: the second is only valid against the role the first produces, and
    // its withdraw must not start while the first's announce is still in flight.
    const first = coordinator.transitionTo(Role.Replica, S.CapabilitySelected);
    const second = coordinator.transitionTo(Role.Candidate, S.MissedHeartbeats);
    const third = coordinator.transitionTo(Role.Idle, S.ChannelClose);
    assert.equal(coordinator.pendingTransitions, 3);
    await flushMicrotasks();
    assert.deepEqual(sink.log, ['announce:start']);
    assert.equal(coordinator.role, Role.Replica);
    gate.resolve();
    await Promise.all([first, second, third]);
    assert.deepEqual(sink.log, [
      'announce:start',
      'announce:end',
      'withdraw:start',
      'withdraw:end',
    ]);
    assert.equal(coordinator.role, Role.Idle);
    assert.equal(coordinator.pendingTransitions, 0);
    coordinator.assertInvariants();
  });

  it('bounds the transition queue', async () => {
    const { coordinator, sink } = build();
    const gate = deferred();
    sink.gate = gate.promise;
    const queued: Promise<unknown>[] = [
      coordinator.transitionTo(Role.Replica, S.CapabilitySelected),
    ];
    for (let i = 1; i < TRANSITION_QUEUE_MAX; i++) {
      // Idempotent closes after the first real transition: each waits its turn.
      queued.push(coordinator.transitionTo(Role.Idle, S.ChannelClose).catch(() => undefined));
    }
    assert.equal(coordinator.pendingTransitions, TRANSITION_QUEUE_MAX);
    await assert.rejects(
      coordinator.transitionTo(Role.Idle, S.ChannelClose),
      TransitionQueueFullError,
    );
    gate.resolve();
    await Promise.all(queued);
    assert.equal(coordinator.pendingTransitions, 0);
    assert.equal(coordinator.role, Role.Idle);
  });

  it('keeps the maximum tail and rejects a bad one', () => {
    const { coordinator } = build();
    coordinator.recordTailSeq(100);
    coordinator.recordTailSeq(50);
    assert.equal(coordinator.tailSeq, 100);
    coordinator.recordTailSeq(200);
    assert.equal(coordinator.tailSeq, 200);
    for (const bad of [-1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1]) {
      assert.throws(() => coordinator.recordTailSeq(bad), RedexError);
    }
    assert.equal(coordinator.tailSeq, 200);
  });

  it('tells observers what each role change means', async () => {
    const { coordinator, events } = build();
    await toLeader(coordinator);
    await coordinator.transitionTo(Role.Replica, S.PeerLeaderObserved);
    await coordinator.transitionTo(Role.Candidate, S.MissedHeartbeats);
    await coordinator.transitionTo(Role.Replica, S.ElectionLost);
    await coordinator.transitionTo(Role.Candidate, S.MissedHeartbeats);
    await coordinator.transitionTo(Role.Leader, S.ElectionWon);
    await coordinator.transitionTo(Role.Idle, S.LeaderDiskPressureWithdraw);
    assert.deepEqual(
      events.map((e) => [e.from, e.to, e.kinds]),
      [
        [Role.Idle, Role.Replica, ['became-holder']],
        [Role.Replica, Role.Candidate, []],
        [Role.Candidate, Role.Leader, ['leader-changed']],
        [Role.Leader, Role.Replica, ['leader-lost']],
        [Role.Replica, Role.Candidate, []],
        [Role.Candidate, Role.Replica, []],
        [Role.Replica, Role.Candidate, []],
        [Role.Candidate, Role.Leader, ['leader-changed']],
        [Role.Leader, Role.Idle, ['leader-lost', 'idled']],
      ],
    );
    for (const e of events) {
      assert.equal(e.channel, 'payments/settlements');
      assert.equal(e.originHash, ORIGIN);
      assert.equal(e.tagSinkFailed, false);
    }
  });

  it('never calls observers inside the transitionTo call, isolates a throwing one, and unsubscribes', async () => {
    const { coordinator } = build();
    const seen: string[] = [];
    coordinator.onRoleChange(() => {
      throw new Error('observer bug');
    });
    const off = coordinator.onRoleChange((e) => seen.push(`${e.from}->${e.to}`));
    const pending = coordinator.transitionTo(Role.Replica, S.CapabilitySelected);
    assert.deepEqual(seen, [], 'not synchronous');
    await pending;
    assert.deepEqual(seen, [`${Role.Idle}->${Role.Replica}`]);
    assert.equal(coordinator.observerErrors, 1);
    off();
    await coordinator.transitionTo(Role.Idle, S.ChannelClose);
    assert.equal(seen.length, 1);
  });

  it('bounds the number of observers', () => {
    const { coordinator } = build();
    // build() registered one already.
    for (let i = 1; i < OBSERVERS_MAX; i++) coordinator.onRoleChange(() => {});
    assert.throws(() => coordinator.onRoleChange(() => {}), RedexError);
    coordinator.assertInvariants();
  });

  it('queues a transition requested from inside an observer after the current one', async () => {
    const { coordinator, sink } = build();
    let nested: Promise<unknown> | null = null;
    coordinator.onRoleChange((e) => {
      if (e.to === Role.Replica && nested === null) {
        nested = coordinator.transitionTo(Role.Idle, S.DiskPressureWithdraw);
      }
    });
    await coordinator.transitionTo(Role.Replica, S.CapabilitySelected);
    assert.notEqual(nested, null);
    await nested;
    assert.equal(coordinator.role, Role.Idle);
    assert.deepEqual(
      sink.calls.map((c) => c.op),
      ['announce', 'withdraw'],
    );
  });

  it('property: concurrent transitions behave exactly like the same ones applied in order', async () => {
    const triple = fc.tuple(fc.constantFrom(...ALL_ROLES), fc.constantFrom(...ALL_SIGNALS));
    await fc.assert(
      fc.asyncProperty(
        fc.array(triple, { maxLength: 25 }),
        fc.array(fc.boolean(), { maxLength: 25 }),
        async (steps, failures) => {
          // The n-th side effect fails when failures[n] says so.
          let calls = 0;
          const fail = () => {
            if (failures[calls++]) throw new Error('boom');
          };
          const coordinator = new ReplicationCoordinator({
            channel: { name: 'p', originHash: 1n },
            config,
            sink: { announce: fail, withdraw: fail },
          });
          // Issue everything at once, without awaiting in between.
          const results = steps.map(([to, signal]) =>
            coordinator.transitionTo(to, signal).then(
              (t) => (t === null ? 'noop' : 'ok'),
              (e: unknown) => (e instanceof TagSinkError ? 'tag' : 'invalid'),
            ),
          );
          const outcomes = await Promise.all(results);
          // The model: the matrix applied one step at a time.
          let role: Role = Role.Idle;
          let sideEffects = 0;
          for (const [i, [to, signal]] of steps.entries()) {
            const check = checkTransition(role, to, signal);
            if (!check.ok) {
              assert.equal(outcomes[i], 'invalid', `step ${i}`);
              continue;
            }
            if (check.transition.noop) {
              assert.equal(outcomes[i], 'noop', `step ${i}`);
              continue;
            }
            const sideEffect: boolean =
              (role === Role.Idle && to === Role.Replica) ||
              (role === Role.Candidate && to === Role.Leader) ||
              to === Role.Idle;
            const failed: boolean = sideEffect && failures[sideEffects++] === true;
            assert.equal(outcomes[i], failed ? 'tag' : 'ok', `step ${i}`);
            role = to;
          }
          assert.equal(coordinator.role, role);
          assert.equal(coordinator.pendingTransitions, 0);
          coordinator.assertInvariants();
        },
      ),
    );
  });

  it('works without a metrics handle', async () => {
    const coordinator = new ReplicationCoordinator({
      channel: { name: 'a', originHash: 1n },
      config,
      sink: { announce() {}, withdraw() {} },
    });
    await toLeader(coordinator);
    assert.equal(coordinator.role, Role.Leader);
  });
});
