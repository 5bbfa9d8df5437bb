// `startMeshNode`: one replicating node from a small description (cluster membership from
// configuration). This is the composition layer: it sits above the log, replication and the mesh
// and wires them together, so none of those layers has to know how the others are built. Tests,
// the e2e fixture and the daemon call it so that starting a node is a few lines: it reads the
// certificates, resolves every member's NodeId (given, or from the member's certificate file),
// builds the mutual-TLS transport (refusing non-members at connect time), the MeshNode with the
// members' client addresses, and a Redex with replication enabled (`enableReplication`); then it
// listens and dials every member that has a mesh address. Opening channels is the caller's
// business (`node.redex.openFile(name, { replication })`).

import { join } from 'node:path';
import { Redex } from '../log/redex.js';
import { loadNodeCredentials, nodeIdOfCertFile } from '../mesh/certs.js';
import { MeshError, MeshErrorReason } from '../mesh/errors.js';
import { checkCredentials, type MeshCredentials } from '../mesh/identity.js';
import { MeshNode, memberPredicate } from '../mesh/mesh-node.js';
import { type MeshAddress, MeshTransport, type MeshTransportOptions } from '../mesh/transport.js';
import { enableReplication } from '../replication/enable.js';
import type { ReplicationMetrics } from '../replication/metrics.js';
import type { Replicator } from '../replication/replicator.js';
import type { Clock } from '../time/clock.js';
import type { Random } from '../time/random.js';
import { isNodeId, nodeIdToHex } from '../wire/ids.js';
import type { NodeId } from '../wire/types.js';

/** One cluster member as configured. */
export interface MeshMemberSpec {
  /** Its certificate name: without `nodeId`, the NodeId is read from `<certsDir>/<name>.crt`. */
  readonly name?: string;
  readonly nodeId?: NodeId;
  /** Where peers dial its mesh port (`host:port`, `[v6]:port` or an object); absent: not dialed. */
  readonly mesh?: string | MeshAddress;
  /** Where clients reach it, carried by NOT_LEADER errors (default: its mesh address). */
  readonly client?: string;
}

/** Transport settings the description may tune (identity, listening and membership are set here). */
export type MeshTransportTuning = Omit<
  MeshTransportOptions,
  'credentials' | 'listenHost' | 'listenPort' | 'acceptPeer' | 'clock' | 'random'
>;

export interface MeshNodeSpec {
  /** This node's certificate name: `<certsDir>/<name>.crt` and `.key`, with `<certsDir>/ca.crt`. */
  readonly name?: string;
  readonly certsDir?: string;
  /** The PEM material itself, instead of `certsDir` + `name`. */
  readonly credentials?: MeshCredentials;
  /** Mesh listening address (default 127.0.0.1, port 0 = ephemeral). */
  readonly listen?: { readonly host?: string; readonly port?: number };
  /** Directory for persistent channels; absent: every channel is in memory. */
  readonly dataDir?: string;
  /** The whole cluster; this node may be listed (matched by NodeId) or not. */
  readonly members: readonly MeshMemberSpec[];
  readonly transport?: MeshTransportTuning;
  readonly clock?: Clock;
  readonly random?: Random;
  readonly metrics?: ReplicationMetrics;
  readonly nicPeakBps?: number;
  /**
   * Heartbeats batched per peer on one tick grid (MeshNodeOptions.coalesceHeartbeats); default
   * true, false for one frame per heartbeat and one timer per channel.
   */
  readonly coalesceHeartbeats?: boolean;
  /** Node beats (MeshNodeOptions.nodeBeats); default true, with `coalesceHeartbeats`. */
  readonly nodeBeats?: boolean;
  /** TEST ONLY: lowers the heartbeat floor of replication configs (see `enableReplication`). */
  readonly testOnlyHeartbeatMsMin?: number;
}

export interface ResolvedMeshMember {
  readonly name: string | undefined;
  readonly nodeId: NodeId;
  readonly mesh: MeshAddress | null;
  readonly client: string | null;
  readonly self: boolean;
}

export interface StartedMeshNode {
  readonly nodeId: NodeId;
  readonly name: string | undefined;
  /** The bound mesh address (the real port when 0 was asked for). */
  readonly address: MeshAddress;
  readonly transport: MeshTransport;
  readonly mesh: MeshNode;
  readonly redex: Redex;
  /** The replication layer installed on `redex` (its replicated channels, metrics). */
  readonly replicator: Replicator;
  readonly members: readonly ResolvedMeshMember[];
  /** Closes the Redex (channels withdraw their chain tags), then the mesh node and transport. */
  close(): Promise<void>;
}

function configError(message: string): MeshError {
  return new MeshError(MeshErrorReason.Config, `startMeshNode: ${message}`);
}

/** `host:port`, `[v6]:port` or `{ host, port }` → a checked address. */
export function parseMeshAddress(value: string | MeshAddress, field = 'address'): MeshAddress {
  let host: string;
  let port: number;
  if (typeof value === 'string') {
    const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
    if (match === null)
      throw configError(`${field} must be host:port, got ${JSON.stringify(value)}`);
    host = match[1] ?? match[2]!;
    port = Number(match[3]);
  } else if (typeof value === 'object' && value !== null) {
    ({ host, port } = value);
  } else {
    throw configError(`${field} must be host:port or { host, port }`);
  }
  if (typeof host !== 'string' || host.length === 0) throw configError(`${field}: empty host`);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw configError(`${field}: port must be 1..65535, got ${String(port)}`);
  }
  return { host, port };
}

