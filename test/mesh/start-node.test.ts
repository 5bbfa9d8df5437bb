// startMeshNode on real sockets (127.0.0.1, ephemeral ports, certificates written to a temp dir):
// three nodes from small descriptions replicate a channel; NOT_LEADER carries the leader's
// configured client address; a certificate from the cluster CA that is not a member is refused
// at connect time; the blockPeer fault hook cuts a pair and heals; configuration errors are typed.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  formatMeshAddress,
  parseMeshAddress,
  type StartedMeshNode,
  startMeshNode,
} from '../../src/cluster/start-node.js';
import { NotLeaderError, type RedexFile } from '../../src/log/index.js';
import { initCa, issueNodeCert, loadNodeCredentials, MeshTransport } from '../../src/mesh/index.js';
import { Role } from '../../src/wire/types.js';
import { waitFor } from './helpers.js';

/** The local log as it is: these checks compare logs, committed or not. */
const RAW = { isolation: 'uncommitted' } as const;

/** These tests drive the clock themselves: an append resolves once stored on the leader. */
const LEADER_ACKS = { acks: 'leader' } as const;

const CHANNEL = 'start/node';
const tuning = {
  pingIntervalMs: 50,
  idleTimeoutMs: 5_000,
  reconnectBaseMs: 10,
  reconnectMaxMs: 100,
  closeTimeoutMs: 500,
};
const utf8 = new TextEncoder();

let dir: string;
const started: StartedMeshNode[] = [];
const files = new Map<StartedMeshNode, RedexFile>();

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'redex-start-node-'));
  await initCa(join(dir, 'certs'));
  for (const name of ['a', 'b', 'c', 'x']) {
    await issueNodeCert(join(dir, 'certs'), name, { hosts: ['127.0.0.1'] });
  }
});

after(async () => {
  await Promise.all(started.map((node) => node.close()));
  await rm(dir, { recursive: true, force: true });
});

function roleOf(node: StartedMeshNode): Role {
  return node.replicator.channel(CHANNEL)?.role ?? Role.Idle;
}

