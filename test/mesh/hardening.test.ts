// Hardening of the mesh port against clients that are not (or pretend to be) members: an API
// client certificate never joins the mesh, strangers cannot fill the handshake slots, and a
// second process with a member's identity is refused instead of displacing the member.

import assert from 'node:assert/strict';
import net from 'node:net';
import { after, afterEach, before, describe, it } from 'node:test';
import { createClientCert } from '../../src/mesh/certs.js';
import type { CertificateMaterial, MeshTransport, PeerEvent } from '../../src/mesh/index.js';
import {
  type DuplicateIdentityEvent,
  HANDSHAKES_PENDING_MAX,
  HANDSHAKES_PENDING_PER_ADDRESS_MAX,
} from '../../src/mesh/transport.js';
import { makeCluster, RawClient, type TestNode, transportFor, waitFor } from './helpers.js';

let ca: CertificateMaterial;
let nodes: TestNode[];
let server: MeshTransport;
let port: number;
let serverEvents: PeerEvent[];
const extra: MeshTransport[] = [];

before(async () => {
  ({ ca, nodes } = await makeCluster(['server', 'good', 'twin']));
});

async function freshServer(options = {}): Promise<void> {
  server = transportFor(nodes[0]!, options);
  serverEvents = [];
  server.onPeer((event) => serverEvents.push(event));
  ({ port } = await server.listen());
}

afterEach(async () => {
  await Promise.all([server?.close(), ...extra.splice(0).map((t) => t.close())]);
});

after(async () => {
  await server?.close();
});

describe('client certificates on the mesh', () => {
  it('an API client certificate from the cluster CA is refused even when its key is admitted', async () => {
    const client = await createClientCert(ca, 'admin');
    // acceptPeer admits everyone: only the certificate's usage keeps the client out.
    await freshServer({ acceptPeer: () => true });
    const raw = new RawClient(port, {
      caCertPem: ca.certPem,
      certPem: client.certPem,
      keyPem: client.keyPem,
    });
    await raw.closed;
    assert.equal(raw.frames.length, 0);
    await waitFor(() => server.stats().peersRefused === 1, 'the refusal to be counted');
    assert.deepEqual(serverEvents, []);
    assert.equal(server.stats().connectionsAccepted, 0);
  });
});

/** Opens `count` TCP connections from `localAddress` that never start TLS. */
async function idleSockets(
  count: number,
  localAddress = '127.0.0.1',
): Promise<{ sockets: net.Socket[]; closed: () => number }> {
  let closed = 0;
  const sockets = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<net.Socket>((resolve, reject) => {
          const socket = net.connect({ port, host: '127.0.0.1', localAddress }, () =>
            resolve(socket),
          );
          socket.on('error', () => {});
          socket.once('close', () => closed++);
          socket.once('error', reject);
          opened.push(socket);
        }),
    ),
  );
  return { sockets, closed: () => closed };
}

const opened: net.Socket[] = [];
afterEach(() => {
  for (const socket of opened.splice(0)) socket.destroy();
});

describe('handshake slots', () => {
  it('1,000 idle connections from one address hold 8 slots; a member still connects', async () => {
    await freshServer();
    const idle = await idleSockets(1_000);
    await waitFor(
      () => idle.closed() >= 1_000 - HANDSHAKES_PENDING_PER_ADDRESS_MAX,
      'the oldest idle connections closed',
    );
    assert.ok(server.stats().handshakesEvicted >= 1_000 - HANDSHAKES_PENDING_PER_ADDRESS_MAX);
    const good = transportFor(nodes[1]!);
    extra.push(good);
    good.addPeer({ host: '127.0.0.1', port });
    await waitFor(() => server.isConnected(good.localId), 'the member connected');
    assert.ok(HANDSHAKES_PENDING_MAX >= HANDSHAKES_PENDING_PER_ADDRESS_MAX);
  });

  it('past the total, strangers make room before addresses a member connected from', async () => {
    await freshServer({ pendingHandshakes: { totalMax: 4, perAddressMax: 100 } });
    const good = transportFor(nodes[1]!);
    extra.push(good);
    good.addPeer({ host: '127.0.0.1', port });
    await waitFor(() => server.isConnected(good.localId), 'the member connected');
    const strangers = await idleSockets(4, '127.0.0.2');
    const fromMember = await idleSockets(2, '127.0.0.1');
    await waitFor(() => strangers.closed() === 2, 'two strangers closed for the member address');
    const more = await idleSockets(4, '127.0.0.2');
    await waitFor(
      () => strangers.closed() + more.closed() === 6,
      'strangers closing each other out',
    );
    assert.equal(fromMember.closed(), 0, 'the member address kept its slots');
    assert.equal(server.stats().handshakesEvicted, 6);
  });
});

describe('duplicate identity', () => {
  it('a second process with a member’s certificate, from another address, is refused; the member stays', async () => {
    const reported: DuplicateIdentityEvent[] = [];
    await freshServer({
      onDuplicateIdentity: (event: DuplicateIdentityEvent) => reported.push(event),
    });
    const good = transportFor(nodes[1]!);
    extra.push(good);
    good.addPeer({ host: '127.0.0.1', port });
    await waitFor(() => server.isConnected(good.localId), 'the member connected');
    for (let attempt = 0; attempt < 3; attempt++) {
      const twin = new RawClient(port, nodes[1]!.credentials, undefined, '127.0.0.2');
      await twin.closed;
    }
    await waitFor(() => server.stats().duplicateIdentities === 3, 'three refusals counted');
    assert.equal(reported.length, 3);
    assert.deepEqual(
      { ...reported[0], nodeId: reported[0]!.nodeId === good.localId },
      { nodeId: true, established: '127.0.0.1', refused: '127.0.0.2', direction: 'accepted' },
    );
    assert.ok(server.isConnected(good.localId), 'the established member kept its connection');
    assert.deepEqual(
      serverEvents.map((event) => event.kind),
      ['up'],
      'the member never looked down',
    );
    assert.equal(server.stats().duplicatesClosed, 0, 'no replacement happened');
  });

  it('a reconnect from the same address still replaces the old connection', async () => {
    await freshServer();
    const good = transportFor(nodes[1]!);
    extra.push(good);
    good.addPeer({ host: '127.0.0.1', port });
    await waitFor(() => server.isConnected(good.localId), 'the member connected');
    const again = new RawClient(port, nodes[1]!.credentials);
    await again.confirmed();
    await waitFor(() => server.stats().duplicatesClosed >= 1, 'the replacement');
    assert.equal(server.stats().duplicateIdentities, 0);
    again.destroy();
  });
});
