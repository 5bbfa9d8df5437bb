// `startNode`: a running node from a validated config. Puts the pieces together in order (data
// directory and its lock, member identities, the log (in a cluster: the mesh node, whose Redex
// replicates), the service (`LocalNodeService`, wrapped by `ClusterNodeService` in a cluster),
// the config's and the registry's channels, the HTTP API) and takes them apart in reverse on `stop()` or on a failed
// start. `redex serve` calls it; tests call it in-process.

import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  formatMeshAddress,
  type MeshTransportTuning,
  type StartedMeshNode,
  startMeshNode,
} from '../cluster/start-node.js';
import { mapBounded, OPEN_MANY_CONCURRENCY_DEFAULT } from '../log/open-many.js';
import { Redex } from '../log/redex.js';
import { type NodeNameResolver, ReplicationMetrics } from '../replication/metrics.js';
import type { Clock } from '../time/clock.js';
import { systemClock } from '../time/system-clock.js';
import type { NodeId } from '../wire/types.js';
import type { HostPort } from './address.js';
import { ChannelRegistry } from './channel-registry.js';
import { ClusterNodeService, clusterFileConfig } from './cluster-service.js';
import type { NodeConfig } from './config.js';
import { NodeConfigError } from './errors.js';
import { type HttpTlsMaterial, NodeHttpServer, type NodeHttpServerOptions } from './http/server.js';
import { LocalNodeService } from './local-service.js';
import { type NodeLogger, silentLogger } from './logger.js';
import { type ResolvedMember, resolveMembers } from './members.js';
import { formatNodeId } from './node-id.js';
import { PidLock } from './pid-lock.js';
import type { NodeService } from './service.js';

/** Sub-directory of `dataDir` holding the channels' files (the registry and pid file sit beside it). */
export const CHANNELS_DIR = 'channels';

export interface StartNodeOptions {
  readonly logger?: NodeLogger;
  readonly clock?: Clock;
  /** Overrides `config.http.listen` (tests bind port 0). */
  readonly httpListen?: HostPort;
  /** HTTP tuning for tests (SSE heartbeat, status cadence). */
  readonly http?: Pick<
    NodeHttpServerOptions,
    'heartbeatMs' | 'statusIntervalMs' | 'statusPushMinMs'
  >;
  /** Mesh transport tuning for tests (ping period, reconnect delays). */
  readonly mesh?: Pick<
    MeshTransportTuning,
    'pingIntervalMs' | 'idleTimeoutMs' | 'reconnectBaseMs' | 'reconnectMaxMs'
  >;
  /**
   * Export prom-client's default process_* and nodejs_* series too. `redex serve` sets it; a
   * process embedding several nodes should set it on one of them at most.
   */
  readonly processMetrics?: boolean;
}

export interface RunningNode {
  readonly config: NodeConfig;
  readonly service: NodeService;
  readonly http: NodeHttpServer;
  /** The API's base URL, e.g. `http://127.0.0.1:7070`. */
  readonly url: string;
  /** Stops taking writes, flushes and fsyncs every channel, closes the API; idempotent. */
  stop(): Promise<void>;
}

