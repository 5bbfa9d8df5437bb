// Many channels over the simulated mesh: 200 replicated channels on three MeshNodes settle, then
// stay quiet with one heartbeat frame per peer per heartbeat period (every channel's heartbeat
// rides in it) and no role change over a long idle stretch.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Redex } from '../../src/log/index.js';
import { MeshNode, SimNetwork } from '../../src/mesh/index.js';
import { enableReplication, replicatorOf } from '../../src/replication/index.js';
import { SeededRandom } from '../../src/time/random.js';
import { VirtualClock } from '../../src/time/virtual-clock.js';
import { type NodeId, Role } from '../../src/wire/types.js';

const IDS: readonly NodeId[] = [0x0a0an, 0x0b0bn, 0x0c0cn];
const CHANNELS = 200;
const HEARTBEAT_MS = 100;

interface Node {
  readonly mesh: MeshNode;
  readonly redex: Redex;
}

const clock = new VirtualClock(1_764_115_200_000);
const nodes: Node[] = [];

after(async () => {
  for (const node of nodes) {
    await node.redex.close();
    await node.mesh.close();
  }
});

function names(): string[] {
  return Array.from({ length: CHANNELS }, (_, i) => `bulk/c${i}`);
}

function roles(node: Node): Role[] {
  const replicator = replicatorOf(node.redex);
  assert.ok(replicator !== undefined && replicator !== null);
  return names().map((name) => replicator.channel(name)?.role ?? Role.Idle);
}

/** Channels with exactly one leader that both other nodes follow. */
function settledCount(): number {
  const replicators = nodes.map((n) => replicatorOf(n.redex)!);
  let settled = 0;
  for (const name of names()) {
    const channels = replicators.map((r) => r.channel(name)!);
    const leaders = channels.filter((c) => c.role === Role.Leader);
    if (leaders.length !== 1) continue;
    const leaderId = IDS[channels.indexOf(leaders[0]!)];
    if (channels.every((c) => c.role === Role.Leader || c.leader === leaderId)) settled++;
  }
  return settled;
}

describe('MeshNode: 200 channels', () => {
  it('settles, then sends one heartbeat frame per peer per period with no role change', async () => {
    const network = new SimNetwork({ clock, seed: 3, faults: { minDelayMs: 1, maxDelayMs: 2 } });
    const random = new SeededRandom(3);
    for (const id of IDS) {
      const mesh = new MeshNode({
        transport: network.addNode(id),
        members: IDS,
        clock,
        coalesceHeartbeats: true,
        // Every heartbeat each period, as this test counts them (node-beats.test.ts: with them).
        nodeBeats: false,
      });
      const redex = new Redex({ clock, random: random.fork() });
      enableReplication(redex, mesh, { testOnlyHeartbeatMsMin: 1 });
      nodes.push({ mesh, redex });
    }
    const replication = { factor: 3, heartbeatMs: HEARTBEAT_MS };
    for (const node of nodes) {
      for (const name of names()) await node.redex.openFile(name, { replication });
    }
    for (let waited = 0; settledCount() < CHANNELS; waited += HEARTBEAT_MS) {
      assert.ok(waited < 60_000, `only ${settledCount()} of ${CHANNELS} channels settled`);
      await clock.advance(HEARTBEAT_MS);
    }
    // Let the last elections' announcements drain, then watch a quiet stretch.
    await clock.advance(5 * HEARTBEAT_MS);
    const before = nodes.map((n) => ({ ...n.mesh.heartbeatStats(), roles: roles(n) }));
    const periods = 50;
    await clock.advance(periods * HEARTBEAT_MS);
    for (const [index, node] of nodes.entries()) {
      const now = node.mesh.heartbeatStats();
      const frames = now.heartbeatFrames - before[index]!.heartbeatFrames;
      const heartbeats = now.heartbeatsQueued - before[index]!.heartbeatsQueued;
      // Two peers: one frame each per period, carrying all 200 channels' heartbeats.
      assert.equal(frames, 2 * periods, `node ${index}: heartbeat frames`);
      assert.equal(heartbeats, 2 * CHANNELS * periods, `node ${index}: heartbeats carried`);
      assert.equal(now.batchFrames - before[index]!.batchFrames, frames);
      assert.equal(now.sendFailures, 0);
      assert.deepEqual(roles(node), before[index]!.roles, `node ${index}: a role changed`);
      assert.equal(node.mesh.stats().drops.malformed, 0);
    }
    assert.equal(settledCount(), CHANNELS);
  });
});
