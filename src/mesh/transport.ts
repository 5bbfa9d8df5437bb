// MeshTransport: the production `Transport`, mutual TLS 1.3 over TCP (docs/MESH.md). DEV DOCS:
//
// Owns the listening server, the dial targets (addresses it keeps reconnecting to), the peer
// table (NodeId → the one connection in use, counters, RTT) and every live `Connection`.
// The runtime above owns what frames mean; this file only moves them.
//
// Identity: both sides present certificates chained to the cluster CA (`requestCert`,
// `rejectUnauthorized`, TLS 1.3 only). A peer's NodeId is computed from the public key of the
// certificate TLS verified; nothing a peer sends can change it. Host names are not checked: every
// certificate the private cluster CA signed is a cluster node, and the NodeId is what matters.
// A dial target may pin the NodeId it expects; a different node at that address is refused.
//
// One connection per pair: when a second connection to the same peer opens, the one dialed by
// the lower NodeId wins (both ends compute the same answer) and the other is retired gracefully
// (flushed, closed, its in-flight frames still delivered). Between two connections dialed by the
// same side, the newer wins: that side only redials when it believes the old one dead.
//
// Reconnects: each dial target redials with capped exponential backoff and jitter while its peer
// is not connected through any connection. Time and randomness come from the injected Clock and
// Random; the only timers not on the Clock are Node's own TLS handshake timeout on the server.

import type { AddressInfo, Socket } from 'node:net';
import tls from 'node:tls';
import type { Clock } from '../time/clock.js';
import type { Random } from '../time/random.js';
import { systemRandom } from '../time/random.js';
import { systemClock } from '../time/system-clock.js';
import { isNodeId, nodeIdToHex } from '../wire/ids.js';
import type { NodeId } from '../wire/types.js';
import { backoffDelayMs, RECONNECT_DELAY_MS_MAX } from './backoff.js';
import {
  Connection,
  type ConnectionDirection,
  type ConnectionLimits,
  type ConnectionOwner,
  type ConnectionState,
} from './connection.js';
import { checkSendableFrame } from './control.js';
import { checkIntegerOption, MeshError, MeshErrorReason } from './errors.js';
import { FRAME_BODY_BYTES_MAX, FRAME_HEADER_BYTES } from './framing.js';
import { HandlerList } from './handler-list.js';
import { HandshakeGate, type HandshakeGateLimits } from './handshake-gate.js';
import {
  checkCredentials,
  type MeshCredentials,
  type NodeIdentity,
  nodeIdFromCertificate,
} from './identity.js';
import { hostOf, isNodeCertificate } from './peer-checks.js';
import {
  copyPeerStats,
  copyTransportStats,
  DropReason,
  emptyPeerStats,
  emptyTransportStats,
  type FrameHandler,
  type PeerEvent,
  type PeerHandler,
  type PeerSnapshot,
  type PeerStats,
  smoothRtt,
  type Transport,
  type TransportStats,
} from './types.js';

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