describe('startMeshNode', () => {
  it('starts three nodes from descriptions that replicate a channel', async () => {
    const certsDir = join(dir, 'certs');
    const addresses: Record<string, string> = {};
    for (const name of ['a', 'b', 'c']) {
      const node = await startMeshNode({
        name,
        certsDir,
        dataDir: join(dir, `data-${name}`),
        transport: tuning,
        // Members started earlier have an address to dial; later ones dial us.
        members: ['a', 'b', 'c'].map((member) => ({
          name: member,
          client: `http://${member}.example:7070`,
          ...(addresses[member] === undefined ? {} : { mesh: addresses[member] }),
        })),
      });
      started.push(node);
      addresses[name] = formatMeshAddress(node.address);
      assert.ok(node.address.port > 0);
      assert.equal(node.members.filter((m) => m.self).length, 1);
    }
    for (const node of started) {
      files.set(
        node,
        await node.redex.openFile(CHANNEL, {
          persistent: true,
          replication: { factor: 3, heartbeatMs: 100 },
        }),
      );
    }
    await waitFor(
      () =>
        started.filter((n) => roleOf(n) === Role.Leader).length === 1 &&
        started.filter((n) => roleOf(n) === Role.Replica).length === 2,
      'one leader and two replicas',
    );
    const leader = started.find((n) => roleOf(n) === Role.Leader)!;
    const leaderFile = files.get(leader)!;
    await leaderFile.appendBatch(
      Array.from({ length: 500 }, (_, i) => utf8.encode(`p${i}`)),
      LEADER_ACKS,
    );
    await leaderFile.waitForReplicas(499, { count: 2, timeoutMs: 10_000 });
    const expected = (await leaderFile.readRange(0, 500, RAW)).map((e) =>
      Buffer.from(e.payload).toString(),
    );
    for (const node of started.filter((n) => n !== leader)) {
      const file = files.get(node)!;
      await waitFor(() => file.nextSeq === 500, 'replica caught up');
      assert.deepEqual(
        (await file.readRange(0, 500, RAW)).map((e) => Buffer.from(e.payload).toString()),
        expected,
      );
      await assert.rejects(
        file.append(utf8.encode('no'), LEADER_ACKS),
        (error: unknown) =>
          error instanceof NotLeaderError &&
          error.leaderNodeId === leader.nodeId &&
          error.leaderAddress === `http://${leader.name}.example:7070`,
      );
    }
    for (const node of started) {
      await waitFor(
        () => node.mesh.findChainHolders(CHANNEL).length === 3,
        'every node sees three holders',
      );
    }
  });

  it('refuses a certificate from the cluster CA that is not a member', async () => {
    const [a] = started;
    assert.ok(a);
    const refusedBefore = a.transport.stats().peersRefused;
    const outsider = new MeshTransport({
      credentials: await loadNodeCredentials(join(dir, 'certs'), 'x'),
      ...tuning,
    });
    try {
      outsider.addPeer(a.address);
      await waitFor(
        () => a.transport.stats().peersRefused > refusedBefore + 1,
        'the outsider refused twice',
      );
      assert.deepEqual(outsider.connectedPeers(), []);
      assert.ok(!a.transport.connectedPeers().includes(outsider.localId));
      const text = await a.mesh.metrics.expose();
      assert.match(text, /^redex_mesh_connection_events_total\{event="peer_refused"\} [1-9]\d*$/m);
    } finally {
      await outsider.close();
    }
  });

  it('blockPeer cuts a pair until unblockPeer, which reconnects at once', async () => {
    const [a, b] = started;
    assert.ok(a && b);
    a.transport.blockPeer(b.nodeId);
    assert.deepEqual(a.transport.blockedPeers(), [b.nodeId]);
    await waitFor(
      () => !a.transport.isConnected(b.nodeId) && !b.transport.isConnected(a.nodeId),
      'the pair disconnected',
    );
    const refused = a.transport.stats().peersRefused;
    await waitFor(() => a.transport.stats().peersRefused > refused + 2, 'redials refused');
    assert.equal(a.transport.isConnected(b.nodeId), false);
    assert.ok(!a.mesh.findChainHolders(CHANNEL).some((h) => h.nodeId === b.nodeId));
    a.transport.unblockPeer(b.nodeId);
    await waitFor(
      () => a.transport.isConnected(b.nodeId) && b.transport.isConnected(a.nodeId),
      'the pair reconnected',
    );
    await waitFor(
      () => a.mesh.findChainHolders(CHANNEL).some((h) => h.nodeId === b.nodeId),
      'b re-announced to a',
    );
  });

  it('reports configuration errors naming the field', async () => {
    await assert.rejects(startMeshNode({ members: [] }), /certsDir and name/);
    await assert.rejects(
      startMeshNode({
        name: 'a',
        certsDir: join(dir, 'certs'),
        members: [{ name: 'b' }, { name: 'b' }],
      }),
      /members\[1\] repeats node/,
    );
    await assert.rejects(
      startMeshNode({ name: 'a', certsDir: join(dir, 'certs'), members: [{ mesh: 'h:1' }] }),
      /members\[0\] needs a nodeId/,
    );
    await assert.rejects(
      startMeshNode({
        name: 'a',
        certsDir: join(dir, 'certs'),
        members: [{ name: 'b', mesh: 'nope' }],
      }),
      /members\[0\]\.mesh must be host:port/,
    );
    assert.deepEqual(parseMeshAddress('[::1]:7000'), { host: '::1', port: 7000 });
    assert.equal(formatMeshAddress({ host: '::1', port: 7000 }), '[::1]:7000');
    assert.throws(() => parseMeshAddress('h:0'), /port must be 1..65535/);
  });
});
