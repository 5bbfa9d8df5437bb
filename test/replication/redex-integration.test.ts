// `enableReplication(redex, host)` and replicated files: config validation, placement, the runtime
// started by itself as Replica, the NOT_LEADER write guard and its bypass for the runtime's own
// writes, waitForReplicas on the file, and close cancelling the runtime.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  NotLeaderError,
  Redex,
  RedexErrorCode,
  ReplicationTimeoutError,
} from '../../src/log/index.js';
import { VirtualClock } from '../../src/time/virtual-clock.js';
import { channelIdFromName } from '../../src/wire/ids.js';
import {
  enableReplication,
  type NodeId,
  placeReplicas,
  ReplicationConfigError,
  type ReplicationHost,
  ReplicationMetrics,
  ReplicationRouter,
  Role,
  replicatorOf,
  resolveReplicationConfig,
} from './imports.js';
import { RecorderDispatcher } from './runtime-helpers.js';

/** These tests drive the clock themselves: an append resolves once stored on the leader. */
const LEADER_ACKS = { acks: 'leader' } as const;

const enc = new TextEncoder();

/** Replication as the tests enable it: fast heartbeats allowed. */
function enable(redex: Redex, host: ReplicationHost) {
  return enableReplication(redex, host, { testOnlyHeartbeatMsMin: 1 });
}

function setup(selfId: NodeId = 0x10n, members: NodeId[] = [0x10n, 0x20n, 0x30n]) {
  const clock = new VirtualClock();
  const redex = new Redex({ clock });
  const dispatcher = new RecorderDispatcher();
  const router = new ReplicationRouter();
  const metrics = new ReplicationMetrics();
  const host: ReplicationHost = {
    selfId,
    members: () => members,
    dispatcher,
    router,
    metrics,
    addressOf: (id) => `10.0.0.${Number(id >> 4n)}:7000`,
  };
  return { clock, redex, dispatcher, router, metrics, host };
}

