// Options, limits and addresses of `MeshTransport` (docs/MESH.md).
//
// Owns the transport's named limits, its defaults, the option and address types, and their
// validation: `checkTransportOptions` turns what a caller passed into checked settings (or
// throws a Config `MeshError`), `checkPeerAddress` does the same for one dial address.

import type { Clock } from '../time/clock.js';
import type { Random } from '../time/random.js';
import { isNodeId } from '../wire/ids.js';
import type { NodeId } from '../wire/types.js';
import { RECONNECT_DELAY_MS_MAX } from './backoff.js';
import type { ConnectionDirection, ConnectionLimits } from './connection.js';
import { checkIntegerOption, MeshError, MeshErrorReason } from './errors.js';
import { FRAME_BODY_BYTES_MAX, FRAME_HEADER_BYTES } from './framing.js';
import type { HandshakeGateLimits } from './handshake-gate.js';
import type { MeshCredentials } from './identity.js';

/** Peers remembered (connected or not); past it, the oldest disconnected entry is forgotten. */
export const PEERS_MAX = 1024;
/** Addresses the transport keeps dialing. */
export const DIAL_TARGETS_MAX = 1024;
/** Open TCP connections the server accepts at once (handshaking ones included). */
export const SERVER_CONNECTIONS_MAX = 4096;
/** Inbound connections in their TLS handshake, in all and from one address (oldest closed). */
export const HANDSHAKES_PENDING_MAX = 256;
export const HANDSHAKES_PENDING_PER_ADDRESS_MAX = 8;
/** Hard cap on the configurable pending write bytes per peer. */
export const PENDING_WRITE_BYTES_MAX = 1024 * 1024 * 1024;

export const MESH_DEFAULTS = {
  listenHost: '127.0.0.1',
  listenPort: 0,
  pingIntervalMs: 1_000,
  idleTimeoutMs: 10_000,
  // Short: a member's handshake takes milliseconds, and a stranger holds a slot this long.
  handshakeTimeoutMs: 5_000,
  reconnectBaseMs: 100,
  reconnectMaxMs: 5_000,
  closeTimeoutMs: 2_000,
  frameBodyBytesLimit: FRAME_BODY_BYTES_MAX,
  /** Two maximum frames: one being written while the next is queued. */
  pendingWriteBytesLimit: 2 * (FRAME_HEADER_BYTES + FRAME_BODY_BYTES_MAX),
} as const;

export interface MeshAddress {
  readonly host: string;
  readonly port: number;
}

export interface PeerAddress extends MeshAddress {
  /** The NodeId expected at this address; another node answering there is refused. */
  readonly nodeId?: NodeId;
}

export interface MeshTransportOptions {
  readonly credentials: MeshCredentials;
  readonly clock?: Clock;
  readonly random?: Random;
  /** Interface `listen()` binds (default 127.0.0.1). */
  readonly listenHost?: string;
  /** Port `listen()` binds; 0 picks an ephemeral port (default 0). */
  readonly listenPort?: number;
  /** Ping period per connection, 10..60000 (default 1000). */
  readonly pingIntervalMs?: number;
  /** A connection silent this long is destroyed; ≥ 2 ping periods, ≤ 600000 (default 10000). */
  readonly idleTimeoutMs?: number;
  /** TLS handshake (plus the acceptor's confirmation) deadline, 10..120000 (default 5000). */
  readonly handshakeTimeoutMs?: number;
  /** First reconnect delay, 1..60000 (default 100). */
  readonly reconnectBaseMs?: number;
  /** Reconnect delay cap, reconnectBaseMs..60000 (default 5000). */
  readonly reconnectMaxMs?: number;
  /** How long a retiring connection may take to close before it is destroyed (default 2000). */
  readonly closeTimeoutMs?: number;
  /** Largest frame body sent or accepted (default and maximum: FRAME_BODY_BYTES_MAX). */
  readonly frameBodyBytesLimit?: number;
  /** Bytes queued or buffered per connection before `send` drops (default 2 maximum frames). */
  readonly pendingWriteBytesLimit?: number;
  /** Inbound handshakes in progress (default 256 in all, 8 per address; tests lower them). */
  readonly pendingHandshakes?: HandshakeGateLimits;
  /**
   * Called (and counted) when a connection claims the NodeId of a peer already connected from
   * another address: two processes hold one identity. The established connection stays; the
   * newcomer is closed. For the node's log.
   */
  readonly onDuplicateIdentity?: (event: DuplicateIdentityEvent) => void;
  /** Membership filter: return false to refuse a peer (its connection is closed, counted). */
  readonly acceptPeer?: (nodeId: NodeId) => boolean;
  /** Receives exceptions thrown by frame and peer handlers (default: rethrown asynchronously). */
  readonly onHandlerError?: (error: unknown) => void;
}

