// MeshTransport: the production `Transport`, mutual TLS 1.3 over TCP (docs/MESH.md). DEV DOCS:
//
// Owns the peer table (NodeId → the one connection in use, counters, RTT), every live
// `Connection`, the handlers frames and peer events go to, and the lifecycle (listen, close).
// The runtime above owns what frames mean; this file only moves them. Its parts live beside it:
// options and limits in transport-options.ts, the TLS server and accept checks in
// transport-accept.ts, the dial targets and reconnects in transport-dialer.ts, the peer table's
// shapes and the connection-choice rules in transport-peers.ts.
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

import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import type { Clock } from '../time/clock.js';
import { systemRandom } from '../time/random.js';
import { systemClock } from '../time/system-clock.js';
import { isNodeId } from '../wire/ids.js';
import type { NodeId } from '../wire/types.js';
import {
  Connection,
  type ConnectionDirection,
  type ConnectionLimits,
  type ConnectionOwner,
} from './connection.js';
import { checkSendableFrame } from './control.js';
import { MeshError, MeshErrorReason } from './errors.js';
import { HandlerList } from './handler-list.js';
import { HandshakeGate } from './handshake-gate.js';
import { checkCredentials, type MeshCredentials, type NodeIdentity } from './identity.js';
import { createMeshServer } from './transport-accept.js';
import { Dialer } from './transport-dialer.js';
import {
  addressKey,
  checkTransportOptions,
  type DuplicateIdentityEvent,
  HANDSHAKES_PENDING_MAX,
  HANDSHAKES_PENDING_PER_ADDRESS_MAX,
  type MeshAddress,
  type MeshTransportOptions,
  PEERS_MAX,
  type PeerAddress,
} from './transport-options.js';
import {
  type ConnectionInfo,
  compareIds,
  type DialTarget,
  describeConnection,
  forgetOnePeer,
  newPeerEntry,
  type PeerEntry,
  peerSnapshot,
  prefersCandidate,
  refuseImpostor,
  type TransportCore,
} from './transport-peers.js';
import {
  copyTransportStats,
  DropReason,
  emptyTransportStats,
  type FrameHandler,
  type PeerEvent,
  type PeerHandler,
  type PeerSnapshot,
  smoothRtt,
  type Transport,
  type TransportStats,
} from './types.js';

// Moved to sibling modules; re-exported so imports of this module keep working.
export {
  DIAL_TARGETS_MAX,
  type DuplicateIdentityEvent,
  HANDSHAKES_PENDING_MAX,
  HANDSHAKES_PENDING_PER_ADDRESS_MAX,
  MESH_DEFAULTS,
  type MeshAddress,
  type MeshTransportOptions,
  PEERS_MAX,
  PENDING_WRITE_BYTES_MAX,
  type PeerAddress,
  SERVER_CONNECTIONS_MAX,
} from './transport-options.js';
export type { ConnectionInfo } from './transport-peers.js';

export class MeshTransport implements Transport {
  readonly localId: NodeId;
  readonly identity: NodeIdentity;
  readonly #credentials: MeshCredentials;
  readonly #clock: Clock;
  readonly #limits: ConnectionLimits;
  readonly #listenHost: string;
  readonly #listenPort: number;
  readonly #acceptPeer: ((nodeId: NodeId) => boolean) | undefined;
  readonly #onHandlerError: ((error: unknown) => void) | undefined;
  readonly #onDuplicateIdentity: ((event: DuplicateIdentityEvent) => void) | undefined;
  readonly #dialer: Dialer;
  // What the accept path and the dialer see of us; kept off the public surface.
  readonly #core: TransportCore;
  readonly #stats: TransportStats = emptyTransportStats();
  readonly #gate: HandshakeGate;
  readonly #peers = new Map<NodeId, PeerEntry>();
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
    const settings = checkTransportOptions(options);
    this.#listenHost = settings.listenHost;
    this.#listenPort = settings.listenPort;
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
    this.#limits = settings.limits;
    this.#core = {
      localId: this.localId,
      stats: this.#stats,
      isClosing: () => this.#closing !== null,
      isConnected: (peer: NodeId) => this.isConnected(peer),
      admit: (peerId: NodeId) => this.#admit(peerId),
      newConnection: (socket: tls.TLSSocket, direction: ConnectionDirection) =>
        this.#newConnection(socket, direction),
    };
    this.#dialer = new Dialer(this.#core, {
      clock: this.#clock,
      random: options.random ?? systemRandom,
      reconnectBaseMs: settings.reconnectBaseMs,
      reconnectMaxMs: settings.reconnectMaxMs,
      secureContext: tls.createSecureContext({
        ...this.#tlsMaterial(),
        minVersion: 'TLSv1.3',
        maxVersion: 'TLSv1.3',
      }),
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
      const server = createMeshServer(
        this.#core,
        this.#gate,
        this.#tlsMaterial(),
        this.#limits.handshakeTimeoutMs,
      );
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
    this.#dialer.add(address);
  }

  /** Stops dialing `address` and retires the connection made for it. */
  removePeer(address: MeshAddress): void {
    this.#dialer.remove(address);
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
    this.#dialer.redialUnblocked(peer);
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
    return entry === undefined ? undefined : peerSnapshot(entry);
  }

  peers(): PeerSnapshot[] {
    return [...this.#peers.values()]
      .sort((a, b) => compareIds(a.nodeId, b.nodeId))
      .map(peerSnapshot);
  }

  /** The connection a peer currently uses: which side dialed it and its TCP ports. */
  connectionInfo(nodeId: NodeId): ConnectionInfo | undefined {
    const connection = this.#peers.get(nodeId)?.current;
    return connection === undefined || connection === null
      ? undefined
      : describeConnection(connection);
  }

  /** Every live socket (handshaking, confirming, open, retiring), for status pages and tests. */
  connections(): ConnectionInfo[] {
    return [...this.#connections].map(describeConnection);
  }

  stats(): TransportStats {
    return copyTransportStats(this.#stats);
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#dialer.stop();
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

  /** Whether `peerId` may have a connection; makes its peer table entry. */
  #admit(peerId: NodeId): PeerEntry | null {
    if (this.#blocked.has(peerId)) return null;
    if (this.#acceptPeer !== undefined && !this.#acceptPeer(peerId)) return null;
    let entry = this.#peers.get(peerId);
    if (entry !== undefined) return entry;
    if (this.#peers.size >= PEERS_MAX && !forgetOnePeer(this.#peers, this.#connections))
      return null;
    entry = newPeerEntry(peerId);
    this.#peers.set(peerId, entry);
    return entry;
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
    if (
      refuseImpostor(
        connection,
        current,
        this.#stats,
        this.#onDuplicateIdentity,
        this.#onHandlerError,
      )
    ) {
      return;
    }
    this.#stats.duplicatesClosed++;
    if (prefersCandidate(connection, current, this.localId)) {
      entry.current = connection;
      current.retire('duplicate connection');
    } else {
      connection.retire('duplicate connection');
    }
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
    this.#dialer.connectionClosed(connection);
    if (this.#closing !== null && this.#connections.size === 0) this.#drained?.();
  }

  #peerDown(entry: PeerEntry): void {
    entry.stats.downs++;
    entry.rttMs = null;
    this.#emitPeer({ kind: 'down', nodeId: entry.nodeId });
    this.#dialer.peerDown(entry.nodeId);
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

  #checkFrame(frame: Uint8Array): void {
    checkSendableFrame(frame, this.#limits.frameBodyBytesLimit);
  }
}
