// The runtime's building blocks on their own: inbox lanes, request tokens, backoff windows,
// confirmed tails and waiters, the router. Property tests check the bounded structures against
// dumb reference models.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { RedexErrorCode } from '../../src/log/errors.js';
import { settle, VirtualClock } from '../../src/time/virtual-clock.js';
import { encodeMessage } from '../../src/wire/codec.js';
import {
  BACKOFF_LEADERS_MAX,
  backoffWindowMs,
  CATCHUP_BACKOFF_CAP_MS,
  CatchupBackoff,
  DISPATCH_WAITERS_MAX,
  HeartbeatTracker,
  inbound,
  isEmptyStrike,
  OutstandingRequests,
  REQUEST_REGISTRY_SOFT_CAP,
  REQUEST_TTL_MS,
  ReplicaProgress,
  ReplicationRouter,
  Role,
  RUNTIME_INBOX_CAPACITY,
  RUNTIME_PRIORITY_INBOX_CAPACITY,
  RuntimeInbox,
  SHUTDOWN,
} from './imports.js';
import {
  buildCoordinator,
  buildOptions,
  CID,
  fixture,
  heartbeat,
  nack,
  promote,
  response,
  spawn,
} from './runtime-helpers.js';

describe('RuntimeInbox', () => {
  it('keeps two bounded lanes and hands events back in FIFO order per lane', () => {
    let wakes = 0;
    const inbox = new RuntimeInbox('"t"', () => wakes++);
    const hb = heartbeat(0x20, Role.Replica, 1);
    const resp = response(0x20);
    assert.ok(inbox.tryPush(hb));
    assert.ok(inbox.tryPush(resp));
    assert.ok(inbox.tryPush(SHUTDOWN));
    assert.equal(wakes, 3);
    assert.equal(inbox.priorityLength, 2);
    assert.equal(inbox.normalLength, 1);
    assert.equal(inbox.popPriority(), resp);
    assert.equal(inbox.popPriority(), SHUTDOWN);
    assert.equal(inbox.popPriority(), undefined);
    assert.equal(inbox.popNormal(), hb);
    inbox.assertInvariants();
  });

  it('push waits for room and is admitted in order when the loop takes events', async () => {
    const inbox = new RuntimeInbox('"t"', () => {});
    for (let i = 0; i < RUNTIME_PRIORITY_INBOX_CAPACITY; i++) {
      assert.ok(inbox.tryPush(response(0x20, { requestId: BigInt(i) })));
    }
    const late = response(0x20, { requestId: 999n });
    let admitted = false;
    const pushed = inbox.push(late).then(() => {
      admitted = true;
    });
    await settle();
    assert.equal(admitted, false, 'still waiting: the lane is full');
    inbox.assertInvariants();
    inbox.popPriority();
    await pushed;
    assert.equal(inbox.priorityLength, RUNTIME_PRIORITY_INBOX_CAPACITY);
    for (let i = 0; i < RUNTIME_PRIORITY_INBOX_CAPACITY - 1; i++) inbox.popPriority();
    assert.equal(inbox.popPriority(), late, 'the waiter was queued behind the earlier events');
  });

  it('keeps FIFO order while its lanes grow past a wrapped head, up to their capacity', () => {
    const inbox = new RuntimeInbox('"t"', () => {});
    // Wrap the head of the small starting ring, then fill the lane: every growth copies a
    // wrapped ring, and the order must survive each copy.
    const popped: bigint[] = [];
    let next = 0;
    for (let i = 0; i < 3; i++) inbox.tryPush(response(0x20, { requestId: BigInt(next++) }));
    for (let i = 0; i < 2; i++) {
      const event = inbox.popPriority();
      assert.ok(event?.kind === 'message' && event.message.kind === 'response');
      popped.push(event.message.requestId);
    }
    while (inbox.tryPush(response(0x20, { requestId: BigInt(next) }))) next++;
    assert.equal(inbox.priorityLength, RUNTIME_PRIORITY_INBOX_CAPACITY);
    inbox.assertInvariants();
    for (let event = inbox.popPriority(); event !== undefined; event = inbox.popPriority()) {
      assert.ok(event.kind === 'message' && event.message.kind === 'response');
      popped.push(event.message.requestId);
    }
    assert.deepEqual(
      popped,
      Array.from({ length: next }, (_, i) => BigInt(i)),
    );
  });

  it('bounds the waiting pushes and rejects them all on close', async () => {
    const inbox = new RuntimeInbox('"t"', () => {});
    for (let i = 0; i < RUNTIME_INBOX_CAPACITY; i++)
      inbox.tryPush(heartbeat(0x20, Role.Replica, i));
    const waiting = [];
    for (let i = 0; i < DISPATCH_WAITERS_MAX; i++) {
      waiting.push(inbox.push(heartbeat(0x20, Role.Replica, i)));
    }
    await assert.rejects(inbox.push(heartbeat(0x20, Role.Replica, 0)), {
      code: RedexErrorCode.InvalidArgument,
    });
    inbox.close();
    const results = await Promise.allSettled(waiting);
    assert.ok(results.every((r) => r.status === 'rejected'));
    assert.equal(inbox.normalLength, 0);
    assert.equal(inbox.tryPush(heartbeat(0x20, Role.Replica, 0)), false);
    inbox.assertInvariants();
  });
});

