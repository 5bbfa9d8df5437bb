// A cluster of MeshNodes over a SimNetwork in virtual time, for the mesh-node tests: each node is a
// SimTransport, a MeshNode and an in-memory Redex with replication enabled, and one replicated
// channel open on the nodes of its replica set. Tests address nodes by role (`leader()`,
// `replicas()`) and drive time with `advance`.

import assert from 'node:assert/strict';
import { Redex, type RedexFile } from '../../src/log/index.js';
import { MeshNode, SimNetwork, type SimTransport } from '../../src/mesh/index.js';
import {
  enableReplication,
  type ReplicatedChannel,
  type ReplicationConfigInput,
  replicatorOf,
} from '../../src/replication/index.js';
import { SeededRandom } from '../../src/time/random.js';
import { VirtualClock } from '../../src/time/virtual-clock.js';
import { type NodeId, Role } from '../../src/wire/types.js';

export const CHANNEL = 'orders/audit';
export const HEARTBEAT_MS = 100;

export interface SimMeshNode {
  readonly id: NodeId;
  readonly transport: SimTransport;
  readonly mesh: MeshNode;
  readonly redex: Redex;
  file: RedexFile | null;
}

export interface SimMeshOptions {
  /** Nodes that get a MeshNode and open the channel (default A, B, C). */
  readonly ids?: readonly NodeId[];
  /** Cluster membership given to every MeshNode (default: `ids`). */
  readonly members?: readonly NodeId[];
  readonly replication?: ReplicationConfigInput;
  readonly seed?: number;
}

export const A = 0x0a0an;
export const B = 0x0b0bn;
export const C = 0x0c0cn;
export const D = 0x0d0dn;
export const E = 0x0e0en;

export function addressOf(id: NodeId): string {
  return `node-${id.toString(16)}.test:7000`;
}

export class SimMesh {
  readonly clock = new VirtualClock(1_764_115_200_000);
  readonly network: SimNetwork;
  readonly nodes: SimMeshNode[] = [];
  readonly random: SeededRandom;

  private constructor(seed: number) {
    this.network = new SimNetwork({
      clock: this.clock,
      seed,
      faults: { minDelayMs: 1, maxDelayMs: 2 },
    });
    this.random = new SeededRandom(seed);
  }

  static async start(options: SimMeshOptions = {}): Promise<SimMesh> {
    const mesh = new SimMesh(options.seed ?? 7);
    const ids = options.ids ?? [A, B, C];
    const members = options.members ?? ids;
    const replication = { factor: ids.length, heartbeatMs: HEARTBEAT_MS, ...options.replication };
    for (const id of ids) {
      const transport = mesh.network.addNode(id);
      const meshNode = new MeshNode({
        transport,
        members,
        addresses: new Map(members.map((m) => [m, addressOf(m)])),
        clock: mesh.clock,
      });
      const redex = new Redex({ clock: mesh.clock, random: mesh.random.fork() });
      enableReplication(redex, meshNode, { testOnlyHeartbeatMsMin: 1 });
      mesh.nodes.push({ id, transport, mesh: meshNode, redex, file: null });
    }
    for (const node of mesh.nodes) node.file = await node.redex.openFile(CHANNEL, { replication });
    return mesh;
  }

  node(id: NodeId): SimMeshNode {
    const node = this.nodes.find((n) => n.id === id);
    assert.ok(node !== undefined, `no node ${id}`);
    return node;
  }

  channel(node: SimMeshNode): ReplicatedChannel {
    const channel = replicatorOf(node.redex)?.channel(CHANNEL);
    assert.ok(channel !== undefined, 'channel not open');
    return channel;
  }

  role(node: SimMeshNode): Role {
    return node.file === null || node.file.closed ? Role.Idle : this.channel(node).role;
  }

  leaders(): SimMeshNode[] {
    return this.nodes.filter((n) => this.role(n) === Role.Leader);
  }

  leader(): SimMeshNode {
    const leaders = this.leaders();
    assert.equal(leaders.length, 1, `expected one leader, found ${leaders.length}`);
    return leaders[0]!;
  }

  replicas(): SimMeshNode[] {
    return this.nodes.filter((n) => this.role(n) === Role.Replica);
  }

  advance(ms: number): Promise<void> {
    return this.clock.advance(ms);
  }

  /** Advances a heartbeat at a time until `predicate` holds; fails after `maxMs` virtual ms. */
  async until(predicate: () => boolean, what: string, maxMs = 20_000): Promise<void> {
    for (let waited = 0; !predicate(); waited += HEARTBEAT_MS) {
      assert.ok(waited < maxMs, `not reached within ${maxMs} virtual ms: ${what}`);
      await this.advance(HEARTBEAT_MS);
    }
  }

  /** One leader that every other open node believes in. */
  async settled(): Promise<SimMeshNode> {
    await this.until(() => {
      const leaders = this.leaders();
      if (leaders.length !== 1) return false;
      const leader = leaders[0]!;
      return this.nodes.every(
        (n) =>
          n === leader || this.role(n) !== Role.Replica || this.channel(n).leader === leader.id,
      );
    }, 'a single agreed leader');
    return this.leader();
  }

  async close(): Promise<void> {
    for (const node of this.nodes) {
      await node.redex.close();
      await node.mesh.close();
    }
  }
}

export async function payloads(file: RedexFile): Promise<string[]> {
  const events = await file.readRange(file.firstSeq ?? 0, file.nextSeq, {
    isolation: 'uncommitted',
  });
  return events.map((e) => Buffer.from(e.payload).toString('hex'));
}
