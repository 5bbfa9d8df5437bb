// The idle cost of N replicated channels on three nodes in one process, over the simulated mesh
// in virtual time (no TLS, no other process): a check of the per-channel work that does not
// depend on how busy the machine is, beside bench:channels.
//
//   npx tsx bench/channels/sim-idle.ts [channels=1000] [periods=40]
//
// Environment: STAGGER=1 (each node opens at its own rate, as three processes do), PROF=FILE (a
// V8 CPU profile of the measured periods only).

import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { Redex } from '../../src/log/index.js';
import { MeshNode, SimNetwork } from '../../src/mesh/index.js';
import { enableReplication, replicatorOf } from '../../src/replication/index.js';
import { SeededRandom } from '../../src/time/random.js';
import { VirtualClock } from '../../src/time/virtual-clock.js';
import { type NodeId, Role } from '../../src/wire/types.js';

const N = Number(process.argv[2] ?? 1000);
const PERIODS = Number(process.argv[3] ?? 40);
const HB = 500;
const IDS: NodeId[] = [0x0a0an, 0x0b0bn, 0x0c0cn];
const REPLICATION = { replication: { factor: 3, heartbeatMs: HB } };

const clock = new VirtualClock(1_764_115_200_000);
const network = new SimNetwork({ clock, seed: 5, faults: { minDelayMs: 1, maxDelayMs: 2 } });
const random = new SeededRandom(5);
const nodes = IDS.map((id) => {
  const transport = network.addNode(id);
  const mesh = new MeshNode({ transport, members: IDS, clock });
  const redex = new Redex({ clock, random: random.fork() });
  enableReplication(redex, mesh);
  return { mesh, redex };
});
const names = Array.from({ length: N }, (_, i) => `idle/c${i}`);

if (process.env.STAGGER) {
  const rates = [12, 10, 8];
  const next = [0, 0, 0];
  while (next.some((n) => n < N)) {
    for (const [k, node] of nodes.entries()) {
      for (let j = 0; j < (rates[k] ?? 1) && (next[k] ?? N) < N; j++) {
        await node.redex.openFile(names[next[k] ?? 0] ?? '', REPLICATION);
        next[k] = (next[k] ?? 0) + 1;
      }
    }
    await clock.advance(100);
  }
} else {
  for (const node of nodes) for (const name of names) await node.redex.openFile(name, REPLICATION);
}

const runtimes = nodes.flatMap((node) =>
  names.map((name) => {
    const runtime = replicatorOf(node.redex)?.channel(name)?.handle?.runtime;
    if (runtime === undefined) throw new Error(`${name}: no runtime`);
    return runtime;
  }),
);
const leaders = () => runtimes.filter((r) => r.coordinator.role === Role.Leader).length;
let waited = 0;
while (leaders() < N && waited < 200) {
  await clock.advance(HB);
  waited++;
}
if (leaders() < N) throw new Error(`${leaders()} of ${N} channels have a leader`);
{
  const e = { preVotes: 0, started: 0, won: 0, lost: 0 };
  for (const r of runtimes) {
    const c = r.quorum.counters;
    e.preVotes += c.preVotesStarted;
    e.started += c.electionsStarted;
    e.won += c.electionsWon;
    e.lost += c.electionsLost;
  }
  console.log(`settled after ${waited} periods; elections: ${JSON.stringify(e)}`);
}
// Past the transfers back to preferred members and every channel's first refresh.
await clock.advance(40 * HB);

const counts = () => {
  const c = { fullTicks: 0, quietTicks: 0, heartbeatsIn: 0, quietRefreshes: 0, preVotes: 0 };
  for (const r of runtimes) {
    c.fullTicks += r.stats.ticks - r.stats.quietTicks;
    c.quietTicks += r.stats.quietTicks;
    c.heartbeatsIn += r.stats.heartbeatsIn;
    c.quietRefreshes += r.stats.quietRefreshes;
    c.preVotes += r.quorum.counters.preVotesStarted;
  }
  return c;
};
const session = new Session();
if (process.env.PROF !== undefined) {
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
}
const before = counts();
const cpu = process.cpuUsage();
await clock.advance(PERIODS * HB);
const used = process.cpuUsage(cpu);
const after = counts();
if (process.env.PROF !== undefined) {
  const { profile } = await session.post('Profiler.stop');
  writeFileSync(process.env.PROF, JSON.stringify(profile));
}
const channelPeriods = 3 * N * PERIODS;
const per = (key: keyof typeof before) => ((after[key] - before[key]) / channelPeriods).toFixed(3);
console.log(
  `${N} channels × 3 nodes, ${PERIODS} idle periods: ${((used.user + used.system) / channelPeriods).toFixed(2)} µs of CPU per channel per period per node; per channel per period: full ticks ${per('fullTicks')}, quiet ticks ${per('quietTicks')}, heartbeats in ${per('heartbeatsIn')}, quiet refreshes ${per('quietRefreshes')}; pre-votes ${after.preVotes - before.preVotes}`,
);
process.exit(0);
