// MeshNode over SimTransport in virtual time: replication end to end through the mesh node (the
// dispatcher, the inbound path, NOT_LEADER with the leader's address), chain tags (announce,
// withdraw, re-announce on peer up, forget on peer down, heartbeat refresh, freshest-first
// ordering), hostile input at the mesh-node level (unknown channels, senders outside the replica
// set, non-members, garbage chain tags, malformed frames), dispatcher rejections, metrics export
// and option validation.

import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { NotLeaderError } from '../../src/log/index.js';
import {
  CHAIN_TAG_DISPATCH,
  encodeChainTag,
  MeshDrop,
  MeshError,
  MeshNode,
  memberPredicate,
  SimNetwork,
} from '../../src/mesh/index.js';
import { originHashOf, ReplicationMetrics } from '../../src/replication/index.js';
import { SeededRandom } from '../../src/time/random.js';
import { VirtualClock } from '../../src/time/virtual-clock.js';
import { channelIdFromName, encodeMessage } from '../../src/wire/index.js';
import { type NodeId, Role } from '../../src/wire/types.js';
import { A, addressOf, B, C, CHANNEL, D, E, HEARTBEAT_MS, payloads, SimMesh } from './sim-mesh.js';

/** These tests drive the clock themselves: an append resolves once stored on the leader. */
const LEADER_ACKS = { acks: 'leader' } as const;

const utf8 = new TextEncoder();
const channelId = channelIdFromName(CHANNEL);
const origin = originHashOf(channelId);
let cluster: SimMesh | null = null;

afterEach(async () => {
  await cluster?.close();
  cluster = null;
});

describe('MeshNode: replication over SimTransport', () => {
  it('elects a leader, replicates byte-identical, and NOT_LEADER names the leader and its address', async () => {
    cluster = await SimMesh.start();
    const leader = await cluster.settled();
    for (let i = 0; i < 50; i++) await leader.file!.append(utf8.encode(`event-${i}`), LEADER_ACKS);
    await leader.file!.appendBatch(
      Array.from({ length: 200 }, (_, i) => utf8.encode(`b${i}`)),
      LEADER_ACKS,
    );
    await cluster.until(
      () => cluster!.nodes.every((n) => n.file!.nextSeq === 250),
      'both replicas hold 250 events',
    );
    const expected = await payloads(leader.file!);
    for (const replica of cluster.replicas()) {
      assert.deepEqual(await payloads(replica.file!), expected, 'byte-identical');
      await assert.rejects(
        replica.file!.append(utf8.encode('not here'), LEADER_ACKS),
        (error: unknown) =>
          error instanceof NotLeaderError &&
          error.leaderNodeId === leader.id &&
          error.leaderAddress === addressOf(leader.id),
      );
    }
    await leader.file!.waitForReplicas(249, { count: 2, timeoutMs: 1_000 });
    for (const node of cluster.nodes) {
      const stats = node.mesh.stats();
      assert.ok(stats.routed > 0, 'frames routed to the runtime');
      assert.deepEqual(
        Object.values(stats.drops).filter((n) => n > 0),
        [],
        `no drops on a healthy cluster: ${JSON.stringify(stats.drops)}`,
      );
      assert.equal(node.transport.stats().drops['handler-error'], 0);
      node.mesh.assertInvariants();
    }
  });

  it('rejects dispatcher sends the transport did not queue, and counts them', async () => {
    cluster = await SimMesh.start();
    await cluster.settled();
    const a = cluster.node(A);
    cluster.network.isolate(A);
    await cluster.advance(0);
    const before = a.mesh.stats().sendFailures;
    await assert.rejects(
      a.mesh.dispatcher.sendQuorum(B, {
        kind: 'stand-now',
        channelId,
        epoch: 1,
      }),
      (error: unknown) => error instanceof MeshError && error.reason === 'SEND_DROPPED',
    );
    assert.equal(a.mesh.stats().sendFailures, before + 1);
    // A heartbeat is queued for the peer's batch (coalescing is the default): accepted now, its
    // lost frame counted at the flush.
    const lostBefore = a.mesh.heartbeatStats().sendFailures;
    await a.mesh.dispatcher.sendHeartbeat(B, {
      kind: 'heartbeat',
      channelId,
      tailSeq: 0,
      role: Role.Replica,
      wallClockMs: 0,
    });
    await cluster.advance(0);
    assert.ok(a.mesh.heartbeatStats().sendFailures > lostBefore);
    assert.ok(a.mesh.stats().sendFailures > before + 1);
    cluster.network.heal();
    await cluster.settled();
  });
});

