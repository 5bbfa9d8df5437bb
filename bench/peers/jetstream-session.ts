// The JetStream sessions shared by bench:jetstream and bench:daemon: a fresh three-server cluster
// (nats-cluster.ts) with the R3 file stream `STREAM` and a client connection, and one failover
// round (SIGKILL of the stream leader's server, then publishes from a client on the two others
// until one is acknowledged).

import { jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { NatsCluster } from './nats-cluster.js';

export const STREAM = 'BENCH';
const SIZE = 256;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const nowNs = (): bigint => process.hrtime.bigint();

export interface Session {
  readonly cluster: NatsCluster;
  readonly nc: NatsConnection;
  readonly jsm: Awaited<ReturnType<typeof jetstreamManager>>;
  readonly js: ReturnType<typeof jetstream>;
}

export async function retry<T>(
  what: string,
  attempt: () => Promise<T>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (performance.now() > deadline) throw new Error(`${what}: ${String(error)}`);
      await sleep(100);
    }
  }
}

/** A fresh cluster, a client on `servers` of it, and the R3 file stream. */
export async function withSession<T>(
  binary: string,
  body: (session: Session) => Promise<T>,
  clientOn?: (cluster: NatsCluster) => string[],
): Promise<T> {
  const cluster = await NatsCluster.start(binary);
  let nc: NatsConnection | null = null;
  try {
    nc = await connect({
      servers: cluster.urls(),
      maxReconnectAttempts: -1,
      reconnectTimeWait: 50,
      ignoreClusterUpdates: true,
    });
    const client = nc;
    const jsm = await retry('JetStream ready', () => jetstreamManager(client, { timeout: 2_000 }));
    await retry('stream create', () =>
      jsm.streams.add({
        name: STREAM,
        subjects: ['bench.>'],
        storage: StorageType.File,
        num_replicas: 3,
      }),
    );
    // Wait until the stream has a leader and both replicas are current.
    await retry('stream leader', async () => {
      const info = await jsm.streams.info(STREAM);
      const replicas = info.cluster?.replicas ?? [];
      if (info.cluster?.leader === undefined || replicas.length !== 2) throw new Error('no leader');
      if (!replicas.every((r) => r.current)) throw new Error('replicas not current');
    });
    if (clientOn !== undefined) {
      // A second connection, on the chosen servers only.
      await nc.close();
      nc = await connect({
        servers: clientOn(cluster),
        maxReconnectAttempts: -1,
        reconnectTimeWait: 50,
        ignoreClusterUpdates: true,
      });
    }
    return await body({ cluster, nc, jsm: await jetstreamManager(nc), js: jetstream(nc) });
  } finally {
    await nc?.close().catch(() => {});
    await cluster.close();
  }
}

/** Milliseconds from the SIGKILL of the stream leader until a publish is acknowledged. */
export async function failoverRound(binary: string): Promise<number> {
  let leaderName = '';
  const cluster = await NatsCluster.start(binary);
  let nc: NatsConnection | null = null;
  try {
    const admin = await connect({ servers: cluster.urls(), ignoreClusterUpdates: true });
    try {
      const jsm = await retry('JetStream ready', () => jetstreamManager(admin, { timeout: 2_000 }));
      await retry('stream create', () =>
        jsm.streams.add({
          name: STREAM,
          subjects: ['bench.>'],
          storage: StorageType.File,
          num_replicas: 3,
        }),
      );
      const js = jetstream(admin);
      const payload = new Uint8Array(SIZE).fill(0x66);
      for (let i = 0; i < 1000; i++) admin.publish('bench.fo', payload);
      await admin.flush();
      await retry('stream settled', async () => {
        const info = await jsm.streams.info(STREAM);
        const replicas = info.cluster?.replicas ?? [];
        const ok = replicas.length === 2 && replicas.every((r) => r.current && (r.lag ?? 0) === 0);
        if (info.state.last_seq < 1000 || !ok || info.cluster?.leader === undefined) {
          throw new Error('not settled');
        }
        leaderName = info.cluster.leader;
      });
      await js.publish('bench.fo', payload);
    } finally {
      await admin.close();
    }
    nc = await connect({
      servers: cluster.urls(leaderName),
      ignoreClusterUpdates: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 50,
    });
    const js = jetstream(nc, { timeout: 500 });
    const payload = new Uint8Array(SIZE).fill(0x67);
    await js.publish('bench.fo', payload); // the client path is warm
    const killedAt = nowNs();
    cluster.kill(leaderName);
    const deadline = performance.now() + 60_000;
    for (;;) {
      try {
        await js.publish('bench.fo', payload, { timeout: 500 });
        return Number(nowNs() - killedAt) / 1e6;
      } catch {
        if (performance.now() > deadline) throw new Error('no write accepted within 60 s');
        await sleep(1);
      }
    }
  } finally {
    await nc?.close().catch(() => {});
    await cluster.close();
  }
}
