// Counterparts of the seed's runtime tests, part 1: the ones that spawn the task. Each test names its original; they run in virtual time with the
// seed's recorder dispatcher. Where JavaScript forces another mechanism (no Drop, no tokio abort)
// the test checks the same promise; the comment says how. Part 2 (steps driven directly, the pure
// helpers) is runtime-seed-steps.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RedexErrorCode } from '../../src/log/errors.js';
import { settle } from '../../src/time/virtual-clock.js';
import {
  CANCEL_GRACE_MS,
  inbound,
  type ReplicationRuntimeHandle,
  Role,
  RUNTIME_INBOX_CAPACITY,
  RUNTIME_PRIORITY_INBOX_CAPACITY,
  TransitionSignal,
} from './imports.js';
import {
  buildCoordinator,
  buildOptions,
  CID,
  electLeader,
  FailingAfterNAnnounceSink,
  fixture,
  heartbeat,
  promote,
  response,
  spawn,
  WRONG_CID,
} from './runtime-helpers.js';

/** Runs `promise` to completion without moving virtual time; fails if it is still pending. */
async function settlesWithoutTime(promise: Promise<unknown>): Promise<void> {
  let done = false;
  void promise.then(() => {
    done = true;
  });
  for (let i = 0; i < 10 && !done; i++) await settle();
  assert.ok(done, 'the promise settled without any virtual time passing');
}

/** 0x20 grants the pre-vote and then the vote of `epoch` (the runtime asked for them). */
async function grantElection(
  handle: ReplicationRuntimeHandle,
  fx: ReturnType<typeof fixture>,
  epoch: number,
): Promise<void> {
  for (const preVote of [true, false]) {
    await handle.dispatch(
      inbound(0x20n, { kind: 'vote-response', channelId: CID, epoch, granted: true, preVote }),
    );
    await fx.clock.advance(0);
  }
}

