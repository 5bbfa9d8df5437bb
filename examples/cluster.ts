// `npm run example:cluster`: the library's replication, end to end, in one process: a cluster CA
// and three node certificates in a temporary directory, three nodes speaking mutual TLS on
// loopback, one replicated channel. Appends go to the leader, replicas refuse writes with
// NOT_LEADER, `waitForReplicas` confirms replication, and when the leader stops another takes
// over. (The daemon, `redex serve`, runs the same thing as separate processes.)

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../src/cli/demo/cluster.js';
import {
  initCa,
  issueNodeCert,
  NotLeaderError,
  Role,
  type StartedMeshNode,
  startMeshNode,
} from '../src/index.js';

const CHANNEL = 'orders/replicated';
const NAMES = ['alpha', 'beta', 'gamma'];
const encoder = new TextEncoder();

async function waitFor(
  what: string,
  condition: () => boolean,
  timeoutMs = 10_000,
): Promise<number> {
  const started = performance.now();
  while (!condition()) {
    if (performance.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return performance.now() - started;
}

const roleOf = (node: StartedMeshNode) => node.replicator.channel(CHANNEL)?.role ?? Role.Idle;

const certsDir = mkdtempSync(join(tmpdir(), 'redex-cluster-'));
const nodes: StartedMeshNode[] = [];
try {
  await initCa(certsDir);
  for (const name of NAMES) await issueNodeCert(certsDir, name);
  const ports = await Promise.all(NAMES.map(() => freePort()));
  const members = NAMES.map((name, i) => ({ name, mesh: `127.0.0.1:${ports[i]}` }));
  console.log(`certificates in ${certsDir}; nodes on ports ${ports.join(', ')}`);
  for (const [i, name] of NAMES.entries()) {
    nodes.push(await startMeshNode({ name, certsDir, listen: { port: ports[i] }, members }));
  }
  const files = await Promise.all(
    nodes.map((node) =>
      node.redex.openFile(CHANNEL, { replication: { factor: 3, heartbeatMs: 100 } }),
    ),
  );

  const electedMs = await waitFor(
    'a leader',
    () => nodes.filter((node) => roleOf(node) === Role.Leader).length === 1,
  );
  const leaderIndex = nodes.findIndex((node) => roleOf(node) === Role.Leader);
  console.log(`${NAMES[leaderIndex]} leads (elected after ${Math.round(electedMs)} ms)`);

  const leaderFile = files[leaderIndex]!;
  let last = 0;
  for (let i = 0; i < 1000; i++) last = await leaderFile.append(encoder.encode(`order #${i}`));
  await leaderFile.waitForReplicas(last, { count: 2, timeoutMs: 5_000 });
  console.log(`appended 1000 events on the leader; both replicas confirmed seq ${last}`);

  const replicaFile = files[(leaderIndex + 1) % 3]!;
  const seen = await replicaFile.readRange(998, 1000);
  console.log(
    `a replica reads: ${seen.map((event) => JSON.stringify(new TextDecoder().decode(event.payload))).join(', ')}`,
  );
  try {
    await replicaFile.append(encoder.encode('nope'));
  } catch (error) {
    if (error instanceof NotLeaderError) console.log(`a replica refuses writes: ${error.message}`);
    else throw error;
  }

  console.log(`stopping the leader, ${NAMES[leaderIndex]}…`);
  const stopped = nodes[leaderIndex]!;
  await stopped.close();
  const survivors = nodes.filter((node) => node !== stopped);
  const failoverMs = await waitFor('a new leader', () =>
    survivors.some((node) => roleOf(node) === Role.Leader),
  );
  const next = survivors.find((node) => roleOf(node) === Role.Leader)!;
  const nextFile = await next.redex.openFile(CHANNEL, {
    replication: { factor: 3, heartbeatMs: 100 },
  });
  const seq = await nextFile.append(encoder.encode('after the failover'));
  console.log(`${next.name} took over in ${Math.round(failoverMs)} ms and accepted seq ${seq}`);
} finally {
  for (const node of nodes) await node.close().catch(() => {});
  rmSync(certsDir, { recursive: true, force: true });
}
