// The accept side of `MeshTransport`: the TLS server and what it lets in (docs/MESH.md).
//
// Owns the server's TLS settings (TLS 1.3 only, client certificates required and verified
// against the cluster CA), its connection cap, the handshake gate's hooks, the counting of
// failed handshakes, and the checks a connection passes once its handshake ends: an
// authorized certificate with a usable node key, not ourselves, and a peer `admit` accepts.

import type { Socket } from 'node:net';
import tls from 'node:tls';
import type { HandshakeGate } from './handshake-gate.js';
import { SERVER_CONNECTIONS_MAX } from './transport-options.js';
import { peerIdOf, type TransportCore } from './transport-peers.js';

/** The PEM material the server and dialed sockets present and trust. */
export interface TlsMaterial {
  readonly ca: string[];
  readonly cert: string;
  readonly key: string;
}

/** The mesh's TLS server with its handlers attached; the caller binds it. */
export function createMeshServer(
  core: TransportCore,
  gate: HandshakeGate,
  tlsMaterial: TlsMaterial,
  handshakeTimeoutMs: number,
): tls.Server {
  const server = tls.createServer({
    ...tlsMaterial,
    minVersion: 'TLSv1.3',
    maxVersion: 'TLSv1.3',
    requestCert: true,
    rejectUnauthorized: true,
    // The server owns the socket until the handshake ends, so its own timer is the only hook.
    handshakeTimeout: handshakeTimeoutMs,
  });
  server.maxConnections = SERVER_CONNECTIONS_MAX;
  server.on('connection', (socket: Socket) => gate.admit(socket));
  server.on('secureConnection', (socket: tls.TLSSocket) => acceptSecureSocket(core, gate, socket));
  server.on('tlsClientError', (error: Error, socket: tls.TLSSocket) => {
    // Garbage, a foreign CA, an expired or missing client certificate all land here.
    if (/handshake timeout/i.test(error.message)) core.stats.handshakeTimeouts++;
    else core.stats.handshakeFailures++;
    socket.destroy();
  });
  return server;
}

/** A socket whose TLS handshake succeeded: becomes a connection, or is destroyed (counted). */
function acceptSecureSocket(core: TransportCore, gate: HandshakeGate, socket: tls.TLSSocket): void {
  socket.on('error', () => {}); // until a Connection takes over, resets must not crash us
  gate.done(socket);
  if (core.isClosing()) {
    socket.destroy();
    return;
  }
  if (!socket.authorized) {
    // rejectUnauthorized makes this unreachable; kept so a config slip cannot admit anyone.
    core.stats.handshakeFailures++;
    socket.destroy();
    return;
  }
  const peerId = peerIdOf(socket, core.stats);
  if (peerId === null) {
    socket.destroy();
    return;
  }
  if (peerId === core.localId) {
    core.stats.selfConnections++;
    socket.destroy();
    return;
  }
  const entry = core.admit(peerId);
  if (entry === null) {
    core.stats.peersRefused++;
    socket.destroy();
    return;
  }
  core.stats.connectionsAccepted++;
  gate.memberAt(socket);
  const connection = core.newConnection(socket, 'accepted');
  connection.identify(peerId, entry.stats);
  connection.openAccepted();
}