describe('seed runtime tests (task)', () => {
  // leader_emits_heartbeat_to_peers_each_tick
  it('leaderEmitsHeartbeatToPeersEachTick', async () => {
    const fx = fixture();
    const coordinator = buildCoordinator(fx, { heartbeatMs: 100 });
    await promote(coordinator, Role.Replica);
    const options = await buildOptions(fx, 0x10, [0x10, 0x20, 0x30], 100, coordinator);
    const handle = spawn(options);
    await electLeader(handle.runtime, fx.clock); // at t = 300
    await fx.clock.advance(0);
    options.dispatcher.heartbeats.length = 0; // what it sent as a replica, and its announcement

    // Ticks at 400, 500 and 600 ms; the replicas stay in touch, so the leader keeps its quorum.
    for (let i = 0; i < 3; i++) {
      await handle.dispatch(heartbeat(0x20, Role.Replica, 42));
      await handle.dispatch(heartbeat(0x30, Role.Replica, 42));
      await fx.clock.advance(100);
    }
    assert.equal(coordinator.role, Role.Leader);

    const heartbeats = options.dispatcher.heartbeats;
    // 3 ticks × 2 peers, plus one commit announcement: the replicas' first matching heartbeats
    // commit the log, and a leader tells its replicas of a new commit at once.
    assert.equal(heartbeats.length, 8, '3 ticks × 2 peers + one commit announcement');
    for (const [target, message] of heartbeats) {
      assert.ok(target === 0x20n || target === 0x30n, `target ${target} is a peer, never self`);
      assert.equal(message.role, Role.Leader);
      assert.equal(message.tailSeq, 42);
    }
    await handle.cancel();
    assert.ok(handle.isStopped);
  });

  // inbound_heartbeat_records_into_tracker
  it('inboundHeartbeatRecordsIntoTracker', async () => {
    const fx = fixture();
    const coordinator = buildCoordinator(fx, { heartbeatMs: 100 });
    await promote(coordinator, Role.Replica);
    const options = await buildOptions(fx, 0x10, [0x10, 0x20], 100, coordinator);
    const handle = spawn(options);

    await handle.dispatch(heartbeat(0x20, Role.Leader, 99));
    await fx.clock.advance(150);

    const tracker = handle.runtime.tracker;
    assert.equal(tracker.peer(0x20n)?.tailSeq, 99);
    assert.equal(tracker.peer(0x20n)?.role, Role.Leader);
    assert.equal(tracker.believedLeader, 0x20n);
    // A fresh leader heartbeat: no transition, and the replica heartbeats back on its tick.
    assert.equal(coordinator.role, Role.Replica);
    assert.ok(
      options.dispatcher.heartbeats.some(([t, m]) => t === 0x20n && m.role === Role.Replica),
    );
    await handle.cancel();
  });

  // replica_with_silent_leader_runs_election_and_promotes_self — the election is pre-vote then
  // vote now: the silent leader's tick asks, and the other member's grants are injected.
  it('replicaWithSilentLeaderRunsElectionAndPromotesSelf', async () => {
    const fx = fixture();
    const coordinator = buildCoordinator(fx, { heartbeatMs: 50 });
    await promote(coordinator, Role.Replica);
    const options = await buildOptions(fx, 0x10, [0x10, 0x20], 50, coordinator);
    const handle = spawn(options);

    await handle.dispatch(heartbeat(0x20, Role.Leader, 99));
    await fx.clock.advance(200); // > 3 × 50 ms of silence: the pre-vote round of that tick

    // 0x20 claimed a higher tail, but it is silent: self asks for votes.
    assert.deepEqual(
      options.dispatcher.quorumMessages.map(([t, m]) => [t, m.kind]),
      [[0x20n, 'vote-request']],
    );
    assert.equal(coordinator.role, Role.Replica, 'no role change before a majority answers');
    await grantElection(handle, fx, 2);
    assert.equal(coordinator.role, Role.Leader);
    const snapshot = fx.channelMetrics.snapshot();
    assert.equal(snapshot.electionThrash, 1, 'one Replica → Candidate on missed heartbeats');
    assert.equal(snapshot.leaderChanges, 1);
    await handle.cancel();
  });

  // post_election_tag_sink_failure_does_not_strand_candidate
  it('postElectionTagSinkFailureDoesNotStrandCandidate', async () => {
    const fx = fixture();
    // Ok for Idle → Replica, fails for Candidate → Leader.
    const coordinator = buildCoordinator(fx, { heartbeatMs: 50 }, new FailingAfterNAnnounceSink(1));
    await promote(coordinator, Role.Replica);
    const options = await buildOptions(fx, 0x10, [0x10, 0x20], 50, coordinator);
    const handle = spawn(options);

    await handle.dispatch(heartbeat(0x20, Role.Leader, 99));
    await fx.clock.advance(200); // silent leader: the pre-vote round
    await grantElection(handle, fx, 2);

    // The role moved despite the failing side effect, and the runtime cleared its stale belief.
    assert.equal(coordinator.role, Role.Leader);
    assert.equal(handle.runtime.tracker.believedLeader, null);
    await handle.cancel();
  });

  // shutdown_drives_idle_transition
  it('shutdownDrivesIdleTransition', async () => {
    const fx = fixture();
    const coordinator = buildCoordinator(fx, { heartbeatMs: 100 });
    await promote(coordinator, Role.Replica);
    const handle = spawn(await buildOptions(fx, 0x10, [0x10, 0x20], 100, coordinator));

    await handle.cancel();
    assert.ok(handle.isStopped);
    assert.equal(coordinator.role, Role.Idle, 'ChannelClose ran on the way out');
  });

  // priority_lane_drains_under_low_priority_saturation
  it('priorityLaneDrainsUnderLowPrioritySaturation', async () => {
    const fx = fixture();
    const coordinator = buildCoordinator(fx, { heartbeatMs: 60_000 });
    await promote(coordinator, Role.Replica);
    const handle = spawn(await buildOptions(fx, 0x10, [0x10, 0x20], 60_000, coordinator));

    let refused = 0;
    for (let i = 0; i < RUNTIME_INBOX_CAPACITY * 2; i++) {
      if (handle.tryDispatch(heartbeat(0x20, Role.Replica, 0)) !== null) refused++;
    }
    assert.equal(refused, RUNTIME_INBOX_CAPACITY, 'the normal lane is saturated');

    // Shutdown rides the priority lane: it is taken before any of the 1024 queued heartbeats.
    await settlesWithoutTime(handle.cancel());
    assert.equal(coordinator.role, Role.Idle, 'the graceful Idle transition ran');
    assert.equal(handle.stats.heartbeatsIn, 0, 'no heartbeat was processed before the shutdown');
    assert.equal(handle.runtime.tracker.peer(0x20n), undefined);
  });

  // try_dispatch_returns_event_on_full_buffer
  it('tryDispatchReturnsEventOnFullBuffer', async () => {
    const fx = fixture();
    const coordinator = buildCoordinator(fx, { heartbeatMs: 60_000 });
    await promote(coordinator, Role.Replica);
    const handle = spawn(await buildOptions(fx, 0x10, [0x10, 0x20], 60_000, coordinator));

    // No await between the calls, so the task cannot drain: exactly the overflow comes back.
    const returned = [];
    for (let i = 0; i < RUNTIME_INBOX_CAPACITY + 10; i++) {
      const event = heartbeat(0x20, Role.Replica, i);
      const back = handle.tryDispatch(event);
      if (back !== null) {
        assert.equal(back, event, 'the very event comes back');
        returned.push(back);
      }
    }
    assert.equal(returned.length, 10);
    // The priority lane is separate and still has room.
    assert.equal(handle.tryDispatch(response(0x20)), null);
    await handle.cancel();
  });

  // cancel_with_full_inbox_does_not_hang
  it('cancelWithFullInboxDoesNotHang', async () => {
    const fx = fixture();
    const coordinator = buildCoordinator(fx, { heartbeatMs: 60_000 });
    await promote(coordinator, Role.Replica);
    const handle = spawn(await buildOptions(fx, 0x10, [0x10, 0x20], 60_000, coordinator));
    for (let i = 0; i < RUNTIME_INBOX_CAPACITY; i++) {
      handle.tryDispatch(heartbeat(0x20, Role.Replica, 0));
    }
    // Both lanes full: Shutdown cannot even be queued, and cancel still completes, gracefully.
    for (let i = 0; i < RUNTIME_PRIORITY_INBOX_CAPACITY; i++) {
      assert.equal(handle.tryDispatch(response(0x20, { requestId: BigInt(i) })), null);
    }
    assert.notEqual(handle.tryDispatch(response(0x20)), null, 'the priority lane is full');

    await settlesWithoutTime(handle.cancel());
    assert.ok(handle.isStopped);
    assert.equal(coordinator.role, Role.Idle);
  });

  // cancel_with_full_inbox_does_not_hang — the JS form of the seed's abort fallback: a task wedged
  // on a send that never settles is aborted after CANCEL_GRACE_MS of (virtual) time.
  it('cancelWithWedgedTaskAbortsAfterGrace', async () => {
    const fx = fixture();
    const coordinator = buildCoordinator(fx, { heartbeatMs: 100 });
    await promote(coordinator, Role.Replica);
    const options = await buildOptions(fx, 0x10, [0x10, 0x20], 100, coordinator);
    options.dispatcher.wedge = true;
    const handle = spawn(options);
    await fx.clock.advance(100); // the tick's heartbeat send never settles

    let done = false;
    const cancelled = handle.cancel().then(() => {
      done = true;
    });
    await fx.clock.advance(CANCEL_GRACE_MS - 1);
    assert.equal(done, false, 'still inside the grace period');
    assert.equal(handle.isStopped, false);
    await fx.clock.advance(1);
    await cancelled;
    assert.ok(handle.isStopped);
    assert.equal(coordinator.role, Role.Replica, 'aborted: no graceful Idle transition');
    assert.equal(handle.runtime.holdsDispatcher, false);
  });

  // dropping_handle_aborts_task — JS has no Drop: `dispose()` (Symbol.dispose) is the explicit
  // drop; the GC path (FinalizationRegistry) is covered in runtime.test.ts. Same promise: the
  // task stops and no longer references the dispatcher.
  it('droppingHandleAbortsTask', async () => {
    const fx = fixture();
    const coordinator = buildCoordinator(fx, { heartbeatMs: 60_000 });
    const handle = spawn(await buildOptions(fx, 0x10, [0x10, 0x20], 60_000, coordinator));
    await fx.clock.advance(20);
    assert.equal(handle.runtime.holdsDispatcher, true);

    handle.dispose();
    await settle();

    assert.ok(handle.isStopped);
    assert.equal(handle.runtime.holdsDispatcher, false, 'the dispatcher reference was released');
    assert.equal(fx.clock.pendingTimers, 0, 'no timer keeps the task alive');
  });

  // dispatch_after_cancel_errors
  it('dispatchAfterCancelErrors', async () => {
    const fx = fixture();
    const coordinator = buildCoordinator(fx, { heartbeatMs: 100 });
    const handle = spawn(await buildOptions(fx, 0x10, [0x10, 0x20], 100, coordinator));
    await handle.cancel();

    await assert.rejects(handle.dispatch(heartbeat(0x20, Role.Replica, 0)), {
      code: RedexErrorCode.Closed,
    });
    const event = heartbeat(0x20, Role.Replica, 0);
    assert.equal(handle.tryDispatch(event), event);
  });

  // channel_id_mismatch_drops_heartbeat
  it('channelIdMismatchDropsHeartbeat', async () => {
    const fx = fixture();
    const coordinator = buildCoordinator(fx, { heartbeatMs: 100 });
    await promote(coordinator, Role.Replica);
    const handle = spawn(await buildOptions(fx, 0x10, [0x10, 0x20], 100, coordinator));

    await handle.dispatch(heartbeat(0x20, Role.Leader, 99, WRONG_CID));
    await fx.clock.advance(500);

    // The seed could only check the role; here the tracker is visible: never poisoned.
    const role = coordinator.role;
    assert.ok(role === Role.Replica || role === Role.Leader, `role ${role}`);
    assert.equal(handle.runtime.tracker.peer(0x20n), undefined);
    assert.notEqual(handle.runtime.tracker.believedLeader, 0x20n);
    assert.equal(handle.stats.drops['channel-mismatch'], 1);
    await handle.cancel();
  });

  // is_stopped_is_false_before_first_cancel_completes
  it('isStoppedIsFalseBeforeFirstCancelCompletes', async () => {
    const fx = fixture();
    const coordinator = buildCoordinator(fx, { heartbeatMs: 60_000 });
    const handle = spawn(await buildOptions(fx, 0x10, [0x10, 0x20], 60_000, coordinator));
    assert.equal(handle.isStopped, false, 'fresh runtime');

    // Two racing cancels: neither may report stopped before the task ended.
    const first = handle.cancel();
    const second = handle.cancel();
    assert.equal(handle.isStopped, false, 'asked to stop is not stopped');
    let stoppedWhenSecondSettled = false;
    await second.then(() => {
      stoppedWhenSecondSettled = handle.isStopped;
    });
    assert.ok(stoppedWhenSecondSettled, 'the losing cancel settles only after the task ended');
    await first;
    assert.ok(handle.isStopped);
    await handle.cancel(); // idempotent
    assert.ok(handle.isStopped);
  });

  // post_election_failed_transition_preserves_believed_leader
  it('postElectionFailedTransitionPreservesBelievedLeader', async () => {
    const fx = fixture();
    const coordinator = buildCoordinator(fx, { heartbeatMs: 50 });
    await promote(coordinator, Role.Replica);
    const handle = spawn(await buildOptions(fx, 0x10, [0x10, 0x20], 50, coordinator));

    await handle.dispatch(heartbeat(0x20, Role.Leader, 99));
    await fx.clock.advance(20);
    // An external close wins the race before the election.
    await coordinator.transitionTo(Role.Idle, TransitionSignal.ChannelClose);
    await fx.clock.advance(300);

    assert.equal(coordinator.role, Role.Idle, 'no bounce back to Leader');
    // The seed could not observe the tracker; here: the belief survived.
    assert.equal(handle.runtime.tracker.believedLeader, 0x20n);
    await handle.cancel();
  });
});
