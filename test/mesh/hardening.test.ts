// Hardening of the mesh port against clients that are not (or pretend to be) members: an API
// client certificate never joins the mesh, strangers cannot fill the handshake slots, and a
// second process with a member's identity is refused instead of displacing the member.

import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { createClientCert } from '../../src/mesh/certs.js';
import type { CertificateMaterial, MeshTransport, PeerEvent } from '../../src/mesh/index.js';
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
