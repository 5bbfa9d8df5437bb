// The runtime's snapshot and change events: what status pages read instead of its internals.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Role, TransitionSignal } from './imports.js';
import {
  buildCoordinator,
  buildOptions,
  electLeader,
  fixture,
  heartbeat,
  promote,
  spawn,
} from './runtime-helpers.js';

async function leader() {
  const fx = fixture();
  const coordinator = buildCoordinator(fx, { heartbeatMs: 100 });
  await promote(coordinator, Role.Replica);
  const options = await buildOptions(fx, 0x10, [0x10, 0x20, 0x30], 100, coordinator, {
    tail: null,
  });
  // Two events, so a replica can report less than this leader holds.
  await options.file.appendBatchIfNextSeq(0, [new Uint8Array([1]), new Uint8Array([2])]);
  const handle = spawn(options);
  await electLeader(handle.runtime, fx.clock);
  await fx.clock.advance(0);
  return { fx, coordinator, options, handle };
}

describe('runtime snapshot', () => {
  it('shows role, leader, tail and what each replica claimed and confirmed, frozen', async () => {
    const { fx, handle } = await leader();
    await handle.dispatch(heartbeat(0x20, Role.Replica, 1));
    await fx.clock.advance(10);

    const snapshot = handle.snapshot();
    assert.ok(Object.isFrozen(snapshot) && Object.isFrozen(snapshot.replicas));
    assert.equal(snapshot.role, Role.Leader);
    assert.equal(snapshot.leader, 0x10n, 'a leader believes in itself');
    assert.equal(snapshot.tailSeq, 2);
    assert.deepEqual(
      snapshot.replicas.map((r) => r.nodeId),
      [0x20n, 0x30n],
    );
    const [heard, silent] = snapshot.replicas;
    assert.equal(heard?.role, Role.Replica);
    assert.equal(heard?.tailSeq, 1);
    assert.equal(heard?.confirmedTail, 1);
    assert.equal(heard?.fresh, true);
    assert.equal(silent?.lastHeardMs, null);
    assert.equal(silent?.fresh, false);

    await fx.clock.advance(1_000);
    assert.equal(handle.snapshot().replicas[0]?.fresh, false, 'silent past the window');
    await handle.cancel();
  });
});

describe('runtime change events', () => {
  it('fire when a confirmed tail or the role changes, not for a repeat', async () => {
    const { fx, coordinator, handle } = await leader();
    let changes = 0;
    const stop = handle.onChange(() => changes++);

    await handle.dispatch(heartbeat(0x20, Role.Replica, 1));
    await fx.clock.advance(1);
    assert.equal(changes, 1, 'a confirmed tail moved');
    await handle.dispatch(heartbeat(0x20, Role.Replica, 1));
    await fx.clock.advance(1);
    assert.equal(changes, 1, 'the same report again changes nothing');

    await coordinator.transitionTo(Role.Idle, TransitionSignal.GracefulRelinquish);
    assert.equal(handle.snapshot().role, Role.Idle);
    assert.equal(changes, 2, 'the role moved');

    stop();
    await handle.dispatch(heartbeat(0x20, Role.Replica, 5));
    await fx.clock.advance(1);
    assert.equal(changes, 2, 'unsubscribed');
    await handle.cancel();
  });

  it('one notification per step that changed something, none for a repeat', async () => {
    const { fx, handle } = await leader();
    let changes = 0;
    handle.onChange(() => changes++);
    // Three reports queued before the loop runs: the third repeats the second.
    await handle.dispatch(heartbeat(0x20, Role.Replica, 1));
    await handle.dispatch(heartbeat(0x30, Role.Replica, 1));
    await handle.dispatch(heartbeat(0x30, Role.Replica, 1));
    await fx.clock.advance(1);
    assert.equal(changes, 2);
    await handle.cancel();
  });
});
