// Cluster members with their NodeIds settled: given in the config, or derived from a certificate
// file (`members[i].cert`, or this node's `tls.cert`). Also turns a NOT_LEADER error, which names
// the leader by NodeId and mesh address, into the leader's HTTP origin for a redirect.

import { readFile } from 'node:fs/promises';
import type { NotLeaderError } from '../log/errors.js';
import { nodeIdFromCertificate } from '../mesh/identity.js';
import type { NodeId } from '../wire/types.js';
import { formatHostPort } from './address.js';
import type { NodeConfig } from './config.js';
import { NodeConfigError } from './errors.js';
import { formatNodeId } from './node-id.js';
import type { LeaderHint } from './service.js';

export interface ResolvedMember {
  readonly name: string;
  readonly nodeId: NodeId | null;
  /** `host:port` */
  readonly mesh: string | null;
  /** HTTP origin */
  readonly http: string | null;
}

async function certNodeId(path: string, field: string): Promise<NodeId> {
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (error) {
    throw new NodeConfigError(field, `${path} cannot be read: ${(error as Error).message}`, {
      cause: error,
    });
  }
  try {
    return nodeIdFromCertificate(pem);
  } catch (error) {
    throw new NodeConfigError(
      field,
      `${path} is not a node certificate: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

/** This node's NodeId (from `tls.cert`) and every member's, checked against each other. */
export async function resolveMembers(
  config: NodeConfig,
): Promise<{ selfId: NodeId | null; members: ResolvedMember[] }> {
  const selfId = config.tls === null ? null : await certNodeId(config.tls.cert, 'tls.cert');
  const members: ResolvedMember[] = [];
  for (const [index, member] of config.members.entries()) {
    const field = `members[${index}]`;
    let nodeId = member.nodeId;
    const fromCert =
      member.cert !== null
        ? await certNodeId(member.cert, `${field}.cert`)
        : member.name === config.node
          ? selfId
          : null;
    if (nodeId !== null && fromCert !== null && nodeId !== fromCert) {
      throw new NodeConfigError(
        `${field}.nodeId`,
        `is ${formatNodeId(nodeId)} but the certificate says ${formatNodeId(fromCert)}`,
      );
    }
    nodeId ??= fromCert;
    members.push({
      name: member.name,
      nodeId,
      mesh: member.mesh === null ? null : formatHostPort(member.mesh),
      http: member.http,
    });
  }
  return { selfId, members };
}

/**
 * The leader named by a NOT_LEADER error, looked up by NodeId, then by mesh address. A host may
 * also put the leader's HTTP origin itself in the error (`ReplicationHost.addressOf`); an
 * address that is an http(s) URL is used as is when no member matches.
 */
export function leaderHint(error: NotLeaderError, members: readonly ResolvedMember[]): LeaderHint {
  const address = error.leaderAddress;
  const member =
    (error.leaderNodeId === null
      ? undefined
      : members.find((candidate) => candidate.nodeId === error.leaderNodeId)) ??
    (address === null
      ? undefined
      : members.find((candidate) => candidate.mesh === address || candidate.http === address));
  const nodeId = error.leaderNodeId ?? member?.nodeId ?? null;
  return {
    name: member?.name ?? null,
    nodeId: nodeId === null ? null : formatNodeId(nodeId),
    http: member?.http ?? (address !== null && /^https?:\/\//.test(address) ? address : null),
  };
}
