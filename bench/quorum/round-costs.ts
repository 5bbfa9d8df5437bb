// `node --import tsx bench/quorum/round-costs.ts` — what one round of the quorum suite's
// throughput rows costs each node process, counted instead of timed (counts and CPU per event
// swing less with the machine's load than rates do): a fresh 3-process cluster per row (as
// bench:quorum: persistent, 256 B, acks 'quorum', 10 Gbit/s budget, heartbeatMs 500), a warm-up
// round, then one measured round; per 1,000 events acknowledged, each process's CPU (user +
// system, ms) and its mesh frames and socket write batches out. Env: ROUND_COSTS_MS (per round,
// 2,000), ROUND_COSTS_ROWS (writers,batches).

import { readdirSync, readFileSync } from 'node:fs';
import { BenchCluster, type NodeProcess, type Reply } from '../cluster/cluster.js';

const DURATION_MS = Number(process.env.ROUND_COSTS_MS ?? 2_000);
const ROWS = (process.env.ROUND_COSTS_ROWS ?? 'writers,batches').split(',');
/** Rounds that lost their leader (an election on a loaded machine) are measured again, this often. */
const MAX_ATTEMPTS = 5;

interface Sample {
  readonly cpuUs: number;
  /** Of `cpuUs`, in the kernel (system calls, page faults). */
  readonly systemUs: number;
  readonly framesOut: number;
  readonly writeBatches: number;
  readonly runtime: Record<string, number>;
  /** Context switches of all its threads (Linux /proc): waits, and preemptions. */
  readonly voluntary: number;
  readonly involuntary: number;
}

function contextSwitches(pid: number): { voluntary: number; involuntary: number } {
  let voluntary = 0;
  let involuntary = 0;
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const status = readFileSync(`/proc/${pid}/task/${task}/status`, 'utf8');
      voluntary += Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      involuntary += Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    }
  } catch {
    // Not Linux, or a thread ended while read: the counts are then partial.
  }
  return { voluntary, involuntary };
}

/** Runtime counters printed per 1,000 events when they moved in the round. */
const COUNTERS = [
  'responsesOut',
  'requestsOut',
  'heartbeatsOut',
  'chunksApplied',
  'emptyResponses',
  'nacksIn',
  'nacksOut',
  'staleChunks',
  'trimmedChunks',
  'pipelineRestarts',
  'requestsParked',
  'parkedAnswered',
  'announcementsSkipped',
];

async function sample(node: NodeProcess): Promise<Sample> {
  const reply = await node.request({ op: 'stats' });
  const cpu = reply.cpu as { user: number; system: number };
  const transport = reply.transport as { framesOut: number; writeBatches: number };
  return {
    cpuUs: cpu.user + cpu.system,
    systemUs: cpu.system,
    framesOut: transport.framesOut,
    writeBatches: transport.writeBatches,
    runtime: reply.runtime as Record<string, number>,
    ...contextSwitches(node.child.pid ?? 0),
  };
}

const rows = {
  writers: {
    fsync: 'always' as const,
    command: { op: 'quorumWriters', writers: 64, size: 256 },
  },
  batches: {
    fsync: 'never' as const,
    command: { op: 'quorumBatches', batch: 64, inFlight: 8, size: 256 },
  },
};

for (const name of ROWS) {
  const row = rows[name as keyof typeof rows];
  if (row === undefined) throw new Error(`unknown row ${name}`);
  const cluster = await BenchCluster.start({
    persistent: true,
    fsync: row.fsync,
    nicPeakBps: 1.25e9,
    replication: { heartbeatMs: 500 },
  });
  try {
    let measured: { members: NodeProcess[]; before: Sample[]; after: Sample[]; reply: Reply };
    for (let attempt = 1; ; attempt++) {
      try {
        const leader = await cluster.waitForLeader();
        await leader.request({ ...row.command, durationMs: DURATION_MS } as never);
        const members = [leader, ...cluster.alive.filter((n) => n !== leader)];
        const before = await Promise.all(members.map(sample));
        const reply = await leader.request({ ...row.command, durationMs: DURATION_MS } as never);
        const after = await Promise.all(members.map(sample));
        measured = { members, before, after, reply };
        break;
      } catch (error) {
        // A leader change on a loaded machine (the appends are refused): measure again.
        if (attempt >= MAX_ATTEMPTS) throw error;
        console.log(`${name}: ${error instanceof Error ? error.message : error}; again`);
      }
    }
    const { members, before, after, reply } = measured;
    const events = Number(reply.events);
    const seconds = Number(reply.elapsedNs) / 1e9;
    const per = 1000 / events;
    console.log(`${name}: ${Math.round(events / seconds)} events/s, ${events} events`);
    members.forEach((_, i) => {
      const a = after[i]!;
      const b = before[i]!;
      const role = i === 0 ? 'leader ' : `replica${i}`;
      console.log(
        `  ${role}: CPU ${(((a.cpuUs - b.cpuUs) / 1000) * per).toFixed(2)} ms ` +
          `(${(((a.systemUs - b.systemUs) / (a.cpuUs - b.cpuUs)) * 100).toFixed(0)} % in the kernel), ` +
          `${((a.framesOut - b.framesOut) * per).toFixed(1)} frames out, ` +
          `${((a.writeBatches - b.writeBatches) * per).toFixed(1)} socket writes, ` +
          `${((a.voluntary - b.voluntary) * per).toFixed(0)} waits and ` +
          `${((a.involuntary - b.involuntary) * per).toFixed(0)} preemptions (context switches) per 1,000 events; ` +
          `busy ${(((a.cpuUs - b.cpuUs) / 1e6 / seconds) * 100).toFixed(0)} % of one core`,
      );
      const moved = COUNTERS.filter((c) => a.runtime[c] !== b.runtime[c]).map(
        (c) => `${c} ${((a.runtime[c]! - b.runtime[c]!) * per).toFixed(1)}`,
      );
      console.log(`    ${moved.join(', ')}`);
    });
  } finally {
    await cluster.close();
  }
}
