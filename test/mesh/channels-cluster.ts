// Three nodes over the simulated mesh in virtual time, for the tests of many replicated channels:
// each node a MeshNode and an in-memory Redex with replication enabled, no channel open yet. The
// tests open their channels, then look runtimes and agreed leaders up by node index. With `disk`,
// each node's Redex keeps persistent channels under /data on the file system it returns.

import assert from 'node:assert/strict';
import type { FileSystem } from '../../src/log/disk/fs.js';
import { Redex } from '../../src/log/index.js';
import { MeshNode, SimNetwork } from '../../src/mesh/index.js';
import { enableReplication, replicatorOf } from '../../src/replication/index.js';
import type { ReplicationRuntime } from '../../src/replication/runtime.js';
import { SeededRandom } from '../../src/time/random.js';
import { VirtualClock } from '../../src/time/virtual-clock.js';
import { type NodeId, Role } from '../../src/wire/types.js';

export const IDS: readonly NodeId[] = [0x0a0an, 0x0b0bn, 0x0c0cn];

export function channelsCluster(
  seed: number,
  options: { readonly disk?: (clock: VirtualClock, node: number) => FileSystem } = {},
) {
  const clock = new VirtualClock(1_764_115_200_000);
  const network = new SimNetwork({ clock, seed, faults: { minDelayMs: 1, maxDelayMs: 2 } });
  const random = new SeededRandom(seed);
  const nodes = IDS.map((id, index) => {
    const mesh = new MeshNode({ transport: network.addNode(id), members: IDS, clock });
    const fs = options.disk?.(clock, index);
    const redex = new Redex({
      clock,
      random: random.fork(),
      ...(fs === undefined ? {} : { dir: '/data', fs }),
    });
    enableReplication(redex, mesh, { testOnlyHeartbeatMsMin: 1 });
    return { mesh, redex };
  });
  const close = async () => {
    for (const node of nodes) {
      await node.redex.close().catch(() => {});
      await node.mesh.close();
    }
  };
  const runtime = (node: number, name: string): ReplicationRuntime => {
    const found = replicatorOf(nodes[node]!.redex)?.channel(name)?.handle?.runtime;
    assert.ok(found !== undefined, name);
    return found;
  };
  /** The index of the one leader of `name` among `among`, or -1 when there is none or several. */
  const leaderOf = (name: string, among: readonly number[]) => {
    const leaders = among.filter((i) => runtime(i, name).coordinator.role === Role.Leader);
    return leaders.length === 1 ? leaders[0]! : -1;
  };
  /** Advances a period at a time until every channel in `names` has one leader. */
  const settle = async (names: readonly string[], heartbeatMs: number, maxPeriods: number) => {
    for (let waited = 0; !names.every((n) => leaderOf(n, [0, 1, 2]) >= 0); waited++) {
      assert.ok(waited < maxPeriods, 'settle');
      await clock.advance(heartbeatMs);
    }
  };
  return { clock, network, nodes, close, runtime, leaderOf, settle };
}
