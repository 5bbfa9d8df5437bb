// Upstream's replication scenarios, run on the simulated cluster (real log, runtime and router
// over SimTransport, persistent files on MemoryFileSystem, virtual time). Each reads as a script:
// who leads, what fails, what must be true afterwards.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { replicatorOf } from '../../src/replication/enable.js';
import { decodeAnyMessage } from '../../src/wire/codec.js';
import { Role, SyncClass } from '../../src/wire/types.js';
import { CHANNEL, SimCluster, type SimNode } from './sim-cluster.js';
import { simulate } from './simulate.js';

/** The local log as it is: these checks compare logs, committed or not. */
const RAW = { isolation: 'uncommitted' } as const;

/** These tests drive the clock themselves: an append resolves once stored on the leader. */
const LEADER_ACKS = { acks: 'leader' } as const;

const HEARTBEAT_MS = 100;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function withLeader(cluster: SimCluster): Promise<SimNode> {
  const found = await cluster.runUntil(() => cluster.leaders().length === 1, 20 * HEARTBEAT_MS);
  assert.ok(
    found,
    `a leader emerges: ${cluster.nodes.map((n) => `${n.name}=${n.role}`).join(' ')}`,
  );
  return cluster.leaders()[0]!;
}

async function appendMany(node: SimNode, count: number, tag: string): Promise<void> {
  for (let i = 0; i < count; i++)
    await node.file!.append(encoder.encode(`${tag}-${i}-${'z'.repeat(i % 97)}`), LEADER_ACKS);
}

async function digest(node: SimNode): Promise<string[]> {
  const events = await node.file!.readRange(0, node.file!.nextSeq, RAW);
  return events.map((event) => `${event.seq}:${decoder.decode(event.payload)}`);
}

async function converged(cluster: SimCluster, maxMs = 60 * HEARTBEAT_MS): Promise<void> {
  const ok = await cluster.runUntil(() => {
    const up = cluster.upNodes();
    const leaders = up.filter((node) => node.role === Role.Leader);
    if (leaders.length !== 1) return false;
    const next = leaders[0]!.file!.nextSeq;
    return up.every((node) => node.file!.nextSeq === next && node.role !== Role.Candidate);
  }, maxMs);
  assert.ok(
    ok,
    `converged: ${cluster.nodes.map((n) => `${n.name}=${n.role}@${n.file?.nextSeq}`).join(' ')}`,
  );
  const [first, ...rest] = cluster.upNodes();
  const expected = await digest(first!);
  for (const node of rest)
    assert.deepEqual(
      await digest(node),
      expected,
      `${node.name} is byte-identical to ${first!.name}`,
    );
}

function silenceBound(): number {
  // Three heartbeat periods of silence, one tick to notice, one round of the election.
  return 3 * HEARTBEAT_MS + HEARTBEAT_MS + 2 * HEARTBEAT_MS;
}

