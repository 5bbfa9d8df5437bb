// The peer table and dial targets of `MeshTransport`, as data (docs/MESH.md).
//
// Owns the shape of a peer entry (NodeId → the one connection in use, counters, RTT) and of a
// dial target, and the plain functions over them: admitting a new entry within PEERS_MAX,
// naming a socket's peer from its verified certificate, choosing which of two connections to a
// peer stays, refusing a second process that holds a member's identity, and the snapshots shown
// outside. The transport, its dialer and its accept path call these; they hold no state.

import type tls from 'node:tls';
import type { NodeId } from '../wire/types.js';
import type { Connection, ConnectionDirection, ConnectionState } from './connection.js';
import { nodeIdFromCertificate } from './identity.js';
import { hostOf, isNodeCertificate } from './peer-checks.js';
import type { DuplicateIdentityEvent } from './transport-options.js';
import {
  copyPeerStats,
  emptyPeerStats,
  type PeerSnapshot,
  type PeerStats,
  type TransportStats,
} from './types.js';

/** One socket as seen from outside (status pages, tests). */
export interface ConnectionInfo {
  readonly id: number;
  readonly direction: ConnectionDirection;
  readonly state: ConnectionState;
  /** Null until the TLS handshake named the peer. */
  readonly peerId: NodeId | null;
  readonly localPort: number | undefined;
  readonly remotePort: number | undefined;
}

export interface PeerEntry {
  readonly nodeId: NodeId;
  readonly stats: PeerStats;
  /** The connection frames go out on; null while the peer is down. */
  current: Connection | null;
  /** Dialed connections between TLS success and the acceptor's confirmation. */
  pendingDials: number;
  /** `current` closed while a pending dial might replace it: hold the down event. */
  downDeferred: boolean;
  rttMs: number | null;
  rttSmoothedMs: number | null;
  address: string | undefined;
}

export interface DialTarget {
  readonly key: string;
  readonly host: string;
  readonly port: number;
  readonly expectedId: NodeId | undefined;
  /** The NodeId last found at this address (pinned or learned). */
  knownId: NodeId | undefined;
  /** Consecutive failed attempts since the last confirmed connection. */
  failures: number;
  dialed: boolean;
  timer: { cancel(): void } | null;
  connection: Connection | null;
}

/** A fresh entry for a peer with no connection yet. */
export function newPeerEntry(peerId: NodeId): PeerEntry {
  return {
    nodeId: peerId,
    stats: emptyPeerStats(),
    current: null,
    pendingDials: 0,
    downDeferred: false,
    rttMs: null,
    rttSmoothedMs: null,
    address: undefined,
  };
}

/** Drops the oldest peer entry with no connection at all; false if every entry is busy. */
export function forgetOnePeer(
  peers: Map<NodeId, PeerEntry>,
  connections: ReadonlySet<Connection>,
): boolean {
  const busy = new Set<NodeId>();
  for (const connection of connections) {
    if (connection.peerId !== null) busy.add(connection.peerId);
  }
  for (const nodeId of peers.keys()) {
    if (!busy.has(nodeId)) {
      peers.delete(nodeId);
      return true;
    }
  }
  return false;
}

/** The NodeId of the certificate TLS verified on `socket`, or null (counted) when unusable. */
export function peerIdOf(socket: tls.TLSSocket, stats: TransportStats): NodeId | null {
  const cert = socket.getPeerX509Certificate();
  if (cert === undefined) return null;
  if (!isNodeCertificate(cert)) {
    stats.peersRefused++;
    return null;
  }
  try {
    return nodeIdFromCertificate(cert);
  } catch {
    stats.badPeerKeys++;
    return null;
  }
}

/** Whether `candidate` should replace `current` (same answer on both ends of the pair). */
export function prefersCandidate(
  candidate: Connection,
  current: Connection,
  localId: NodeId,
): boolean {
  if (candidate.direction === current.direction) return true;
  const dialer = (c: Connection) => (c.direction === 'dialed' ? localId : c.peerId!);
  return dialer(candidate) < dialer(current);
}

/**
 * Two live connections for one NodeId from different addresses are two processes with one
 * identity (a copied key, a clone started by mistake), not a reconnect: a reconnecting peer
 * comes from the address it had. Letting the newcomer replace the established connection made
 * the two displace each other without end, and handed the log to whichever held the slot. The
 * established one stays; the newcomer is closed, counted and reported.
 */
export function refuseImpostor(
  candidate: Connection,
  current: Connection,
  stats: TransportStats,
  onDuplicateIdentity: ((event: DuplicateIdentityEvent) => void) | undefined,
  onHandlerError: ((error: unknown) => void) | undefined,
): boolean {
  const established = hostOf(current.socket.remoteAddress);
  const refused = hostOf(candidate.socket.remoteAddress);
  if (established === undefined || refused === undefined || established === refused) {
    return false;
  }
  stats.duplicateIdentities++;
  candidate.destroy('duplicate identity');
  try {
    onDuplicateIdentity?.({
      nodeId: candidate.peerId!,
      established,
      refused,
      direction: candidate.direction,
    });
  } catch (error) {
    onHandlerError?.(error);
  }
  return true;
}

export function describeConnection(connection: Connection): ConnectionInfo {
  return {
    id: connection.id,
    direction: connection.direction,
    state: connection.state,
    peerId: connection.peerId,
    localPort: connection.socket.localPort,
    remotePort: connection.socket.remotePort,
  };
}

export function compareIds(a: NodeId, b: NodeId): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function peerSnapshot(entry: PeerEntry): PeerSnapshot {
  return {
    nodeId: entry.nodeId,
    connected: entry.current !== null,
    rttMs: entry.rttMs,
    rttSmoothedMs: entry.rttSmoothedMs,
    address: entry.address,
    stats: copyPeerStats(entry.stats),
  };
}

/** What the accept path and the dialer need from the transport; kept off its public surface. */
export interface TransportCore {
  readonly localId: NodeId;
  readonly stats: TransportStats;
  /** True once `close()` was called. */
  isClosing(): boolean;
  isConnected(peer: NodeId): boolean;
  /** Whether `peerId` may have a connection; makes its peer table entry. */
  admit(peerId: NodeId): PeerEntry | null;
  /** A `Connection` over `socket`, tracked by the transport. */
  newConnection(socket: tls.TLSSocket, direction: ConnectionDirection): Connection;
}