export async function startNode(
  config: NodeConfig,
  options: StartNodeOptions = {},
): Promise<RunningNode> {
  const logger = options.logger ?? silentLogger;
  const clock = options.clock ?? systemClock;
  const cleanup: (() => Promise<void>)[] = [];
  const undo = async () => {
    for (const step of cleanup.reverse()) await step().catch(() => {});
  };
  try {
    await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
    const lock = await PidLock.acquire(config.dataDir);
    cleanup.push(() => lock.release());
    const { selfId, members } = await resolveMembers(config);
    const channelsDir = join(config.dataDir, CHANNELS_DIR);
    // More than one member: the mesh (mutual TLS) and replication, in the same Redex.
    const mesh = members.length > 1 ? await startMesh(config, members, channelsDir, options) : null;
    const redex = mesh?.redex ?? new Redex({ dir: channelsDir, clock });
    cleanup.push(() => mesh?.close() ?? redex.close());
    const specDefaults = {
      defaultPersistent: true,
      members: new Set(members.map((member) => member.name)),
    };
    const registry = await ChannelRegistry.open(config.dataDir, specDefaults);
    const local = new LocalNodeService({
      name: config.node,
      nodeId: selfId,
      redex,
      clock,
      members,
      registry,
      logger,
      retentionSweepMs: config.retentionSweepMs,
      ...(mesh === null
        ? {}
        : { metrics: mesh.mesh.metrics, fileConfig: (spec) => clusterFileConfig(spec, members) }),
    });
    const service =
      mesh === null
        ? local
        : new ClusterNodeService({
            local,
            node: mesh,
            members,
            clock,
            logger,
            forwardAuth: {
              token: config.http.token,
              tls: config.http.clientCerts ? await readTls(config) : null,
            },
          });
    cleanup.push(() => service.shutdown());
    // Thousands of channels open in bounded parallel: one open mostly waits on the disk.
    await mapBounded(config.channels, OPEN_MANY_CONCURRENCY_DEFAULT, (spec) =>
      service.createChannel(spec, { origin: 'config' }),
    );
    const configured = new Set(config.channels.map((spec) => spec.name));
    const remembered = registry.specs.filter((spec) => {
      if (!configured.has(spec.name)) return true;
      logger.warn(
        { channel: spec.name },
        'channel is in the config and the registry; the config wins',
      );
      return false;
    });
    await mapBounded(remembered, OPEN_MANY_CONCURRENCY_DEFAULT, (spec) =>
      service.createChannel(spec, { origin: 'registry' }),
    );
    const http = new NodeHttpServer({
      service,
      token: config.http.token,
      tls: config.http.clientCerts ? await readTls(config) : null,
      // Members (they forward creates to each other) and the configured client names.
      clientNames: [...members.map((member) => member.name), ...config.http.clientNames],
      hostNames: config.http.hosts,
      clock,
      logger,
      processMetrics: options.processMetrics === true,
      ...options.http,
    });
    cleanup.push(() => http.close());
    await http.listen(options.httpListen ?? config.http.listen);
    service.advertiseHttp(http.url);
    logger.info(
      {
        url: http.url,
        dataDir: config.dataDir,
        channels: config.channels.length + registry.specs.length,
        ...(mesh === null
          ? {}
          : { mesh: formatMeshAddress(mesh.address), members: members.length }),
      },
      'node started',
    );
    let stopping: Promise<void> | null = null;
    return {
      config,
      service,
      http,
      url: http.url,
      stop: () => {
        stopping ??= (async () => {
          http.stopListening();
          await service.shutdown();
          await http.close();
          await lock.release();
          logger.info({}, 'node stopped');
        })();
        return stopping;
      },
    };
  } catch (error) {
    await undo();
    throw error;
  }
}

/** Starts the mesh node of a cluster member: credentials from `tls`, every member's NodeId. */
async function startMesh(
  config: NodeConfig,
  members: readonly ResolvedMember[],
  dataDir: string,
  options: StartNodeOptions,
): Promise<StartedMeshNode> {
  const tls = await readTls(config);
  const { listen, coalesceHeartbeats, nodeBeats } = config.mesh!;
  const logger = options.logger ?? silentLogger;
  return startMeshNode({
    credentials: { caCertPem: tls.ca, certPem: tls.cert, keyPem: tls.key },
    dataDir,
    listen: { host: listen.host, port: listen.port },
    coalesceHeartbeats,
    nodeBeats,
    members: members.map((member) => ({
      name: member.name,
      // resolveMembers has every NodeId in a cluster (the config requires nodeId or cert).
      nodeId: member.nodeId!,
      ...(member.mesh === null ? {} : { mesh: member.mesh }),
      // NOT_LEADER carries the leader's client address: its HTTP origin, which clients can use.
      ...(member.http === null ? {} : { client: member.http }),
    })),
    transport: {
      ...options.mesh,
      // A peer handler bug must not take the node down; it is logged instead.
      onHandlerError: (error) => logger.error({ err: error }, 'mesh handler failed'),
      onDuplicateIdentity: (event) =>
        logger.error(
          {
            peer: formatNodeId(event.nodeId),
            established: event.established,
            refused: event.refused,
          },
          'DUPLICATE IDENTITY: two processes present this member certificate; the connection from the newer address was refused — stop the impostor or the copy',
        ),
    },
    // Metric labels name peers and replicas by member name rather than by NodeId.
    metrics: new ReplicationMetrics({ nodeName: memberNames(members) }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
}

function memberNames(members: readonly ResolvedMember[]): NodeNameResolver {
  const byId = new Map<NodeId, string>();
  for (const member of members) if (member.nodeId !== null) byId.set(member.nodeId, member.name);
  return (id) => byId.get(id) ?? null;
}

async function readTls(config: NodeConfig): Promise<HttpTlsMaterial> {
  const tls = config.tls!;
  const read = async (field: string, path: string) => {
    try {
      return await readFile(path, 'utf8');
    } catch (error) {
      throw new NodeConfigError(
        `tls.${field}`,
        `${path} cannot be read: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  };
  return {
    ca: await read('ca', tls.ca),
    cert: await read('cert', tls.cert),
    key: await read('key', tls.key),
  };
}