describe('OutstandingRequests', () => {
  it('consumes a token once, within its TTL, from the leader it was sent to', () => {
    const requests = new OutstandingRequests();
    requests.record(0x20n, 7n, 1_000);
    assert.equal(requests.take(0x30n, 7n, 1_000), false, 'another leader cannot answer it');
    assert.equal(requests.take(0x20n, 7n, 1_000), true);
    assert.equal(requests.take(0x20n, 7n, 1_000), false, 'a replayed answer is dropped');
    requests.record(0x20n, 8n, 1_000);
    assert.equal(requests.take(0x20n, 8n, 1_000 + REQUEST_TTL_MS), false, 'expired');
    assert.equal(requests.size, 0, 'expired entries are removed when taken');
  });

  it('hands back what the request asked for with its live token', () => {
    const requests = new OutstandingRequests();
    requests.record(0x20n, 7n, 1_000, 4_096);
    requests.record(0x20n, 8n, 1_000);
    assert.equal(requests.takeRequest(0x20n, 7n, 1_000)?.sinceSeq, 4_096);
    assert.equal(requests.takeRequest(0x20n, 7n, 1_000), null, 'consumed');
    assert.equal(requests.takeRequest(0x20n, 8n, 1_000)?.sinceSeq, null, 'not said');
  });

  it('tells whether a request to a leader is in flight and forgets a leader', () => {
    const requests = new OutstandingRequests();
    requests.record(0x20n, 1n, 100);
    requests.record(0x20n, 2n, 300);
    requests.record(0x30n, 3n, 400);
    assert.equal(requests.newestSentMs(0x20n, 500), 300);
    assert.equal(requests.newestSentMs(0x20n, 300 + REQUEST_TTL_MS), null);
    assert.equal(requests.clearLeader(0x20n), 2);
    assert.equal(requests.newestSentMs(0x20n, 500), null);
    assert.equal(requests.size, 1);
  });

  it('matches a reference model and never holds more than the cap', () => {
    type Op =
      | { op: 'record'; leader: number; token: number; dt: number }
      | { op: 'take'; leader: number; token: number; dt: number }
      | { op: 'clear'; leader: number; dt: number };
    const op = fc.oneof(
      fc.record({
        op: fc.constant('record' as const),
        leader: fc.integer({ min: 1, max: 3 }),
        token: fc.integer({ min: 0, max: 400 }),
        dt: fc.integer({ min: 0, max: 2_000 }),
      }),
      fc.record({
        op: fc.constant('take' as const),
        leader: fc.integer({ min: 1, max: 3 }),
        token: fc.integer({ min: 0, max: 400 }),
        dt: fc.integer({ min: 0, max: 2_000 }),
      }),
      fc.record({
        op: fc.constant('clear' as const),
        leader: fc.integer({ min: 1, max: 3 }),
        dt: fc.integer({ min: 0, max: 2_000 }),
      }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 600 }), (ops: Op[]) => {
        const requests = new OutstandingRequests();
        // Reference: an ordered list of [key, sentMs], oldest first.
        let model: Array<[string, number]> = [];
        let now = 0;
        for (const o of ops) {
          now += o.dt;
          if (o.op === 'record') {
            const key = `${o.leader}/${o.token}`;
            model = model.filter(([k]) => k !== key);
            if (model.length >= REQUEST_REGISTRY_SOFT_CAP) {
              model = model.filter(([, t]) => now - t < REQUEST_TTL_MS);
            }
            while (model.length >= REQUEST_REGISTRY_SOFT_CAP) model.shift();
            model.push([key, now]);
            requests.record(BigInt(o.leader), BigInt(o.token), now);
          } else if (o.op === 'take') {
            const key = `${o.leader}/${o.token}`;
            const entry = model.find(([k]) => k === key);
            model = model.filter(([k]) => k !== key);
            const expected = entry !== undefined && now - entry[1] < REQUEST_TTL_MS;
            assert.equal(requests.take(BigInt(o.leader), BigInt(o.token), now), expected);
          } else {
            model = model.filter(([k]) => !k.startsWith(`${o.leader}/`));
            requests.clearLeader(BigInt(o.leader));
          }
          assert.equal(requests.size, model.length);
          requests.assertInvariants();
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe('CatchupBackoff', () => {
  it('doubles from 1 s and caps at 30 s', () => {
    const windows = [4, 5, 6, 7, 8, 9, 10, 40, 10_000].map(backoffWindowMs);
    assert.deepEqual(windows, [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000, 30_000]);
    const backoff = new CatchupBackoff();
    for (let i = 0; i < 5; i++) backoff.recordEmpty(0x20n, 0);
    assert.equal(backoff.backoffUntilMs(0x20n), 2_000);
    assert.equal(backoff.isInBackoff(0x20n, 1_999), true);
    assert.equal(backoff.isInBackoff(0x20n, 2_000), false, 'the window end is exclusive');
  });

  it('forgets expired windows after a grace period and stays bounded', () => {
    const backoff = new CatchupBackoff();
    for (let i = 0; i < 4; i++) backoff.recordEmpty(0x20n, 0);
    backoff.recordEmpty(0x30n, 0); // still counting: kept by gc
    backoff.gcExpired(1_000 + CATCHUP_BACKOFF_CAP_MS * 2 - 1, CATCHUP_BACKOFF_CAP_MS * 2);
    assert.equal(backoff.size, 2);
    backoff.gcExpired(1_000 + CATCHUP_BACKOFF_CAP_MS * 2, CATCHUP_BACKOFF_CAP_MS * 2);
    assert.equal(backoff.size, 1);
    for (let i = 0; i < BACKOFF_LEADERS_MAX * 2; i++) backoff.recordEmpty(BigInt(i + 1), 0);
    assert.ok(backoff.size <= BACKOFF_LEADERS_MAX);
    backoff.assertInvariants();
  });

  it('strikes only on a fresh heartbeat that claims more than we hold', () => {
    const tracker = new HeartbeatTracker(0x10n, { heartbeatMs: 100 });
    tracker.recordHeartbeat(0x20n, Role.Leader, 50, 1_000);
    assert.equal(isEmptyStrike(tracker, 0x20n, 10, 1_299), true);
    assert.equal(isEmptyStrike(tracker, 0x20n, 10, 1_300), false, 'stale: 3 × 100 ms old');
    assert.equal(isEmptyStrike(tracker, 0x20n, 50, 1_100), false, 'nothing more to send');
    assert.equal(isEmptyStrike(tracker, 0x30n, 10, 1_100), false, 'never heard');
  });
});

describe('ReplicaProgress (waitForReplicas)', () => {
  it('resolves once count peers hold the seq, with the latest report per peer', async () => {
    const clock = new VirtualClock();
    const progress = new ReplicaProgress('c', clock, [0x20n, 0x30n]);
    let resolved = false;
    const waiting = progress.wait(9, { count: 2, timeoutMs: 1_000 }).then(() => {
      resolved = true;
    });
    progress.observe(0x20n, 10);
    progress.observe(0x99n, 10); // not a peer: ignored
    await settle();
    assert.equal(resolved, false);
    assert.equal(progress.holding(9), 1);
    progress.observe(0x30n, 10);
    await waiting;
    assert.equal(progress.waiterCount, 0);
    progress.observe(0x20n, 3); // a restarted replica really holds less
    assert.equal(progress.confirmedTail(0x20n), 3);
    progress.assertInvariants();
  });

  it('rejects with REPLICATION_TIMEOUT on the clock, and validates its arguments', async () => {
    const clock = new VirtualClock();
    const progress = new ReplicaProgress('c', clock, [0x20n]);
    progress.observe(0x20n, 4);
    const waiting = progress.wait(5, { count: 1, timeoutMs: 250 });
    const outcome = assert.rejects(waiting, {
      code: RedexErrorCode.ReplicationTimeout,
      seq: 5,
      count: 1,
      holding: 0,
    });
    await clock.advance(249);
    assert.equal(progress.waiterCount, 1);
    await clock.advance(1);
    await outcome;
    await progress.wait(3, { count: 1 }); // already held: resolves at once
    await progress.wait(100, { count: 0 }); // nobody needed
    await assert.rejects(progress.wait(1, { count: 2 }), { code: RedexErrorCode.InvalidArgument });
    await assert.rejects(progress.wait(-1), { code: RedexErrorCode.InvalidArgument });
    await assert.rejects(progress.wait(1, { timeoutMs: 1.5 }), {
      code: RedexErrorCode.InvalidArgument,
    });
    const pending = progress.wait(50, { timeoutMs: 10_000 });
    progress.close(new Error('closed'));
    await assert.rejects(pending, /closed/);
    await assert.rejects(progress.wait(1), { code: RedexErrorCode.Closed });
    assert.equal(clock.pendingTimers, 0, 'no timer left behind');
  });
});

describe('ReplicationRouter', () => {
  it('routes by channel id, and hands back what it cannot deliver with the reason', async () => {
    const fx = fixture();
    const coordinator = buildCoordinator(fx, { heartbeatMs: 60_000 });
    await promote(coordinator, Role.Replica);
    const handle = spawn(await buildOptions(fx, 0x10, [0x10, 0x20], 60_000, coordinator));
    const router = new ReplicationRouter();
    router.register(handle);
    assert.equal(router.handleFor(CID), handle);

    assert.equal(router.tryRoute(0x20n, heartbeat(0x20, Role.Leader, 3).message), null);
    const stranger = heartbeat(0x20, Role.Leader, 3, new Uint8Array(32).fill(9));
    const unknown = router.tryRouteEvent(stranger);
    assert.equal(unknown?.reason, 'unknown-channel');
    assert.equal(unknown?.event, stranger, 'the event comes back');

    for (let i = 1; i < RUNTIME_INBOX_CAPACITY; i++) {
      assert.equal(router.tryRoute(0x20n, heartbeat(0x20, Role.Replica, i).message), null);
    }
    const full = router.tryRoute(0x20n, heartbeat(0x20, Role.Replica, 0).message);
    assert.equal(full?.reason, 'inbox-full');

    const frame = encodeMessage(nack(0x20).message);
    assert.equal(router.tryRouteFrame(0x20n, frame), null, 'a frame decodes and routes');
    const malformed = router.tryRouteFrame(0x20n, frame.subarray(0, 10));
    assert.equal(malformed?.reason, 'malformed');
    assert.equal(malformed?.error?.name, 'WireError');
    assert.deepEqual(router.stats, {
      routed: RUNTIME_INBOX_CAPACITY + 1,
      drops: { malformed: 1, 'unknown-channel': 1, 'inbox-full': 1 },
    });

    await handle.cancel();
    const afterStop = router.tryRoute(0x20n, heartbeat(0x20, Role.Leader, 3).message);
    assert.equal(afterStop?.reason, 'unknown-channel', 'a stopped runtime is forgotten');
    assert.equal(router.size, 0);
  });

  it('refuses a second live runtime for a channel and unregisters only its own', async () => {
    const fx = fixture();
    const a = spawn(
      await buildOptions(
        fx,
        0x10,
        [0x10, 0x20],
        60_000,
        buildCoordinator(fx, { heartbeatMs: 60_000 }),
      ),
    );
    const b = spawn(
      await buildOptions(
        fx,
        0x10,
        [0x10, 0x20],
        60_000,
        buildCoordinator(fx, { heartbeatMs: 60_000 }),
      ),
    );
    const router = new ReplicationRouter();
    router.register(a);
    router.register(a); // idempotent
    assert.throws(() => router.register(b), { code: RedexErrorCode.InvalidArgument });
    assert.equal(router.unregister(b), false);
    assert.equal(router.unregister(a), true);
    router.register(b);
    assert.equal(router.handleFor(CID), b);
    router.clear();
    assert.equal(router.size, 0);
    await Promise.all([a.cancel(), b.cancel()]);
  });

  it('inbound keeps the sender the transport proved', () => {
    const event = inbound(0x20n, heartbeat(0x30, Role.Leader, 1).message);
    assert.equal(event.from, 0x20n);
    assert.equal(event.kind, 'message');
  });
});