describe('enableReplication', () => {
  it('a replicated file without replication enabled is a CONFIG error', async () => {
    const redex = new Redex({ clock: new VirtualClock() });
    await assert.rejects(redex.openFile('orders/audit', { replication: {} }), {
      code: RedexErrorCode.Config,
      message: /replication is not enabled/,
    });
    assert.deepEqual(redex.fileNames, []);
  });

  it('validates the replication config and names the bad field', async () => {
    const { redex, host } = setup();
    enable(redex, host);
    await assert.rejects(redex.openFile('orders/audit', { replication: { factor: 17 } }), (e) => {
      assert.ok(e instanceof ReplicationConfigError);
      assert.equal(e.code, RedexErrorCode.Config);
      assert.equal(e.field, 'factor');
      return true;
    });
    await assert.rejects(redex.openFile('orders/audit', { replication: { heartbeatMs: 0 } }), {
      field: 'heartbeatMs',
    });
    await assert.rejects(redex.openFile('orders/audit', { replication: { facter: 3 } }), {
      field: 'facter',
    });
  });

  it('refuses a reopen with a different replication config, accepts an equivalent one', async () => {
    const { redex, host } = setup();
    enable(redex, host);
    const file = await redex.openFile('orders/audit', { replication: { heartbeatMs: 200 } });
    const same = await redex.openFile('orders/audit', {
      replication: { heartbeatMs: 200, factor: 3, placement: 'standard' },
    });
    assert.equal(same, file, 'defaults spelled out are the same config');
    await assert.rejects(redex.openFile('orders/audit', { replication: { heartbeatMs: 300 } }), {
      code: RedexErrorCode.Config,
    });
    await assert.rejects(redex.openFile('orders/audit'), { code: RedexErrorCode.Config });
    await redex.close();
  });

  it('is idempotent for the same host and refuses another one', () => {
    const { redex, host } = setup();
    const replicator = enable(redex, host);
    assert.equal(enable(redex, host), replicator);
    assert.equal(redex.replication, replicator);
    assert.throws(() => enable(redex, { ...host }), { code: RedexErrorCode.Config });
    assert.throws(() => enable(new Redex(), { ...host, selfId: 0n }), {
      code: RedexErrorCode.Config,
    });
  });

  it('a member starts its runtime as Replica by itself, registered in the router', async () => {
    const { redex, host, router, clock, dispatcher } = setup();
    enable(redex, host);
    const file = await redex.openFile('orders/audit', { replication: { heartbeatMs: 100 } });
    const channel = replicatorOf(redex)!.channel('orders/audit')!;
    assert.ok(file.replicated);
    assert.ok(channel.isMember);
    assert.equal(channel.role, Role.Replica);
    assert.deepEqual(
      channel.replicaSet,
      placeReplicas(
        channelIdFromName('orders/audit'),
        [0x10n, 0x20n, 0x30n],
        resolveReplicationConfig(),
      ),
    );
    assert.equal(router.handleFor(channelIdFromName('orders/audit')), channel.handle);
    await clock.advance(100);
    assert.equal(dispatcher.heartbeats.length, 2, 'it heartbeats its two peers as Replica');
    assert.ok(dispatcher.heartbeats.every(([, m]) => m.role === Role.Replica));
    await redex.close();
  });

  it('refuses appends with NOT_LEADER until this node leads; the runtime still writes', async () => {
    const { redex, host, clock } = setup();
    enable(redex, host);
    const file = await redex.openFile('orders/audit', { replication: { heartbeatMs: 100 } });
    const channel = replicatorOf(redex)!.channel('orders/audit')!;
    const handle = channel.handle!;

    await assert.rejects(file.append(enc.encode('x'), LEADER_ACKS), (error: unknown) => {
      assert.ok(error instanceof NotLeaderError);
      assert.equal(error.leaderNodeId, null, 'no leader known yet');
      return true;
    });
    await assert.rejects(file.appendBatch([enc.encode('x')], LEADER_ACKS), {
      code: RedexErrorCode.NotLeader,
    });
    await assert.rejects(file.appendBatchIfNextSeq(0, [enc.encode('x')]), {
      code: RedexErrorCode.NotLeader,
    });

    // A leader shows up: the error names it and its address.
    handle.tryDispatch({
      kind: 'message',
      from: 0x20n,
      message: {
        kind: 'heartbeat',
        channelId: channelIdFromName('orders/audit'),
        tailSeq: 0,
        role: Role.Leader,
        wallClockMs: 0,
        // Only a Leader heartbeat of a current epoch makes a leader known.
        quorum: { epoch: 1, lastEpoch: 0, commitSeq: 0 },
      },
    });
    await clock.advance(0);
    await assert.rejects(file.append(enc.encode('x'), LEADER_ACKS), {
      code: RedexErrorCode.NotLeader,
      leaderNodeId: 0x20n,
      leaderAddress: '10.0.0.2:7000',
    });
    // The runtime's path bypasses the guard: that is how a replica stores its leader's chunks.
    assert.equal(await file.applyReplicated(0, [enc.encode('from the leader')]), 0);
    assert.equal(file.nextSeq, 1);
    assert.equal(file.len, 1);
    await redex.close();
  });

  it('a lone member elects itself after three periods and then takes writes', async () => {
    const { redex, host, clock, dispatcher } = setup(0x10n, [0x10n]);
    enable(redex, host);
    const file = await redex.openFile('solo/log', { replication: { heartbeatMs: 100, factor: 1 } });
    const channel = replicatorOf(redex)!.channel('solo/log')!;
    await clock.advance(299);
    assert.equal(channel.role, Role.Replica);
    await clock.advance(1);
    assert.equal(channel.role, Role.Leader);
    assert.equal(channel.leader, 0x10n);
    assert.equal(await file.append(enc.encode('mine'), LEADER_ACKS), 0);
    await file.waitForReplicas(0, { count: 0 }); // nobody else to wait for
    await assert.rejects(file.waitForReplicas(0, { count: 1 }), {
      code: RedexErrorCode.InvalidArgument,
    });
    assert.equal(dispatcher.heartbeats.length, 0, 'nobody to talk to');
    await redex.close();
  });

  it('a node outside the replica set holds no runtime and refuses writes', async () => {
    const { redex, host, router } = setup(0x40n, [0x10n, 0x20n, 0x30n, 0x40n]);
    enable(redex, host);
    const file = await redex.openFile('pinned/log', {
      replication: { placement: { pinned: [0x10n, 0x20n] } },
    });
    const channel = replicatorOf(redex)!.channel('pinned/log')!;
    assert.equal(channel.isMember, false);
    assert.equal(channel.handle, null);
    assert.equal(channel.role, Role.Idle);
    assert.equal(router.size, 0);
    await assert.rejects(file.append(enc.encode('x'), LEADER_ACKS), {
      code: RedexErrorCode.NotLeader,
    });
    await assert.rejects(file.waitForReplicas(0), { code: RedexErrorCode.Config });
    await redex.close();
  });

  it('waitForReplicas times out with REPLICATION_TIMEOUT on the manager clock', async () => {
    const { redex, host, clock } = setup();
    enable(redex, host);
    const file = await redex.openFile('orders/audit', { replication: { heartbeatMs: 100 } });
    const waiting = file.waitForReplicas(5, { count: 2, timeoutMs: 400 });
    const outcome = assert.rejects(waiting, (error: unknown) => {
      assert.ok(error instanceof ReplicationTimeoutError);
      assert.equal(error.code, RedexErrorCode.ReplicationTimeout);
      assert.equal(error.holding, 0);
      return true;
    });
    await clock.advance(400);
    await outcome;
    const plain = await redex.openFile('plain/log');
    await assert.rejects(plain.waitForReplicas(0), { code: RedexErrorCode.Config });
    await redex.close();
  });

  it('closing the file cancels the runtime gracefully and frees the router and metrics', async () => {
    const { redex, host, router, metrics } = setup();
    enable(redex, host);
    const file = await redex.openFile('orders/audit', { replication: { heartbeatMs: 100 } });
    const channel = replicatorOf(redex)!.channel('orders/audit')!;
    const handle = channel.handle!;
    const coordinator = handle.coordinator;
    const pending = file.waitForReplicas(3, { count: 1, timeoutMs: 60_000 });
    assert.equal(metrics.labelledChannels, 1);

    await redex.closeFile('orders/audit');

    assert.ok(handle.isStopped);
    assert.equal(coordinator.role, Role.Idle, 'graceful: ChannelClose ran');
    assert.equal(router.size, 0);
    assert.equal(metrics.labelledChannels, 0);
    assert.equal(replicatorOf(redex)!.channel('orders/audit'), undefined);
    await assert.rejects(pending, { code: RedexErrorCode.Closed });
    // Reopening starts a fresh runtime.
    await redex.openFile('orders/audit', { replication: { heartbeatMs: 100 } });
    const again = replicatorOf(redex)!.channel('orders/audit')!;
    assert.notEqual(again.handle, handle);
    assert.equal(again.role, Role.Replica);
    await redex.close();
    assert.ok(again.handle!.isStopped);
  });

  it('a persistent replicated file is guarded and closes cleanly too', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'redex-repl-'));
    try {
      const clock = new VirtualClock();
      const redex = new Redex({ clock, dir });
      const router = new ReplicationRouter();
      enable(redex, {
        selfId: 0x10n,
        members: () => [0x10n],
        dispatcher: new RecorderDispatcher(),
        router,
      });
      const file = await redex.openFile('disk/log', {
        persistent: true,
        replication: { factor: 1, heartbeatMs: 100 },
      });
      await assert.rejects(file.append(enc.encode('x'), LEADER_ACKS), {
        code: RedexErrorCode.NotLeader,
      });
      const channel = replicatorOf(redex)!.channel('disk/log')!;
      await clock.advance(300);
      // Winning writes the vote and the epoch to disk: real I/O the virtual clock does not run.
      for (let turn = 0; turn < 400 && channel.role !== Role.Leader; turn++) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        await clock.advance(0);
      }
      assert.equal(channel.role, Role.Leader, String(channel.handle?.runtime.lastError));
      assert.equal(await file.append(enc.encode('durable'), LEADER_ACKS), 0);
      assert.equal(await file.applyReplicated(1, [enc.encode('applied')]), 1);
      await redex.close();
      assert.equal(router.size, 0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