export function formatMeshAddress(address: MeshAddress): string {
  return address.host.includes(':')
    ? `[${address.host}]:${address.port}`
    : `${address.host}:${address.port}`;
}

async function resolveCredentials(spec: MeshNodeSpec): Promise<MeshCredentials> {
  if (spec.credentials !== undefined) return spec.credentials;
  if (spec.certsDir === undefined || spec.name === undefined) {
    throw configError('give credentials, or certsDir and name');
  }
  return loadNodeCredentials(spec.certsDir, spec.name);
}

async function resolveMembers(spec: MeshNodeSpec, selfId: NodeId): Promise<ResolvedMeshMember[]> {
  if (!Array.isArray(spec.members)) throw configError('members must be an array');
  const resolved: ResolvedMeshMember[] = [];
  const seen = new Set<NodeId>();
  for (const [index, member] of spec.members.entries()) {
    const field = `members[${index}]`;
    let nodeId = member.nodeId;
    if (nodeId === undefined) {
      if (member.name !== undefined && member.name === spec.name) nodeId = selfId;
      else if (member.name !== undefined && spec.certsDir !== undefined) {
        nodeId = await nodeIdOfCertFile(join(spec.certsDir, `${member.name}.crt`));
      } else throw configError(`${field} needs a nodeId, or a name with certsDir`);
    }
    if (!isNodeId(nodeId)) throw configError(`${field}.nodeId is not a NodeId`);
    if (seen.has(nodeId)) throw configError(`${field} repeats node ${nodeIdToHex(nodeId)}`);
    seen.add(nodeId);
    const mesh = member.mesh === undefined ? null : parseMeshAddress(member.mesh, `${field}.mesh`);
    if (member.client !== undefined && typeof member.client !== 'string') {
      throw configError(`${field}.client must be a string`);
    }
    resolved.push({
      name: member.name,
      nodeId,
      mesh,
      client: member.client ?? (mesh === null ? null : formatMeshAddress(mesh)),
      self: nodeId === selfId,
    });
  }
  return resolved;
}

/** Builds, listens and dials: see the header. Everything started is closed again on failure. */
export async function startMeshNode(spec: MeshNodeSpec): Promise<StartedMeshNode> {
  if (typeof spec !== 'object' || spec === null) throw configError('spec must be an object');
  const credentials = await resolveCredentials(spec);
  const selfId = checkCredentials(credentials).nodeId;
  const members = await resolveMembers(spec, selfId);
  const memberIds = members.map((member) => member.nodeId);
  const addresses = new Map<NodeId, string>();
  for (const member of members)
    if (member.client !== null) addresses.set(member.nodeId, member.client);

  const transport = new MeshTransport({
    ...spec.transport,
    credentials,
    listenHost: spec.listen?.host ?? '127.0.0.1',
    listenPort: spec.listen?.port ?? 0,
    acceptPeer: memberPredicate(memberIds, selfId),
    ...(spec.clock === undefined ? {} : { clock: spec.clock }),
    ...(spec.random === undefined ? {} : { random: spec.random }),
  });
  let mesh: MeshNode | null = null;
  try {
    mesh = new MeshNode({
      transport,
      members: memberIds,
      addresses,
      ...(spec.metrics === undefined ? {} : { metrics: spec.metrics }),
      ...(spec.clock === undefined ? {} : { clock: spec.clock }),
      ...(spec.nicPeakBps === undefined ? {} : { nicPeakBps: spec.nicPeakBps }),
      ...(spec.coalesceHeartbeats === undefined
        ? {}
        : { coalesceHeartbeats: spec.coalesceHeartbeats }),
      ...(spec.nodeBeats === undefined ? {} : { nodeBeats: spec.nodeBeats }),
    });
    const redex = new Redex({
      ...(spec.dataDir === undefined ? {} : { dir: spec.dataDir }),
      ...(spec.clock === undefined ? {} : { clock: spec.clock }),
      ...(spec.random === undefined ? {} : { random: spec.random }),
    });
    const replicator = enableReplication(
      redex,
      mesh,
      spec.testOnlyHeartbeatMsMin === undefined
        ? {}
        : { testOnlyHeartbeatMsMin: spec.testOnlyHeartbeatMsMin },
    );
    const address = await transport.listen();
    for (const member of members) {
      if (!member.self && member.mesh !== null) {
        transport.addPeer({ ...member.mesh, nodeId: member.nodeId });
      }
    }
    const node = mesh;
    let closing: Promise<void> | null = null;
    return {
      nodeId: selfId,
      name: spec.name,
      address,
      transport,
      mesh: node,
      redex,
      replicator,
      members,
      close() {
        closing ??= (async () => {
          try {
            await redex.close();
          } finally {
            await node.close();
          }
        })();
        return closing;
      },
    };
  } catch (error) {
    await (mesh?.close() ?? transport.close()).catch(() => {});
    throw error;
  }
}
