// `node --import tsx bench/daemon/counters.ts` — what one request costs the cluster of the daemon
// benchmark, counted instead of timed (counts do not swing with the machine's load the way
// rates do): three `redex serve` processes, the benchmark's channel, a closed-loop round per
// row; per 100 requests, the mesh frames each member sent (responses, heartbeats, requests) and,
// under `strace -f -c -e trace=fdatasync,pwritev,pwrite64` attached to each member, its
// fdatasyncs and file writes. strace slows the members, so the rates printed beside the counts
// are not the benchmark's. Env: COUNTERS_MS (per row, 2,000), COUNTERS_ROWS (batch,writers).

import { type ChildProcess, spawn } from 'node:child_process';
import type { Pool } from 'undici';
import { closedLoop, type PostSpec, pool, post } from './http-load.js';
import { redexLeader } from './leader.js';
import { ServeCluster } from './serve-cluster.js';

const CHANNEL = 'bench';
const PAYLOAD_B64 = Buffer.alloc(256, 7).toString('base64');
const DURATION_MS = Number(process.env.COUNTERS_MS ?? 2_000);
const ROWS = (process.env.COUNTERS_ROWS ?? 'batch,writers').split(',');

const single: PostSpec = {
  path: `/channels/${CHANNEL}/events?acks=quorum`,
  contentType: 'application/json',
  body: JSON.stringify({ payload: PAYLOAD_B64 }),
  expect: [201],
};
const batch: PostSpec = {
  ...single,
  body: JSON.stringify({ events: Array.from({ length: 64 }, () => PAYLOAD_B64) }),
};
const rows: Record<string, { spec: PostSpec; writers: number }> = {
  batch: { spec: batch, writers: 8 },
  writers: { spec: single, writers: 64 },
};

async function framesOut(url: string): Promise<number> {
  const response = await fetch(`${url}/metrics`);
  const text = await response.text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('redex_mesh_peer_frames_total') && line.includes('direction="out"')) {
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return sum;
}

interface Traced {
  readonly child: ChildProcess;
  readonly report: Promise<string>;
}

function trace(pid: number): Traced {
  const child = spawn(
    'strace',
    ['-f', '-c', '-e', 'trace=fdatasync,pwritev,pwrite64', '-p', String(pid)],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let text = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  return { child, report: new Promise((resolve) => child.on('close', () => resolve(text))) };
}

function callsOf(report: string, syscall: string): number {
  for (const line of report.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols.at(-1) === syscall) return Number(cols[3]);
  }
  return 0;
}

async function main(): Promise<void> {
  const cluster = await ServeCluster.start({
    channels: [
      { name: CHANNEL, file: { fsync: 'always' }, replication: { factor: 3, heartbeatMs: 100 } },
    ],
  });
  const pools: Pool[] = [];
  try {
    const leader = await redexLeader(cluster, CHANNEL);
    const url = cluster.member(leader).url;
    const warm = pool(url, 1);
    pools.push(warm);
    for (let i = 0; i < 100; i++) await post(warm, single);
    const order = [cluster.member(leader), ...cluster.members.filter((m) => m.name !== leader)];
    for (const row of ROWS) {
      const { spec, writers } = rows[row]!;
      const client = pool(url, writers);
      pools.push(client);
      const traces = order.map((m) => trace(m.child!.pid!));
      await new Promise((resolve) => setTimeout(resolve, 1_000)); // strace attached
      const before = await Promise.all(order.map((m) => framesOut(m.url)));
      const result = await closedLoop(client, () => spec, writers, DURATION_MS);
      const after = await Promise.all(order.map((m) => framesOut(m.url)));
      for (const t of traces) t.child.kill('SIGINT');
      const reports = await Promise.all(traces.map((t) => t.report));
      // The warm-up quarter and the metric reads are in the window too: count every request.
      const requests = result.count * 1.25;
      const per100 = (n: number) => ((100 * n) / requests).toFixed(1);
      console.log(
        `${row}: ${result.requestsPerSecond.toFixed(0)} requests/s under strace, p50 ${result.p50Ms.toFixed(2)} ms`,
      );
      order.forEach((m, i) => {
        const role = i === 0 ? 'leader' : 'replica';
        console.log(
          `  ${m.name} (${role}) per 100 requests: frames out ${per100(after[i]! - before[i]!)}, fdatasync ${per100(callsOf(reports[i]!, 'fdatasync'))}, pwritev ${per100(callsOf(reports[i]!, 'pwritev'))}, pwrite64 ${per100(callsOf(reports[i]!, 'pwrite64'))}`,
        );
      });
    }
  } finally {
    await Promise.all(pools.map((p) => p.close()));
    await cluster.close();
  }
}

await main();