interface PeerEntry {
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

interface DialTarget {
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

function addressKey(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export class MeshTransport implements Transport {
  readonly localId: NodeId;
  readonly identity: NodeIdentity;
  readonly #credentials: MeshCredentials;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #limits: ConnectionLimits;
  readonly #listenHost: string;
  readonly #listenPort: number;
  readonly #reconnectBaseMs: number;
  readonly #reconnectMaxMs: number;
  readonly #acceptPeer: ((nodeId: NodeId) => boolean) | undefined;
  readonly #onHandlerError: ((error: unknown) => void) | undefined;
  readonly #onDuplicateIdentity: ((event: DuplicateIdentityEvent) => void) | undefined;
  readonly #secureContext: tls.SecureContext;
  readonly #stats: TransportStats = emptyTransportStats();
  readonly #gate: HandshakeGate;
  readonly #peers = new Map<NodeId, PeerEntry>();
  readonly #targets = new Map<string, DialTarget>();
  readonly #connections = new Set<Connection>();
  // Peers cut off by the fault hook (`blockPeer`); bounded by PEERS_MAX.
  readonly #blocked = new Set<NodeId>();
  readonly #frameHandlers = new HandlerList<FrameHandler>();
  readonly #peerHandlers = new HandlerList<PeerHandler>();
  #server: tls.Server | null = null;
  #listening: Promise<MeshAddress> | null = null;
  #address: MeshAddress | null = null;
  #closing: Promise<void> | null = null;
  #drained: (() => void) | null = null;
  #nextConnectionId = 1;
  // What connections see of us; kept off the public surface.
  readonly #owner: ConnectionOwner;

  constructor(options: MeshTransportOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new MeshError(MeshErrorReason.Config, 'MeshTransport: options must be an object');
    }
    this.identity = checkCredentials(options.credentials);
    const { caCertPem, certPem, keyPem } = options.credentials;
    this.#credentials = { caCertPem, certPem, keyPem };
    this.localId = this.identity.nodeId;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? systemRandom;
    const o = { ...MESH_DEFAULTS, ...stripUndefined(options) };
    const owner = 'MeshTransport';
    if (typeof o.listenHost !== 'string' || o.listenHost.length === 0) {
      throw new MeshError(
        MeshErrorReason.Config,
        `${owner}: listenHost must be a non-empty string`,
      );
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
    checkIntegerOption(
      owner,
      'frameBodyBytesLimit',
      o.frameBodyBytesLimit,
      64,
      FRAME_BODY_BYTES_MAX,
    );
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
    this.#listenHost = o.listenHost;
    this.#listenPort = o.listenPort;
    this.#reconnectBaseMs = o.reconnectBaseMs;
    this.#reconnectMaxMs = o.reconnectMaxMs;
    this.#acceptPeer = options.acceptPeer;
    this.#onHandlerError = options.onHandlerError;
    this.#onDuplicateIdentity = options.onDuplicateIdentity;
    this.#gate = new HandshakeGate(
      options.pendingHandshakes ?? {
        totalMax: HANDSHAKES_PENDING_MAX,
        perAddressMax: HANDSHAKES_PENDING_PER_ADDRESS_MAX,
      },
      () => this.#stats.handshakesEvicted++,
    );
    this.#limits = {
      frameBodyBytesLimit: o.frameBodyBytesLimit,
      pendingWriteBytesLimit: o.pendingWriteBytesLimit,
      pingIntervalMs: o.pingIntervalMs,
      idleTimeoutMs: o.idleTimeoutMs,
      handshakeTimeoutMs: o.handshakeTimeoutMs,
      closeTimeoutMs: o.closeTimeoutMs,
    };
    this.#secureContext = tls.createSecureContext({
      ...this.#tlsMaterial(),
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
    });
    this.#owner = {
      clock: this.#clock,
      stats: this.#stats,
      connectionOpen: (c: Connection) => this.#onOpen(c),
      connectionFrame: (c: Connection, body: Uint8Array) => this.#onFrame(c, body),
      connectionRtt: (c: Connection, rttMs: number) => this.#onRtt(c, rttMs),
      connectionClosed: (c: Connection) => this.#onClosed(c),
    };
  }

  get closed(): boolean {
    return this.#closing !== null;
  }

  /** The bound address once `listen()` resolved, else null. */
  get address(): MeshAddress | null {
    return this.#address;
  }

  /** Live sockets, including handshaking and retiring ones (tests assert one per pair). */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Starts accepting connections; idempotent. Resolves with the bound address (real port). */
  listen(): Promise<MeshAddress> {
    if (this.#closing !== null) {
      return Promise.reject(new MeshError(MeshErrorReason.Closed, 'transport is closed'));
    }
    this.#listening ??= new Promise<MeshAddress>((resolve, reject) => {
      const server = tls.createServer({
        ...this.#tlsMaterial(),
        minVersion: 'TLSv1.3',
        maxVersion: 'TLSv1.3',
        requestCert: true,
        rejectUnauthorized: true,
        // The server owns the socket until the handshake ends, so its own timer is the only hook.
        handshakeTimeout: this.#limits.handshakeTimeoutMs,
      });
      server.maxConnections = SERVER_CONNECTIONS_MAX;
      server.on('connection', (socket: Socket) => this.#gate.admit(socket));
      server.on('secureConnection', (socket: tls.TLSSocket) => this.#onSecureConnection(socket));
      server.on('tlsClientError', (error: Error, socket: tls.TLSSocket) => {
        // Garbage, a foreign CA, an expired or missing client certificate all land here.
        if (/handshake timeout/i.test(error.message)) this.#stats.handshakeTimeouts++;
        else this.#stats.handshakeFailures++;
        socket.destroy();
      });
      const onListenError = (error: Error) => {
        reject(
          new MeshError(
            MeshErrorReason.Config,
            `cannot listen on ${addressKey(this.#listenHost, this.#listenPort)}: ${error.message}`,
            { cause: error },
          ),
        );
      };
      server.once('error', onListenError);
      server.listen(this.#listenPort, this.#listenHost, () => {
        server.off('error', onListenError);
        server.on('error', () => {}); // after bind, errors concern single sockets, handled there
        if (this.#closing !== null) {
          server.close(); // close() ran while we were binding
          reject(new MeshError(MeshErrorReason.Closed, 'transport closed while binding'));
          return;
        }
        const bound = server.address() as AddressInfo;
        this.#address = { host: bound.address, port: bound.port };
        resolve(this.#address);
      });
      this.#server = server;
    });
    return this.#listening;
  }

  /** Keeps a connection to `address`, redialing with backoff whenever its peer is down. */
  addPeer(address: PeerAddress): void {
    this.#checkOpen();
    const { host, port, nodeId } = this.#checkAddress(address);
    const key = addressKey(host, port);
    if (this.#targets.has(key)) return;
    if (this.#targets.size >= DIAL_TARGETS_MAX) {
      throw new MeshError(
        MeshErrorReason.Config,
        `at most ${DIAL_TARGETS_MAX} peer addresses can be dialed`,
      );
    }
    const target: DialTarget = {
      key,
      host,
      port,
      expectedId: nodeId,
      knownId: nodeId,
      failures: 0,
      dialed: false,
      timer: null,
      connection: null,
    };
    this.#targets.set(key, target);
    this.#maybeDial(target);
  }

  /** Stops dialing `address` and retires the connection made for it. */
  removePeer(address: MeshAddress): void {
    const { host, port } = this.#checkAddress(address);
    const target = this.#targets.get(addressKey(host, port));
    if (target === undefined) return;
    this.#targets.delete(target.key);
    target.timer?.cancel();
    target.timer = null;
    target.connection?.retire('peer removed');
  }

  /**
   * Fault hook (the e2e tests' partitions; also an operator's quarantine): cuts `peer` off. Its
   * connections are destroyed at once, losing what is in flight as a network partition would,
   * and new ones either way are refused (counted in `peersRefused`) until `unblockPeer`. Dial
   * targets keep retrying with backoff meanwhile.
   */
  blockPeer(peer: NodeId): void {
    this.#checkOpen();
    if (!isNodeId(peer)) {
      throw new MeshError(MeshErrorReason.Config, 'blockPeer: peer must be a NodeId');
    }
    if (!this.#blocked.has(peer) && this.#blocked.size >= PEERS_MAX) {
      throw new MeshError(MeshErrorReason.Config, `at most ${PEERS_MAX} peers can be blocked`);
    }
    this.#blocked.add(peer);
    for (const connection of [...this.#connections]) {
      if (connection.peerId === peer) connection.destroy('peer blocked (fault hook)');
    }
  }

  /** Ends a `blockPeer`: the addresses known to reach `peer` are redialed at once. */
  unblockPeer(peer: NodeId): void {
    if (!this.#blocked.delete(peer) || this.#closing !== null) return;
    for (const target of this.#targets.values()) {
      if (target.knownId !== peer) continue;
      target.failures = 0;
      target.timer?.cancel();
      target.timer = null;
      target.dialed = false; // the first attempt after a heal goes out without a backoff delay
      this.#maybeDial(target);
    }
  }

  /** Peers currently cut off by `blockPeer`, ascending. */
  blockedPeers(): NodeId[] {
    return [...this.#blocked].sort(compareIds);
  }

  send(to: NodeId, frame: Uint8Array): boolean {
    this.#checkFrame(frame);
    if (this.#closing !== null) {
      this.#stats.drops[DropReason.Closed]++;
      return false;
    }
    const entry = this.#peers.get(to);
    const connection = entry?.current ?? null;
    if (entry === undefined || connection === null) {
      this.#stats.drops[DropReason.NoConnection]++;
      if (entry !== undefined) entry.stats.drops[DropReason.NoConnection]++;
      return false;
    }
    if (!connection.enqueue(frame)) {
      this.#stats.drops[DropReason.Backpressure]++;
      entry.stats.drops[DropReason.Backpressure]++;
      return false;
    }
    return true;
  }

  onFrame(handler: FrameHandler): () => void {
    return this.#frameHandlers.add(handler, 'onFrame');
  }

  onPeer(handler: PeerHandler): () => void {
    return this.#peerHandlers.add(handler, 'onPeer');
  }

  isConnected(peer: NodeId): boolean {
    return (this.#peers.get(peer)?.current ?? null) !== null;
  }

  connectedPeers(): NodeId[] {
    const ids: NodeId[] = [];
    for (const entry of this.#peers.values()) if (entry.current !== null) ids.push(entry.nodeId);
    return ids.sort(compareIds);
  }

  peer(nodeId: NodeId): PeerSnapshot | undefined {
    const entry = this.#peers.get(nodeId);
    return entry === undefined ? undefined : snapshot(entry);
  }

  peers(): PeerSnapshot[] {
    return [...this.#peers.values()].sort((a, b) => compareIds(a.nodeId, b.nodeId)).map(snapshot);
  }

  /** The connection a peer currently uses: which side dialed it and its TCP ports. */
  connectionInfo(nodeId: NodeId): ConnectionInfo | undefined {
    const connection = this.#peers.get(nodeId)?.current;
    return connection === undefined || connection === null ? undefined : describe(connection);
  }

  /** Every live socket (handshaking, confirming, open, retiring), for status pages and tests. */
  connections(): ConnectionInfo[] {
    return [...this.#connections].map(describe);
  }

  stats(): TransportStats {
    return copyTransportStats(this.#stats);
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    for (const target of this.#targets.values()) target.timer?.cancel();
    this.#targets.clear();
    const drained = new Promise<void>((resolve) => {
      this.#drained = resolve;
    });
    for (const connection of [...this.#connections]) connection.retire('transport closed');
    if (this.#connections.size === 0) this.#drained?.();
    const server = this.#server;
    // Strangers mid-handshake would otherwise hold the close up until their handshake timeout.
    this.#gate.destroyAll();
    const serverClosed =
      server === null
        ? Promise.resolve()
        : new Promise<void>((resolve) => server.close(() => resolve()));
    await Promise.all([drained, serverClosed, this.#listening?.catch(() => undefined)]);
  }

  // -- inbound and outbound connections ------------------------------------------------------

  #tlsMaterial() {
    const { caCertPem, certPem, keyPem } = this.#credentials;
    return { ca: [caCertPem], cert: certPem, key: keyPem };
  }

  #newConnection(socket: tls.TLSSocket, direction: ConnectionDirection): Connection {
    const connection = new Connection(
      this.#owner,
      socket,
      direction,
      this.#nextConnectionId++,
      this.#limits,
    );
    this.#connections.add(connection);
    return connection;
  }

  /** The NodeId of the certificate TLS verified on `socket`, or null (counted) when unusable. */
  #peerIdOf(socket: tls.TLSSocket): NodeId | null {
    const cert = socket.getPeerX509Certificate();
    if (cert === undefined) return null;
    if (!isNodeCertificate(cert)) {
      this.#stats.peersRefused++;
      return null;
    }
    try {
      return nodeIdFromCertificate(cert);
    } catch {
      this.#stats.badPeerKeys++;
      return null;
    }
  }

  /** Whether `peerId` may have a connection; makes its peer table entry. */
  #admit(peerId: NodeId): PeerEntry | null {
    if (this.#blocked.has(peerId)) return null;
    if (this.#acceptPeer !== undefined && !this.#acceptPeer(peerId)) return null;
    let entry = this.#peers.get(peerId);
    if (entry !== undefined) return entry;
    if (this.#peers.size >= PEERS_MAX && !this.#forgetOnePeer()) return null;
    entry = {
      nodeId: peerId,
      stats: emptyPeerStats(),
      current: null,
      pendingDials: 0,
      downDeferred: false,
      rttMs: null,
      rttSmoothedMs: null,
      address: undefined,
    };
    this.#peers.set(peerId, entry);
    return entry;
  }

  /** Drops the oldest peer entry with no connection at all; false if every entry is busy. */
  #forgetOnePeer(): boolean {
    const busy = new Set<NodeId>();
    for (const connection of this.#connections) {
      if (connection.peerId !== null) busy.add(connection.peerId);
    }
    for (const nodeId of this.#peers.keys()) {
      if (!busy.has(nodeId)) {
        this.#peers.delete(nodeId);
        return true;
      }
    }
    return false;
  }

  #onSecureConnection(socket: tls.TLSSocket): void {
    socket.on('error', () => {}); // until a Connection takes over, resets must not crash us
    this.#gate.done(socket);
    if (this.#closing !== null) {
      socket.destroy();
      return;
    }
    if (!socket.authorized) {
      // rejectUnauthorized makes this unreachable; kept so a config slip cannot admit anyone.
      this.#stats.handshakeFailures++;
      socket.destroy();
      return;
    }
    const peerId = this.#peerIdOf(socket);
    if (peerId === null) {
      socket.destroy();
      return;
    }
    if (peerId === this.localId) {
      this.#stats.selfConnections++;
      socket.destroy();
      return;
    }
    const entry = this.#admit(peerId);
    if (entry === null) {
      this.#stats.peersRefused++;
      socket.destroy();
      return;
    }
    this.#stats.connectionsAccepted++;
    this.#gate.memberAt(socket);
    const connection = this.#newConnection(socket, 'accepted');
    connection.identify(peerId, entry.stats);
    connection.openAccepted();
  }

  #maybeDial(target: DialTarget): void {
    if (this.#closing !== null || target.timer !== null || target.connection !== null) return;
    if (!this.#targets.has(target.key)) return;
    if (target.knownId !== undefined && this.isConnected(target.knownId)) return;
    const delayMs = target.dialed
      ? backoffDelayMs(target.failures, this.#reconnectBaseMs, this.#reconnectMaxMs, this.#random)
      : 0;
    target.timer = this.#clock.setTimer(delayMs, () => {
      target.timer = null;
      this.#dial(target);
    });
  }

  #dial(target: DialTarget): void {
    if (this.#closing !== null || !this.#targets.has(target.key)) return;
    if (target.knownId !== undefined && this.isConnected(target.knownId)) return;
    target.dialed = true;
    const socket = tls.connect({
      host: target.host,
      port: target.port,
      secureContext: this.#secureContext,
      rejectUnauthorized: true,
      // Identity is the certificate's key (checked below), not a host name: see the header.
      checkServerIdentity: () => undefined,
    });
    const connection = this.#newConnection(socket, 'dialed');
    connection.target = target;
    target.connection = connection;
    socket.once('secureConnect', () => this.#onDialSecure(connection, target));
  }

  #onDialSecure(connection: Connection, target: DialTarget): void {
    if (connection.state !== 'handshaking') return;
    const peerId = this.#peerIdOf(connection.socket);
    if (peerId === null) {
      connection.destroy('bad peer key');
      return;
    }
    if (peerId === this.localId) {
      this.#stats.selfConnections++;
      connection.destroy('self');
      return;
    }
    if (target.expectedId !== undefined && peerId !== target.expectedId) {
      this.#stats.unexpectedPeers++;
      connection.destroy(
        `expected ${nodeIdToHex(target.expectedId)} at ${target.key}, found ${nodeIdToHex(peerId)}`,
      );
      return;
    }
    const entry = this.#admit(peerId);
    if (entry === null) {
      this.#stats.peersRefused++;
      connection.destroy('peer refused');
      return;
    }
    // The server's certificate proved who is at this address, even if it never confirms us.
    target.knownId = peerId;
    entry.pendingDials++;
    connection.identify(peerId, entry.stats);
  }

  #onOpen(connection: Connection): void {
    const entry = this.#peers.get(connection.peerId!)!;
    if (connection.direction === 'dialed') {
      entry.pendingDials--;
      this.#stats.connectionsDialed++;
      const target = connection.target as DialTarget;
      target.failures = 0;
      entry.address = target.key;
    }
    if (this.#closing !== null) {
      connection.retire('transport closed');
      return;
    }
    const current = entry.current;
    if (current === null) {
      entry.current = connection;
      if (entry.downDeferred) {
        entry.downDeferred = false; // a replacement arrived in time: the peer never looked down
      } else {
        entry.stats.ups++;
        this.#emitPeer({ kind: 'up', nodeId: entry.nodeId });
      }
      return;
    }
    if (this.#impostor(connection, current)) return;
    this.#stats.duplicatesClosed++;
    if (this.#prefer(connection, current)) {
      entry.current = connection;
      current.retire('duplicate connection');
    } else {
      connection.retire('duplicate connection');
    }
  }

  /**
   * Two live connections for one NodeId from different addresses are two processes with one
   * identity (a copied key, a clone started by mistake), not a reconnect: a reconnecting peer
   * comes from the address it had. Letting the newcomer replace the established connection made
   * the two displace each other without end, and handed the log to whichever held the slot. The
   * established one stays; the newcomer is closed, counted and reported.
   */
  #impostor(candidate: Connection, current: Connection): boolean {
    const established = hostOf(current.socket.remoteAddress);
    const refused = hostOf(candidate.socket.remoteAddress);
    if (established === undefined || refused === undefined || established === refused) {
      return false;
    }
    this.#stats.duplicateIdentities++;
    candidate.destroy('duplicate identity');
    try {
      this.#onDuplicateIdentity?.({
        nodeId: candidate.peerId!,
        established,
        refused,
        direction: candidate.direction,
      });
    } catch (error) {
      this.#onHandlerError?.(error);
    }
    return true;
  }

  /** Whether `candidate` should replace `current` (same answer on both ends of the pair). */
  #prefer(candidate: Connection, current: Connection): boolean {
    if (candidate.direction === current.direction) return true;
    const dialer = (c: Connection) => (c.direction === 'dialed' ? this.localId : c.peerId!);
    return dialer(candidate) < dialer(current);
  }

  #onClosed(connection: Connection): void {
    this.#connections.delete(connection);
    const peerId = connection.peerId;
    const entry = peerId === null ? undefined : this.#peers.get(peerId);
    if (entry !== undefined) {
      if (connection.direction === 'dialed' && !connection.wasOpen) {
        // Identified but never confirmed: it was counted as pending in #onDialSecure.
        entry.pendingDials--;
      }
      if (entry.current === connection) {
        entry.current = null;
        if (entry.pendingDials > 0) entry.downDeferred = true;
        else this.#peerDown(entry);
      } else if (entry.downDeferred && entry.pendingDials === 0 && entry.current === null) {
        entry.downDeferred = false;
        this.#peerDown(entry);
      }
    }
    const target = connection.target as DialTarget | null;
    if (target !== null && target.connection === connection) {
      target.connection = null;
      if (!connection.wasOpen) {
        this.#stats.dialFailures++;
        target.failures++;
      }
      this.#maybeDial(target);
    }
    if (this.#closing !== null && this.#connections.size === 0) this.#drained?.();
  }

  #peerDown(entry: PeerEntry): void {
    entry.stats.downs++;
    entry.rttMs = null;
    this.#emitPeer({ kind: 'down', nodeId: entry.nodeId });
    for (const target of this.#targets.values()) {
      if (target.knownId === entry.nodeId) this.#maybeDial(target);
    }
  }

  #onFrame(connection: Connection, body: Uint8Array): void {
    const from = connection.peerId!;
    const handlers = this.#frameHandlers.current;
    if (handlers.length === 0 || this.#closing !== null) {
      this.#countDrop(from, DropReason.NoHandler);
      return;
    }
    for (const handler of handlers) {
      try {
        handler(from, body);
      } catch (error) {
        this.#countDrop(from, DropReason.HandlerError);
        this.#handlerError(error);
      }
    }
  }

  #onRtt(connection: Connection, rttMs: number): void {
    const entry = this.#peers.get(connection.peerId!);
    if (entry === undefined) return;
    entry.rttMs = rttMs;
    entry.rttSmoothedMs = smoothRtt(entry.rttSmoothedMs, rttMs);
  }

  #countDrop(peerId: NodeId, reason: DropReason): void {
    this.#stats.drops[reason]++;
    const entry = this.#peers.get(peerId);
    if (entry !== undefined) entry.stats.drops[reason]++;
  }

  #emitPeer(event: PeerEvent): void {
    if (this.#closing !== null) return;
    for (const handler of this.#peerHandlers.current) {
      try {
        handler(event);
      } catch (error) {
        this.#handlerError(error);
      }
    }
  }

  #handlerError(error: unknown): void {
    if (this.#onHandlerError !== undefined) {
      this.#onHandlerError(error);
      return;
    }
    // A handler bug must surface, but not from inside a socket callback where it would be
    // mistaken for a network error.
    queueMicrotask(() => {
      throw error;
    });
  }

  // -- validation -----------------------------------------------------------------------------

  #checkOpen(): void {
    if (this.#closing !== null) {
      throw new MeshError(MeshErrorReason.Closed, 'transport is closed');
    }
  }

  #checkAddress(address: PeerAddress): { host: string; port: number; nodeId: NodeId | undefined } {
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

  #checkFrame(frame: Uint8Array): void {
    checkSendableFrame(frame, this.#limits.frameBodyBytesLimit);
  }
}

function describe(connection: Connection): ConnectionInfo {
  return {
    id: connection.id,
    direction: connection.direction,
    state: connection.state,
    peerId: connection.peerId,
    localPort: connection.socket.localPort,
    remotePort: connection.socket.remotePort,
  };
}

function compareIds(a: NodeId, b: NodeId): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function snapshot(entry: PeerEntry): PeerSnapshot {
  return {
    nodeId: entry.nodeId,
    connected: entry.current !== null,
    rttMs: entry.rttMs,
    rttSmoothedMs: entry.rttSmoothedMs,
    address: entry.address,
    stats: copyPeerStats(entry.stats),
  };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [key, field] of Object.entries(value)) {
    if (field !== undefined) (out as Record<string, unknown>)[key] = field;
  }
  return out;
}