export interface DuplicateIdentityEvent {
  readonly nodeId: NodeId;
  /** Remote address of the connection kept. */
  readonly established: string | undefined;
  /** Remote address of the connection refused. */
  readonly refused: string | undefined;
  readonly direction: ConnectionDirection;
}

/** What `checkTransportOptions` found valid; the transport keeps these. */
export interface TransportSettings {
  readonly listenHost: string;
  readonly listenPort: number;
  readonly reconnectBaseMs: number;
  readonly reconnectMaxMs: number;
  readonly limits: ConnectionLimits;
}

/** Checks every option of `MeshTransport` except the credentials; throws on the first bad one. */
export function checkTransportOptions(options: MeshTransportOptions): TransportSettings {
  const o = { ...MESH_DEFAULTS, ...stripUndefined(options) };
  const owner = 'MeshTransport';
  if (typeof o.listenHost !== 'string' || o.listenHost.length === 0) {
    throw new MeshError(MeshErrorReason.Config, `${owner}: listenHost must be a non-empty string`);
  }
  checkIntegerOption(owner, 'listenPort', o.listenPort, 0, 65_535);
  checkIntegerOption(owner, 'pingIntervalMs', o.pingIntervalMs, 10, 60_000);
  checkIntegerOption(owner, 'idleTimeoutMs', o.idleTimeoutMs, 2 * o.pingIntervalMs, 600_000);
  checkIntegerOption(owner, 'handshakeTimeoutMs', o.handshakeTimeoutMs, 10, 120_000);
  checkIntegerOption(owner, 'reconnectBaseMs', o.reconnectBaseMs, 1, RECONNECT_DELAY_MS_MAX);
  checkIntegerOption(
    owner,
    'reconnectMaxMs',
    o.reconnectMaxMs,
    o.reconnectBaseMs,
    RECONNECT_DELAY_MS_MAX,
  );
  checkIntegerOption(owner, 'closeTimeoutMs', o.closeTimeoutMs, 1, 60_000);
  checkIntegerOption(owner, 'frameBodyBytesLimit', o.frameBodyBytesLimit, 64, FRAME_BODY_BYTES_MAX);
  checkIntegerOption(
    owner,
    'pendingWriteBytesLimit',
    o.pendingWriteBytesLimit,
    FRAME_HEADER_BYTES + o.frameBodyBytesLimit,
    PENDING_WRITE_BYTES_MAX,
  );
  for (const field of ['acceptPeer', 'onHandlerError', 'onDuplicateIdentity'] as const) {
    if (options[field] !== undefined && typeof options[field] !== 'function') {
      throw new MeshError(MeshErrorReason.Config, `${owner}: ${field} must be a function`);
    }
  }
  return {
    listenHost: o.listenHost,
    listenPort: o.listenPort,
    reconnectBaseMs: o.reconnectBaseMs,
    reconnectMaxMs: o.reconnectMaxMs,
    limits: {
      frameBodyBytesLimit: o.frameBodyBytesLimit,
      pendingWriteBytesLimit: o.pendingWriteBytesLimit,
      pingIntervalMs: o.pingIntervalMs,
      idleTimeoutMs: o.idleTimeoutMs,
      handshakeTimeoutMs: o.handshakeTimeoutMs,
      closeTimeoutMs: o.closeTimeoutMs,
    },
  };
}

/** Checks a dial address; returns its parts. */
export function checkPeerAddress(address: PeerAddress): {
  host: string;
  port: number;
  nodeId: NodeId | undefined;
} {
  if (typeof address !== 'object' || address === null) {
    throw new MeshError(MeshErrorReason.Config, 'peer address must be { host, port }');
  }
  const { host, port, nodeId } = address;
  if (typeof host !== 'string' || host.length === 0 || host.length > 255) {
    throw new MeshError(MeshErrorReason.Config, `peer host must be a non-empty string`);
  }
  checkIntegerOption('peer address', 'port', port, 1, 65_535);
  if (nodeId !== undefined && !isNodeId(nodeId)) {
    throw new MeshError(MeshErrorReason.Config, 'peer nodeId must be a u64 bigint other than 0');
  }
  return { host, port, nodeId };
}

/** The key of a dial target, also the address shown in messages and snapshots. */
export function addressKey(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [key, field] of Object.entries(value)) {
    if (field !== undefined) (out as Record<string, unknown>)[key] = field;
  }
  return out;
}