describe('MeshNode: chain tags', () => {
  it('every node lists all holders, the leader as Leader, freshest first', async () => {
    cluster = await SimMesh.start();
    const leader = await cluster.settled();
    await leader.file!.appendBatch([utf8.encode('x'), utf8.encode('y')], LEADER_ACKS);
    await cluster.until(
      () =>
        cluster!.nodes.every((n) => {
          const holders = n.mesh.findChainHolders(CHANNEL);
          return holders.length === 3 && holders.every((h) => h.tipSeq === 2);
        }),
      'every node sees three holders at tip 2',
    );
    for (const node of cluster.nodes) {
      const holders = node.mesh.findChainHolders(CHANNEL);
      assert.deepEqual(holders.map((h) => h.nodeId).sort(), [A, B, C]);
      assert.deepEqual(
        holders.filter((h) => h.role === Role.Leader).map((h) => h.nodeId),
        [leader.id],
      );
      assert.deepEqual(
        holders.filter((h) => h.local).map((h) => h.nodeId),
        [node.id],
      );
      for (let i = 1; i < holders.length; i++) {
        const [p, q] = [holders[i - 1]!, holders[i]!];
        assert.ok(
          p.tipSeq > q.tipSeq || (p.tipSeq === q.tipSeq && p.seenAtMs >= q.seenAtMs),
          'freshest first',
        );
      }
      // The same answer by name, ChannelId or origin hash.
      assert.deepEqual(node.mesh.findChainHolders(channelId), holders);
      assert.deepEqual(node.mesh.findChainHolders(origin), holders);
      assert.ok(node.mesh.stats().chainTagsIn >= 2);
    }
    assert.throws(() => leader.mesh.findChainHolders('Bad Name'), { code: 'CHANNEL_NAME' });
    assert.deepEqual(leader.mesh.findChainHolders('other/channel'), []);
  });

  it('closing a channel withdraws it everywhere', async () => {
    cluster = await SimMesh.start();
    await cluster.settled();
    const replica = cluster.replicas()[0]!;
    await cluster.until(
      () => cluster!.nodes.every((n) => n.mesh.findChainHolders(CHANNEL).length === 3),
      'three holders',
    );
    await replica.redex.closeFile(CHANNEL);
    await cluster.advance(10);
    for (const node of cluster.nodes) {
      const ids = node.mesh.findChainHolders(CHANNEL).map((h) => h.nodeId);
      assert.ok(!ids.includes(replica.id), `node ${node.id} still lists the withdrawn holder`);
      assert.equal(ids.length, 2);
    }
    // A heartbeat cannot resurrect it: time passes, it stays withdrawn.
    await cluster.advance(5 * HEARTBEAT_MS);
    assert.equal(cluster.node(A === replica.id ? B : A).mesh.findChainHolders(CHANNEL).length, 2);
  });

  it('a peer that goes down is forgotten, and re-announced to when it comes back', async () => {
    cluster = await SimMesh.start();
    await cluster.settled();
    await cluster.until(
      () => cluster!.nodes.every((n) => n.mesh.findChainHolders(CHANNEL).length === 3),
      'three holders',
    );
    cluster.network.partition([A], [B, C]);
    await cluster.advance(1);
    assert.deepEqual(
      cluster
        .node(A)
        .mesh.findChainHolders(CHANNEL)
        .map((h) => h.nodeId),
      [A],
    );
    assert.ok(
      !cluster
        .node(B)
        .mesh.findChainHolders(CHANNEL)
        .some((h) => h.nodeId === A),
    );
    const outBefore = cluster.node(B).mesh.stats().chainTagsOut;
    cluster.network.heal();
    await cluster.advance(10);
    assert.ok(cluster.node(B).mesh.stats().chainTagsOut > outBefore, 'B re-sent its holdings');
    for (const node of cluster.nodes) {
      assert.equal(node.mesh.findChainHolders(CHANNEL).length, 3, `node ${node.id}`);
    }
    await cluster.settled();
  });

  it('a leader that concedes is re-announced as Replica from its own heartbeat', async () => {
    cluster = await SimMesh.start();
    const first = await cluster.settled();
    // Cut the leader off: the others elect a new one and take a write; healing makes the old
    // leader (lower tail) concede, which no coordinator announce covers.
    const others = cluster.nodes.filter((n) => n !== first).map((n) => n.id);
    cluster.network.partition([first.id], others);
    await cluster.until(
      () => cluster!.leaders().filter((n) => n !== first).length === 1,
      'a leader on the majority side',
    );
    const second = cluster.leaders().find((n) => n !== first)!;
    await second.file!.append(utf8.encode('after the split'), LEADER_ACKS);
    cluster.network.heal();
    await cluster.until(() => cluster!.role(first) === Role.Replica, 'the old leader concedes');
    await cluster.until(
      () =>
        cluster!.nodes.every((n) =>
          n.mesh
            .findChainHolders(CHANNEL)
            .some((h) => h.nodeId === first.id && h.role === Role.Replica),
        ),
      'everyone sees the old leader as Replica',
    );
    await cluster.until(() => first.file!.nextSeq === second.file!.nextSeq, 'converged');
  });
});

