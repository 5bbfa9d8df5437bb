// The dial side of `MeshTransport`: the addresses it keeps connecting to (docs/MESH.md).
//
// Owns the dial targets and their reconnect loop: each target redials with capped exponential
// backoff and jitter while its peer is not connected through any connection, on the injected
// Clock and Random. When a dialed socket's TLS handshake ends it checks who answered (the
// certificate's NodeId, a pinned NodeId, membership) before the connection is identified.

import tls from 'node:tls';
import type { Clock } from '../time/clock.js';
import type { Random } from '../time/random.js';
import { nodeIdToHex } from '../wire/ids.js';
import type { NodeId } from '../wire/types.js';
import { backoffDelayMs } from './backoff.js';
import type { Connection } from './connection.js';
import { MeshError, MeshErrorReason } from './errors.js';
import {
  addressKey,
  checkPeerAddress,
  DIAL_TARGETS_MAX,
  type MeshAddress,
  type PeerAddress,
} from './transport-options.js';
import { type DialTarget, peerIdOf, type TransportCore } from './transport-peers.js';

export interface DialerSettings {
  readonly clock: Clock;
  readonly random: Random;
  readonly reconnectBaseMs: number;
  readonly reconnectMaxMs: number;
  readonly secureContext: tls.SecureContext;
}

export class Dialer {
  readonly #core: TransportCore;
  readonly #settings: DialerSettings;
  readonly #targets = new Map<string, DialTarget>();

  constructor(core: TransportCore, settings: DialerSettings) {
    this.#core = core;
    this.#settings = settings;
  }

  /** Starts dialing `address` (the caller checked the transport is open). */
  add(address: PeerAddress): void {
    const { host, port, nodeId } = checkPeerAddress(address);
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
  remove(address: MeshAddress): void {
    const { host, port } = checkPeerAddress(address);
    const target = this.#targets.get(addressKey(host, port));
    if (target === undefined) return;
    this.#targets.delete(target.key);
    target.timer?.cancel();
    target.timer = null;
    target.connection?.retire('peer removed');
  }

  /** After an unblock: the addresses known to reach `peer` are redialed at once. */
  redialUnblocked(peer: NodeId): void {
    for (const target of this.#targets.values()) {
      if (target.knownId !== peer) continue;
      target.failures = 0;
      target.timer?.cancel();
      target.timer = null;
      target.dialed = false; // the first attempt after a heal goes out without a backoff delay
      this.#maybeDial(target);
    }
  }

  /** `peer` went down: the addresses known to reach it dial again (with backoff). */
  peerDown(peer: NodeId): void {
    for (const target of this.#targets.values()) {
      if (target.knownId === peer) this.#maybeDial(target);
    }
  }

  /** A connection ended: if it was its target's, count a failed dial and dial again. */
  connectionClosed(connection: Connection): void {
    const target = connection.target as DialTarget | null;
    if (target !== null && target.connection === connection) {
      target.connection = null;
      if (!connection.wasOpen) {
        this.#core.stats.dialFailures++;
        target.failures++;
      }
      this.#maybeDial(target);
    }
  }

  /** Cancels every pending redial and forgets the targets (the transport is closing). */
  stop(): void {
    for (const target of this.#targets.values()) target.timer?.cancel();
    this.#targets.clear();
  }

  #maybeDial(target: DialTarget): void {
    if (this.#core.isClosing() || target.timer !== null || target.connection !== null) return;
    if (!this.#targets.has(target.key)) return;
    if (target.knownId !== undefined && this.#core.isConnected(target.knownId)) return;
    const delayMs = target.dialed
      ? backoffDelayMs(
          target.failures,
          this.#settings.reconnectBaseMs,
          this.#settings.reconnectMaxMs,
          this.#settings.random,
        )
      : 0;
    target.timer = this.#settings.clock.setTimer(delayMs, () => {
      target.timer = null;
      this.#dial(target);
    });
  }

  #dial(target: DialTarget): void {
    if (this.#core.isClosing() || !this.#targets.has(target.key)) return;
    if (target.knownId !== undefined && this.#core.isConnected(target.knownId)) return;
    target.dialed = true;
    const socket = tls.connect({
      host: target.host,
      port: target.port,
      secureContext: this.#settings.secureContext,
      rejectUnauthorized: true,
      // Identity is the certificate's key (checked below), not a host name: see transport.ts.
      checkServerIdentity: () => undefined,
    });
    const connection = this.#core.newConnection(socket, 'dialed');
    connection.target = target;
    target.connection = connection;
    socket.once('secureConnect', () => this.#onDialSecure(connection, target));
  }

  #onDialSecure(connection: Connection, target: DialTarget): void {
    if (connection.state !== 'handshaking') return;
    const peerId = peerIdOf(connection.socket, this.#core.stats);
    if (peerId === null) {
      connection.destroy('bad peer key');
      return;
    }
    if (peerId === this.#core.localId) {
      this.#core.stats.selfConnections++;
      connection.destroy('self');
      return;
    }
    if (target.expectedId !== undefined && peerId !== target.expectedId) {
      this.#core.stats.unexpectedPeers++;
      connection.destroy(
        `expected ${nodeIdToHex(target.expectedId)} at ${target.key}, found ${nodeIdToHex(peerId)}`,
      );
      return;
    }
    const entry = this.#core.admit(peerId);
    if (entry === null) {
      this.#core.stats.peersRefused++;
      connection.destroy('peer refused');
      return;
    }
    // The server's certificate proved who is at this address, even if it never confirms us.
    target.knownId = peerId;
    entry.pendingDials++;
    connection.identify(peerId, entry.stats);
  }
}