describe('DST scenarios', () => {
  test('three-node happy path: a leader emerges and 500 events replicate byte-identical', async () => {
    const cluster = await SimCluster.start({ seed: 1, nodes: 3 });
    const leader = await withLeader(cluster);
    await appendMany(leader, 500, 'happy');
    await converged(cluster);
    assert.equal(leader.file!.nextSeq, 500);
    await cluster.stop();
  });

  test('no two leaders in steady state', async () => {
    const cluster = await SimCluster.start({ seed: 2, nodes: 5 });
    await withLeader(cluster);
    for (let step = 0; step < 300; step++) {
      await cluster.advance(10);
      assert.ok(cluster.leaders().length <= 1, `two leaders at step ${step}`);
    }
    assert.equal(cluster.leaders().length, 1);
    await cluster.stop();
  });

  test('two-node set: the survivor of a crash does not lead alone; the pair elects again on restart', async () => {
    const cluster = await SimCluster.start({ seed: 3, nodes: 2 });
    const leader = await withLeader(cluster);
    await appendMany(leader, 20, 'before');
    await cluster.runUntil(
      () => cluster.nodes.every((n) => n.file!.nextSeq === 20),
      10 * HEARTBEAT_MS,
    );
    await cluster.crashNode(leader);
    const survivor = cluster.upNodes()[0]!;
    // One of two is no majority: leading alone could lose what the other acknowledged.
    assert.equal(
      await cluster.runUntil(() => survivor.role === Role.Leader, 20 * HEARTBEAT_MS),
      false,
    );
    await cluster.startNode(leader);
    await withLeader(cluster);
    const next = cluster.leaders()[0]!;
    assert.equal(await next.file!.append(encoder.encode('after'), LEADER_ACKS), 20);
    await cluster.stop();
  });

  test('failover with three survivors: exactly one of them leads, and all agree', async () => {
    const cluster = await SimCluster.start({ seed: 4, nodes: 4 });
    const leader = await withLeader(cluster);
    await appendMany(leader, 50, 'four');
    await converged(cluster);
    await cluster.crashNode(leader);
    await cluster.advance(silenceBound());
    await converged(cluster);
    await appendMany(cluster.leaders()[0]!, 10, 'three');
    await converged(cluster);
    await cluster.startNode(leader);
    await converged(cluster);
    await cluster.stop();
  });

  test("asymmetric RTT failover: who stands first ranks by epoch, log and the replica set's order, not by who is near", async () => {
    const cluster = await SimCluster.start({ seed: 5, nodes: 3, nodeIds: [30n, 10n, 20n] });
    const leader = await withLeader(cluster);
    await appendMany(leader, 30, 'rtt');
    await converged(cluster);
    const survivors = cluster.nodes.filter((n) => n !== leader);
    // Both survivors hold the same epoch and log; the one placed earlier in the replica set (the
    // channel's preference order) stands first and wins the vote even when it is made slow.
    const order = leader.channel!.replicaSet;
    const expected = survivors.reduce((a, b) =>
      order.indexOf(a.id) < order.indexOf(b.id) ? a : b,
    );
    expected.slowMs = 40;
    await cluster.crashNode(leader);
    await cluster.advance(silenceBound() + 10 * HEARTBEAT_MS);
    assert.deepEqual(
      cluster.leaders().map((n) => n.name),
      [expected.name],
    );
    await cluster.stop();
  });

  test('an isolated replica takes no writes, then catches up after the heal', async () => {
    const cluster = await SimCluster.start({ seed: 6, nodes: 3 });
    const leader = await withLeader(cluster);
    await appendMany(leader, 10, 'pre');
    await converged(cluster);
    const isolated = cluster.nodes.find((n) => n !== leader)!;
    cluster.partition([[isolated], cluster.nodes.filter((n) => n !== isolated)]);
    for (let round = 0; round < 20; round++) {
      await appendMany(leader, 5, `during-${round}`);
      await cluster.advance(HEARTBEAT_MS);
    }
    assert.equal(isolated.file!.nextSeq, 10, 'nothing reaches the isolated replica');
    await assert.rejects(
      isolated.role === Role.Leader
        ? Promise.reject({ code: 'skip' })
        : isolated.file!.append(encoder.encode('x'), LEADER_ACKS),
      (error: { code: string }) => error.code === 'NOT_LEADER' || error.code === 'skip',
    );
    cluster.heal();
    await converged(cluster);
    assert.equal(cluster.leaders()[0], leader, 'the majority side keeps its leader');
    assert.equal(isolated.file!.nextSeq, 110);
    await cluster.stop();
  });

  test('byte-identical logs across five nodes with varied payload sizes', async () => {
    const cluster = await SimCluster.start({ seed: 7, nodes: 5 });
    const leader = await withLeader(cluster);
    for (let i = 0; i < 300; i++) {
      await leader.file!.append(new Uint8Array((i * 37) % 5000).fill(i & 0xff), LEADER_ACKS);
      if (i % 25 === 0) await cluster.advance(5);
    }
    await converged(cluster);
    await cluster.stop();
  });

  test('restart during sync: a replica crashed mid catch-up finishes after it restarts', async () => {
    const cluster = await SimCluster.start({ seed: 8, nodes: 3 });
    const leader = await withLeader(cluster);
    const lagging = cluster.nodes.find((n) => n !== leader)!;
    await cluster.crashNode(lagging);
    for (let i = 0; i < 40; i++)
      await leader.file!.appendBatch(
        Array.from({ length: 50 }, (_, j) => new Uint8Array(2000).fill((i + j) & 0xff)),
        LEADER_ACKS,
      );
    await cluster.startNode(lagging);
    assert.ok(
      await cluster.runUntil(() => lagging.file!.nextSeq > 0, 20 * HEARTBEAT_MS, 1),
      'catch-up starts',
    );
    assert.ok(lagging.file!.nextSeq < 2000, 'and is still in progress');
    await cluster.crashNode(lagging);
    await cluster.advance(HEARTBEAT_MS);
    await cluster.startNode(lagging);
    await converged(cluster);
    assert.equal(lagging.file!.nextSeq, 2000);
    await cluster.stop();
  });

  test('four nodes with a central peer: only the center sees everyone; still one leader and one log', async () => {
    const cluster = await SimCluster.start({ seed: 9, nodes: 4 });
    const leader = await withLeader(cluster);
    await appendMany(leader, 10, 'star');
    await converged(cluster);
    const [center, ...spokes] = cluster.nodes;
    for (const a of spokes) for (const b of spokes) if (a !== b) cluster.cutOneWay(a, b);
    void center;
    await cluster.advance(30 * HEARTBEAT_MS);
    const leaders = cluster.leaders();
    assert.ok(leaders.length >= 1);
    cluster.heal();
    await converged(cluster);
    await cluster.stop();
  });

  test('deterministic wall clock: heartbeats carry the virtual time, and a seed replays exactly', async () => {
    const cluster = await SimCluster.start({ seed: 10, nodes: 3 });
    let heartbeats = 0;
    cluster.tap = (_from, _to, frame) => {
      const message = decodeAnyMessage(frame);
      if (message.kind === 'heartbeat') {
        heartbeats++;
        assert.equal(message.wallClockMs, cluster.clock.nowMs());
      }
    };
    await withLeader(cluster);
    await cluster.advance(10 * HEARTBEAT_MS);
    assert.ok(heartbeats > 10);
    await cluster.stop();
    const [a, b] = [await simulate({ seed: 1234 }), await simulate({ seed: 1234 })];
    assert.equal(a.traceDigest, b.traceDigest);
    assert.deepEqual(a.stats, b.stats);
    const c = await simulate({ seed: 1235 });
    assert.notEqual(c.traceDigest, a.traceDigest);
  });

  test('election storm: two rounds of leader loss; the thrash count matches the elections held', async () => {
    // Five members: after two leaders crash, the three left are still a majority.
    const cluster = await SimCluster.start({ seed: 11, nodes: 5 });
    const candidacies = new Map<SimNode, number>();
    const watch = () => {
      for (const node of cluster.upNodes()) {
        const coordinator = node.channel?.handle?.coordinator;
        if (coordinator === undefined || candidacies.has(node)) continue;
        candidacies.set(node, 0);
        coordinator.onRoleChange((event) => {
          if (event.to === Role.Candidate) candidacies.set(node, (candidacies.get(node) ?? 0) + 1);
        });
      }
    };
    watch();
    let leader = await withLeader(cluster);
    const before = [...candidacies.values()].reduce((a, b) => a + b, 0);
    for (let round = 0; round < 2; round++) {
      await cluster.crashNode(leader);
      leader = await withLeader(cluster);
      await cluster.advance(5 * HEARTBEAT_MS);
    }
    const thrash = cluster
      .upNodes()
      .reduce(
        (sum, node) =>
          sum + replicatorOf(node.redex!)!.metrics.forChannel(CHANNEL).snapshot().electionThrash,
        0,
      );
    const held = [...candidacies.entries()]
      .filter(([node]) => node.up)
      .reduce((sum, [, count]) => sum + count, 0);
    // With pre-votes only the node that will win stands; the winners of rounds 1 and 2 count.
    const total = [...candidacies.values()].reduce((a, b) => a + b, 0);
    assert.ok(total - before >= 2, `at least one candidacy per round (${total - before})`);
    assert.equal(thrash, held, 'every MissedHeartbeats transition is counted once');
    await cluster.stop();
  });

  test('divergence-freedom after a heal and after a revival', async () => {
    const cluster = await SimCluster.start({ seed: 12, nodes: 3 });
    const leader = await withLeader(cluster);
    await appendMany(leader, 30, 'a');
    const replica = cluster.nodes.find((n) => n !== leader)!;
    cluster.partition([[replica], cluster.nodes.filter((n) => n !== replica)]);
    await appendMany(leader, 30, 'b');
    await cluster.advance(10 * HEARTBEAT_MS);
    cluster.heal();
    await converged(cluster);
    await cluster.crashNode(replica);
    await appendMany(cluster.leaders()[0]!, 30, 'c');
    await cluster.startNode(replica);
    await converged(cluster);
    for (const node of cluster.upNodes()) {
      const runtime = node.channel!.handle!.runtime;
      assert.equal(runtime.stats.divergenceSuspected, 0, `${node.name} suspects no divergence`);
      assert.equal(replicatorOf(node.redex!)!.metrics.forChannel(CHANNEL).snapshot().skipAhead, 0);
    }
    await cluster.stop();
  });

  test("bandwidth class stamped on requests: a 'background' channel asks with class Background", async () => {
    const cluster = await SimCluster.start({
      seed: 13,
      nodes: 3,
      replication: { defaultClass: 'background' },
    });
    const classes = new Set<number>();
    cluster.tap = (_from, _to, frame) => {
      const message = decodeAnyMessage(frame);
      if (message.kind === 'request') classes.add(message.syncClass);
    };
    const leader = await withLeader(cluster);
    await appendMany(leader, 50, 'bg');
    await converged(cluster);
    assert.deepEqual([...classes], [SyncClass.Background]);
    await cluster.stop();
  });
});