describe('MeshNode: hostile input', () => {
  it('drops valid frames for unknown channels, non-replica senders and garbage tags, counted, logs intact', async () => {
    // D is a cluster member but not in the channel's pinned replica set; E is not a member.
    cluster = await SimMesh.start({
      ids: [A, B, C],
      members: [A, B, C, D],
      replication: { factor: 3, placement: { pinned: [A, B, C] } },
    });
    const leader = await cluster.settled();
    await leader.file!.appendBatch(
      Array.from({ length: 20 }, (_, i) => utf8.encode(`e${i}`)),
      LEADER_ACKS,
    );
    await cluster.until(() => cluster!.nodes.every((n) => n.file!.nextSeq === 20), 'replicated');
    const before = await Promise.all(cluster.nodes.map((n) => payloads(n.file!)));
    const d = cluster.network.addNode(D);
    const e = cluster.network.addNode(E);
    await cluster.advance(1);
    const random = new SeededRandom(99);
    const targets = cluster.nodes.map((n) => n.id);
    const send = (from: typeof d, frame: Uint8Array) => {
      for (const to of targets) assert.equal(from.send(to, frame.slice()), true);
    };

    // 1. Valid frames for a channel nobody runs.
    const unknown = channelIdFromName('nobody/runs-this');
    send(
      d,
      encodeMessage({ kind: 'heartbeat', channelId: unknown, tailSeq: 9, role: 0, wallClockMs: 1 }),
    );
    send(
      d,
      encodeMessage({
        kind: 'request',
        channelId: unknown,
        sinceSeq: 0,
        chunkMax: 0,
        requestId: 1n,
        syncClass: 0,
      }),
    );
    // 2. A member outside the replica set claiming leadership with a huge tail, and pushing data.
    send(
      d,
      encodeMessage({ kind: 'heartbeat', channelId, tailSeq: 1_000_000, role: 0, wallClockMs: 1 }),
    );
    send(
      d,
      encodeMessage({
        kind: 'response',
        channelId,
        firstSeq: 20,
        leaderFirstRetainedSeq: 0,
        requestId: 5n,
        events: [{ seq: 20, payload: utf8.encode('forged') }],
      }),
    );
    send(
      d,
      encodeMessage({
        kind: 'nack',
        channelId,
        sinceSeq: 0,
        errorCode: 2,
        leaderFirstRetainedSeq: 500,
        requestId: 5n,
        detail: '',
      }),
    );
    // 3. Garbage chain tags (0x24 header, random body) and one with a bad kind.
    for (let i = 0; i < 50; i++) {
      const body = new Uint8Array(random.nextInt(30));
      for (let j = 0; j < body.length; j++) body[j] = random.nextInt(256);
      const frame = new Uint8Array(3 + body.length);
      frame.set([0x00, 0x0e, CHAIN_TAG_DISPATCH]);
      frame.set(body, 3);
      // Make sure none of them is accidentally valid: a kind byte of 0 is always refused.
      if (frame.length > 20) frame[20] = 0;
      send(d, frame);
    }
    // 4. A well-formed chain tag from a non-member.
    send(
      e,
      encodeChainTag({ kind: 'announce', originHash: origin, tipSeq: 1e6, role: Role.Leader }),
    );
    // 5. Malformed replication frames and a reserved extension code.
    send(d, new Uint8Array([0x00, 0x0e, 0x22, 1, 2, 3]));
    send(d, new Uint8Array([0x00, 0x0e, 0x25, 0, 0, 0, 0]));
    await cluster.advance(3 * HEARTBEAT_MS);

    for (const node of cluster.nodes) {
      const drops = node.mesh.stats().drops;
      assert.equal(drops[MeshDrop.UnknownChannel], 2, `node ${node.id} unknown-channel`);
      assert.equal(drops[MeshDrop.NotReplica], 3, `node ${node.id} not-replica`);
      assert.equal(drops[MeshDrop.BadChainTag], 50, `node ${node.id} bad-chain-tag`);
      assert.equal(drops[MeshDrop.NonMember], 1, `node ${node.id} non-member`);
      assert.equal(drops[MeshDrop.Malformed], 2, `node ${node.id} malformed`);
      assert.equal(node.transport.stats().drops['handler-error'], 0, 'nothing thrown');
      assert.ok(!node.mesh.findChainHolders(CHANNEL).some((h) => h.nodeId === D || h.nodeId === E));
      // Outsiders never reached the runtime: its own not-member gate saw nothing.
      assert.equal(cluster.channel(node).handle!.runtime.stats.drops['not-member'], 0);
      node.mesh.assertInvariants();
    }
    assert.equal(cluster.leader(), leader, 'leadership unchanged');
    assert.deepEqual(
      await Promise.all(cluster.nodes.map((n) => payloads(n.file!))),
      before,
      'no log changed',
    );
    // The cluster still works.
    await leader.file!.append(utf8.encode('still fine'), LEADER_ACKS);
    await cluster.until(() => cluster!.nodes.every((n) => n.file!.nextSeq === 21), 'replicated');
  });
});

