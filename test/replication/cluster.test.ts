// End-to-end replication on the in-process cluster (cluster.ts): real Redex files, real runtimes,
// real wire frames through the routers, one virtual clock. Scenarios read as scripts addressing
// nodes by role.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NotLeaderError, RedexErrorCode } from '../../src/log/errors.js';
import { SeededRandom } from '../../src/time/random.js';
import { assertSameLog, Cluster } from './cluster.js';
import { EVENT_OVERHEAD_BYTES, Role, SYNC_REQUEST_CHUNK_BYTES } from './imports.js';

/** These tests drive the clock themselves: an append resolves once stored on the leader. */
const LEADER_ACKS = { acks: 'leader' } as const;

const HB = 100;

function payload(random: SeededRandom, seq: number): Uint8Array {
  const bytes = new Uint8Array(8 + random.nextInt(120));
  new DataView(bytes.buffer).setFloat64(0, seq, true);
  for (let i = 8; i < bytes.length; i++) bytes[i] = random.nextInt(256);
  return bytes;
}

async function electedCluster(nodes = 3, options = {}): Promise<Cluster> {
  const cluster = await Cluster.start({ nodes, heartbeatMs: HB, ...options });
  // Everyone starts Replica with no leader; three silent periods later the election runs.
  await cluster.runUntil(
    () => cluster.leaders().length === 1 && cluster.replicas().length === nodes - 1,
    10 * HB,
  );
  return cluster;
}

