// Leadership transfer on the in-process cluster: real runtimes, real frames, one virtual clock.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NotLeaderError, RedexErrorCode } from '../../src/log/errors.js';
import { TransferFailedError } from '../../src/replication/runtime-transfer.js';
import { assertSameLog, Cluster } from './cluster.js';
import { Role } from './imports.js';

const HB = 100;
const text = (s: string) => new TextEncoder().encode(s);

async function electedCluster(): Promise<Cluster> {
  const cluster = await Cluster.start({ nodes: 3, heartbeatMs: HB });
  await cluster.runUntil(
    () => cluster.leaders().length === 1 && cluster.replicas().length === 2,
    10 * HB,
  );
  return cluster;
}

describe('leadership transfer', () => {
  it('hands the channel to the chosen replica within a few round trips, losing nothing', async () => {
    const cluster = await electedCluster();
    const old = cluster.leader();
    const target = cluster.replicas()[1]!;
    const acked: number[] = [];
    for (let i = 0; i < 50; i++) {
      acked.push(await cluster.settle(old.log.append(text(`before ${i}`)), 10 * HB));
    }
    const epochBefore = old.runtime.epoch;
    const startedMs = cluster.clock.nowMs();
    const transfer = old.channel.transferLeadership(target.id);
    // While it runs, the old leader refuses appends and names the target.
    await cluster.advance(1);
    await assert.rejects(old.log.append(text('during')), (error: unknown) => {
      assert.ok(error instanceof NotLeaderError);
      assert.equal(error.leaderNodeId, target.id);
      return true;
    });
    const result = await cluster.settle(transfer, 10 * HB);
    const tookMs = cluster.clock.nowMs() - startedMs;
    assert.equal(result.leader, target.id);
    assert.equal(result.epoch, epochBefore + 1);
    // No silence window: a handful of one-way latencies (1 ms each here), not 3 heartbeats.
    assert.ok(tookMs < HB, `transfer took ${tookMs} ms`);
    assert.equal(target.role, Role.Leader);
    assert.equal(old.role, Role.Replica);
    assert.equal(target.runtime.quorum.counters.preVotesStarted, 0, 'no pre-vote for a transfer');
    // The new leader takes writes at once; every acknowledged event is everywhere.
    const after = await cluster.settle(target.log.append(text('after')), 10 * HB);
    assert.equal(after, acked.length);
    await cluster.runUntil(() => cluster.nodes.every((n) => n.log.nextSeq === after + 1), 10 * HB);
    for (const node of cluster.nodes) {
      if (node !== target) await assertSameLog(target.log, node.log);
    }
    cluster.assertHealthy();
    await cluster.stop();
  });

  it('picks the replica furthest along when no target is named', async () => {
    const cluster = await electedCluster();
    const old = cluster.leader();
    await cluster.settle(old.log.append(text('x')), 10 * HB);
    const lagging = cluster.replicas()[0]!;
    const caughtUp = cluster.replicas()[1]!;
    cluster.partition([old], [lagging]);
    await cluster.settle(old.log.append(text('y')), 10 * HB);
    const result = await cluster.settle(old.channel.transferLeadership(), 10 * HB);
    assert.equal(result.leader, caughtUp.id);
    cluster.heal();
    await cluster.stop();
  });

  it('gives up after the silence window when the target cannot take over; the leader resumes', async () => {
    const cluster = await electedCluster();
    const old = cluster.leader();
    const [reachable, cutOff] = cluster.replicas() as [
      (typeof cluster.nodes)[0],
      (typeof cluster.nodes)[0],
    ];
    cluster.partition([old, reachable], [cutOff]);
    const epoch = old.runtime.epoch;
    const outcome = await cluster.settle(old.channel.transferLeadership(cutOff.id), 20 * HB).then(
      () => null,
      (error: unknown) => error,
    );
    assert.ok(outcome instanceof TransferFailedError, String(outcome));
    assert.equal(outcome.code, RedexErrorCode.TransferFailed);
    assert.equal(outcome.reason, 'abandoned');
    assert.equal(old.role, Role.Leader);
    assert.equal(old.runtime.epoch, epoch);
    // Appends resume on the same leader.
    const seq = await cluster.settle(old.log.append(text('resumed')), 10 * HB);
    assert.equal(seq, 0);
    cluster.heal();
    cluster.assertHealthy();
    await cluster.stop();
  });

  it('is refused on a replica (NOT_LEADER) and while another transfer runs (TRANSFER_FAILED)', async () => {
    const cluster = await electedCluster();
    const replica = cluster.replicas()[0]!;
    await assert.rejects(replica.channel.transferLeadership(), NotLeaderError);
    const leader = cluster.leader();
    const first = leader.channel.transferLeadership(replica.id);
    await assert.rejects(leader.channel.transferLeadership(replica.id), (error: unknown) => {
      assert.ok(error instanceof TransferFailedError);
      assert.equal(error.reason, 'in-progress');
      return true;
    });
    await cluster.settle(first, 10 * HB);
    await cluster.stop();
  });
});

describe('preferred leader', () => {
  it('the first election goes to the first member of the replica set, which takes the channel back after it returns', async () => {
    const cluster = await electedCluster();
    const preferred = cluster.leader();
    assert.equal(preferred.id, preferred.channel.replicaSet[0], 'the preferred member leads first');
    await cluster.settle(preferred.log.append(text('one')), 10 * HB);
    await cluster.stopNode(preferred);
    await cluster.runUntil(() => cluster.leaders().length === 1, 20 * HB);
    const stand = cluster.leader();
    await cluster.settle(stand.log.append(text('two')), 10 * HB);
    await cluster.startNode(preferred);
    // It catches up, then the stand-in hands the channel back: one more epoch, no silence window.
    const epoch = stand.runtime.epoch;
    await cluster.runUntil(() => preferred.role === Role.Leader, 40 * HB);
    assert.equal(preferred.runtime.epoch, epoch + 1);
    assert.equal(stand.runtime.quorum.counters.leadershipReturns, 1);
    const seq = await cluster.settle(preferred.log.append(text('three')), 10 * HB);
    assert.equal(seq, 2);
    cluster.assertHealthy();
    await cluster.stop();
  });
});