describe('MeshNode: metrics', () => {
  it('exports transport, peer and inbound-drop series into the node registry, removed on close', async () => {
    cluster = await SimMesh.start();
    const leader = await cluster.settled();
    await leader.file!.append(utf8.encode('m'), LEADER_ACKS);
    await cluster.until(() => cluster!.nodes.every((n) => n.file!.nextSeq === 1), 'replicated');
    const d = cluster.network.addNode(D);
    await cluster.advance(1);
    d.send(leader.id, new Uint8Array([0x00, 0x0e, 0x24, 1]));
    await cluster.advance(10);
    const text = await leader.mesh.metrics.expose();
    const value = (pattern: RegExp): number => {
      const match = pattern.exec(text);
      assert.ok(match, `no ${pattern} in\n${text}`);
      return Number(match[1]);
    };
    const stats = leader.transport.stats();
    assert.ok(value(/^redex_mesh_frames_total\{direction="out"\} (\d+)$/m) >= stats.framesOut);
    assert.ok(value(/^redex_mesh_frames_total\{direction="in"\} (\d+)$/m) > 0);
    assert.ok(value(/^redex_mesh_bytes_total\{direction="in"\} (\d+)$/m) > 0);
    assert.equal(value(/^redex_mesh_connected_peers (\d+)$/m), 3);
    assert.equal(value(/^redex_mesh_inbound_dropped_total\{reason="bad-chain-tag"\} (\d+)$/m), 1);
    assert.ok(value(/^redex_mesh_frames_routed_total (\d+)$/m) > 0);
    assert.ok(value(/^redex_mesh_chain_tags_total\{direction="in"\} (\d+)$/m) >= 2);
    const peerB = cluster.nodes
      .find((n) => n !== leader)!
      .id.toString(16)
      .padStart(16, '0');
    assert.ok(
      value(
        new RegExp(
          `^redex_mesh_peer_frames_total\\{peer="${peerB}",direction="in"\\} (\\d+)$`,
          'm',
        ),
      ) > 0,
    );
    assert.ok(/^redex_mesh_peer_rtt_seconds\{peer="[0-9a-f]{16}"\} [\d.e-]+$/m.test(text));
    // Closing the mesh node removes its series (another node may then use the registry).
    await leader.redex.close();
    await leader.mesh.close();
    const after = await leader.mesh.metrics.expose();
    assert.ok(!after.includes('redex_mesh_frames_total'));
    assert.doesNotThrow(() =>
      new MeshNode({
        transport: cluster!.network.addNode(E),
        members: [E],
        metrics: leader.mesh.metrics,
      }).close(),
    );
  });
});