describe('cluster', () => {
  it('elects exactly one leader from a cold start, within three periods and a tick', async () => {
    const cluster = await Cluster.start({ nodes: 3, heartbeatMs: HB });
    for (const node of cluster.nodes) assert.equal(node.role, Role.Replica, 'Replica by itself');
    const took = await cluster.runUntil(() => cluster.leaders().length > 0, 10 * HB);
    assert.ok(took <= 3 * HB + HB, `first leader after ${took} ms`);
    await cluster.advance(2 * HB);
    const leader = cluster.leader();
    // Same tails everywhere: the replica set's first member (the channel's preferred leader) wins.
    assert.equal(leader.id, leader.channel.replicaSet[0]);
    for (const replica of cluster.replicas()) assert.equal(replica.channel.leader, leader.id);
    cluster.assertHealthy();
    await cluster.stop();
  });

  it('replicates 10,000 events byte-identical, with writes only on the leader', async () => {
    const cluster = await electedCluster();
    const leader = cluster.leader();
    const random = new SeededRandom(7);
    let seq = 0;
    // Writes interleaved with time: replicas follow while the leader keeps appending.
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 1_000; i++) await leader.log.append(payload(random, seq++), LEADER_ACKS);
      await cluster.advance(3);
    }
    const last = leader.log.nextSeq - 1;
    assert.equal(last, 9_999);
    const acked = leader.log.waitForReplicas(last, { count: 2, timeoutMs: 10 * HB });
    await cluster.runUntil(
      () => cluster.replicas().every((r) => r.log.nextSeq === leader.log.nextSeq),
      10 * HB,
    );
    await cluster.settle(acked, HB);
    for (const replica of cluster.replicas()) {
      await assertSameLog(leader.log, replica.log);
      await assert.rejects(
        replica.log.append(new Uint8Array([1]), LEADER_ACKS),
        (error: unknown) => {
          assert.ok(error instanceof NotLeaderError);
          assert.equal(error.code, RedexErrorCode.NotLeader);
          assert.equal(error.leaderNodeId, leader.id);
          assert.equal(error.leaderAddress, leader.address);
          return true;
        },
      );
    }
    assert.equal(cluster.stats.routeDrops, 0);
    cluster.assertHealthy();
    await cluster.stop();
  });

  it('a replica sees a new event within milliseconds, not at the next heartbeat', async () => {
    const cluster = await electedCluster();
    const leader = cluster.leader();
    await cluster.advance(HB / 2); // mid-period: the next tick is far away
    const seq = await leader.log.append(new TextEncoder().encode('prompt'), LEADER_ACKS);
    const took = await cluster.runUntil(
      () => cluster.replicas().every((r) => r.log.nextSeq > seq),
      HB,
    );
    assert.ok(took <= 2 * cluster.latencyMs + 1, `visible after ${took} ms`);
    // And the leader learns it promptly too (the replicas report their new tail).
    const acked = await cluster.runUntil(() => leader.runtime.progress.holding(seq) === 2, HB);
    assert.ok(acked <= 2 * cluster.latencyMs + 1, `acknowledged after ${acked} more ms`);
    await cluster.stop();
  });

  it('leader stops → a new leader within three heartbeat periods and one tick', async () => {
    const cluster = await electedCluster();
    const old = cluster.leader();
    const random = new SeededRandom(3);
    for (let i = 0; i < 500; i++) await old.log.append(payload(random, i), LEADER_ACKS);
    await cluster.runUntil(() => cluster.replicas().every((r) => r.log.nextSeq === 500), HB);
    await cluster.advance(37); // stop at an arbitrary phase of the period

    await cluster.stopNode(old);
    const took = await cluster.runUntil(() => cluster.leaders().length === 1, 10 * HB);

    assert.ok(took <= 3 * HB + HB + cluster.latencyMs, `new leader after ${took} ms`);
    const leader = cluster.leader();
    assert.notEqual(leader.id, old.id);
    assert.equal(leader.log.nextSeq, 500, 'nothing acknowledged was lost');
    await cluster.advance(HB);
    const survivor = cluster.replicas();
    assert.equal(survivor.length, 1);
    assert.equal(survivor[0]!.channel.leader, leader.id, 'the other survivor follows it');
    // The new leader takes writes; the survivor replicates them.
    const seq = await leader.log.append(new TextEncoder().encode('after failover'), LEADER_ACKS);
    await cluster.runUntil(() => survivor[0]!.log.nextSeq > seq, HB);
    await assertSameLog(leader.log, survivor[0]!.log);
    cluster.assertHealthy();
    await cluster.stop();
  });

  it('the old leader rejoins as a replica and catches up', async () => {
    const cluster = await electedCluster();
    const old = cluster.leader();
    const random = new SeededRandom(11);
    for (let i = 0; i < 300; i++) await old.log.append(payload(random, i), LEADER_ACKS);
    await cluster.runUntil(() => cluster.replicas().every((r) => r.log.nextSeq === 300), HB);
    await cluster.stopNode(old);
    await cluster.runUntil(() => cluster.leaders().length === 1, 10 * HB);
    const leader = cluster.leader();
    for (let i = 300; i < 800; i++) await leader.log.append(payload(random, i), LEADER_ACKS);

    await cluster.startNode(old); // restarted empty, same NodeId
    assert.equal(old.role, Role.Replica);
    await cluster.runUntil(() => old.log.nextSeq === leader.log.nextSeq, 10 * HB);

    assert.equal(old.role, Role.Replica, 'it rejoined as a replica');
    assert.equal(cluster.leader(), leader, 'and did not disturb the leader');
    await assertSameLog(leader.log, old.log);
    await cluster.settle(leader.log.waitForReplicas(799, { count: 2, timeoutMs: HB }), HB);
    cluster.assertHealthy();
    await cluster.stop();
  });

  it('a partitioned leader concedes when the partition heals and converges', async () => {
    const cluster = await electedCluster();
    const old = cluster.leader();
    const random = new SeededRandom(5);
    for (let i = 0; i < 100; i++) await old.log.append(payload(random, i), LEADER_ACKS);
    await cluster.runUntil(() => cluster.replicas().every((r) => r.log.nextSeq === 100), HB);

    const others = cluster.nodes.filter((n) => n !== old);
    cluster.partition([old], others);
    await cluster.runUntil(() => others.some((n) => n.role === Role.Leader), 10 * HB);
    // Check quorum: cut off from its majority for a silence window, the old leader stood down.
    assert.notEqual(old.role, Role.Leader, 'the isolated leader stood down');
    const leader = others.find((n) => n.role === Role.Leader)!;
    for (let i = 100; i < 150; i++) await leader.log.append(payload(random, i), LEADER_ACKS);

    cluster.heal();
    await cluster.runUntil(() => cluster.leaders().length === 1, 5 * HB);
    assert.equal(cluster.leader(), leader, 'the leader of the newer epoch keeps the leadership');
    await cluster.runUntil(() => old.log.nextSeq === 150, 5 * HB);
    await assertSameLog(leader.log, old.log);
    assert.ok(old.channel.handle!.coordinator.role === Role.Replica);
    cluster.assertHealthy();
    await cluster.stop();
  });

  it('a replica 100 MB behind catches up in far fewer ticks than one chunk per tick', async () => {
    const cluster = await electedCluster(2);
    const leader = cluster.leader();
    const replica = cluster.replicas()[0]!;
    await cluster.stopNode(replica);

    const eventBytes = 4096;
    const events = (100 * 1024 * 1024) / eventBytes;
    const body = new Uint8Array(eventBytes);
    const batch: Uint8Array[] = [];
    for (let seq = 0; seq < events; seq++) {
      const copy = body.slice();
      new DataView(copy.buffer).setUint32(0, seq, true);
      copy[eventBytes - 1] = seq % 251;
      batch.push(copy);
      if (batch.length === 1024) await leader.log.appendBatch(batch.splice(0), LEADER_ACKS);
    }
    assert.equal(leader.log.nextSeq, events);
    assert.equal(leader.log.retainedBytes, 100 * 1024 * 1024);

    await cluster.startNode(replica);
    const runtime = replica.runtime;
    await cluster.runUntil(() => replica.log.nextSeq === events, 60_000, 5);

    // One chunk per tick (upstream) would need this many ticks.
    const perChunk = Math.floor(SYNC_REQUEST_CHUNK_BYTES / (eventBytes + EVENT_OVERHEAD_BYTES));
    const chunks = Math.ceil(events / perChunk);
    assert.ok(chunks > 400, `${chunks} chunks`);
    assert.ok(
      runtime.stats.ticks * 10 < chunks,
      `caught up in ${runtime.stats.ticks} ticks, one chunk per tick needs ${chunks}`,
    );
    // Pipelined requests ask for larger chunks; none is applied twice.
    assert.equal(runtime.stats.eventsApplied, events, 'every event applied once, no duplicate');
    assert.ok(runtime.stats.chunksApplied < chunks, `${runtime.stats.chunksApplied} chunks`);
    await assertSameLog(leader.log, replica.log);
    cluster.assertHealthy();
    await cluster.stop();
  });
});
