// Three `startNode` cluster members in this process (fresh CA and certificates, free loopback
// ports for the mesh and the HTTP API, data in a temp dir), for the cluster service and dashboard
// tests. The multi-process version of the same is test/e2e/serve-cluster.test.ts.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/cli/demo/cluster.js';
import { initCa, issueNodeCert } from '../../src/mesh/certs.js';
import { parseNodeConfig } from '../../src/node/config.js';
import { type RunningNode, startNode } from '../../src/node/node.js';

export { freePort };

export const CLUSTER_NAMES = ['node-a', 'node-b', 'node-c'] as const;

export interface TestCluster {
  readonly dir: string;
  readonly nodes: (RunningNode | null)[];
  readonly urls: string[];
  /** Starts (or restarts) member `index` on its data directory. */
  start(index: number): Promise<RunningNode>;
  stop(index: number): Promise<void>;
  close(): Promise<void>;
}

export async function startCluster(
  channels: readonly unknown[] = [],
  names: readonly string[] = CLUSTER_NAMES,
): Promise<TestCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'redex-cluster-test-'));
  const certs = join(dir, 'certs');
  await initCa(certs);
  for (const name of names) await issueNodeCert(certs, name);
  const meshPorts = await Promise.all(names.map(() => freePort()));
  const httpPorts = await Promise.all(names.map(() => freePort()));
  const urls = httpPorts.map((port) => `http://127.0.0.1:${port}`);
  const members = names.map((name, i) => ({
    name,
    cert: join(certs, `${name}.crt`),
    mesh: `127.0.0.1:${meshPorts[i]}`,
    http: urls[i],
  }));
  const nodes: (RunningNode | null)[] = names.map(() => null);
  const start = async (index: number) => {
    const name = names[index]!;
    const config = parseNodeConfig(
      {
        node: name,
        dataDir: join(dir, name),
        http: { listen: `127.0.0.1:${httpPorts[index]}` },
        tls: {
          ca: join(certs, 'ca.crt'),
          cert: join(certs, `${name}.crt`),
          key: join(certs, `${name}.key`),
        },
        mesh: { listen: `127.0.0.1:${meshPorts[index]}` },
        members,
        channels,
      },
      { baseDir: dir },
    );
    const node = await startNode(config, {
      http: { statusIntervalMs: 200, statusPushMinMs: 20 },
      mesh: { pingIntervalMs: 100, idleTimeoutMs: 1_000, reconnectBaseMs: 20, reconnectMaxMs: 200 },
    });
    nodes[index] = node;
    return node;
  };
  const stop = async (index: number) => {
    const node = nodes[index];
    nodes[index] = null;
    await node?.stop();
  };
  try {
    for (const index of names.keys()) await start(index);
  } catch (error) {
    for (const index of names.keys()) await stop(index).catch(() => {});
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    dir,
    nodes,
    urls,
    start,
    stop,
    async close() {
      for (const index of names.keys()) await stop(index).catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}