describe('MeshNode: options', () => {
  const clock = new VirtualClock(0);
  const network = new SimNetwork({ clock, seed: 1 });

  it('validates the transport, members and addresses', () => {
    const transport = network.addNode(0x51n);
    assert.throws(() => new MeshNode({ transport: {} as never, members: [] }), {
      reason: 'MESH_CONFIG',
    });
    assert.throws(() => new MeshNode({ transport, members: [0n] }), /not a NodeId/);
    assert.throws(() => new MeshNode({ transport, members: 5 as never }), /iterable/);
    assert.throws(
      () => new MeshNode({ transport, members: [], addresses: { a: 1 } as never }),
      /addresses/,
    );
    const metrics = new ReplicationMetrics();
    const node = new MeshNode({
      transport,
      members: () => [0x51n, 0x52n],
      addresses: (id: NodeId) => (id === 0x52n ? 'b:1' : undefined),
      metrics,
    });
    assert.deepEqual(node.members(), [0x51n, 0x52n]);
    assert.equal(node.isMember(0x52n), true);
    assert.equal(node.isMember(0x53n), false);
    assert.equal(node.addressOf(0x52n), 'b:1');
    assert.equal(node.addressOf(0x51n), null);
    assert.throws(
      () => new MeshNode({ transport: network.addNode(0x54n), members: [], metrics }),
      /one mesh node per ReplicationMetrics/,
    );
    return node.close();
  });

  it('coalesces heartbeats on one tick grid by default; coalesceHeartbeats: false opts out', async () => {
    const coalesced = new MeshNode({ transport: network.addNode(0x61n), members: [] });
    assert.ok(coalesced.ticks !== undefined, 'the default has a shared tick grid');
    const plain = new MeshNode({
      transport: network.addNode(0x62n),
      members: [],
      coalesceHeartbeats: false,
    });
    assert.equal(plain.ticks, undefined);
    assert.throws(
      () =>
        new MeshNode({
          transport: network.addNode(0x63n),
          members: [],
          coalesceHeartbeats: 'yes' as never,
        }),
      { reason: 'MESH_CONFIG' },
    );
    await coalesced.close();
    await plain.close();
  });

  it('memberPredicate always admits self and reads a function each time', () => {
    let members: NodeId[] = [0x61n];
    const isMember = memberPredicate(() => members, 0x60n);
    assert.equal(isMember(0x60n), true);
    assert.equal(isMember(0x61n), true);
    assert.equal(isMember(0x62n), false);
    members = [0x62n];
    assert.equal(isMember(0x62n), true);
    assert.equal(isMember(0x61n), false);
  });
});
