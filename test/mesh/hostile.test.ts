// Hostile input against a listening MeshTransport: garbage instead of TLS, silence, certificates
// from another CA or expired, a certificate with a non-Ed25519 key, absurd length prefixes,
// truncated and malformed frames, pings that never get answered, dialing oneself or the wrong
// node. Each case is refused or dropped and counted; the transport keeps serving a good peer
// afterwards. Nothing waits on a fixed sleep: every wait is for a close, a counter or an event.

import 'reflect-metadata';
import assert from 'node:assert/strict';
import { createPrivateKey, KeyObject, webcrypto } from 'node:crypto';
import net from 'node:net';
import { after, afterEach, before, describe, it } from 'node:test';
import * as x509 from '@peculiar/x509';
import { createCa, createNodeCert } from '../../src/mesh/certs.js';
import {
  type CertificateMaterial,
  DropReason,
  encodeControl,
  encodeFrame,
  MeshControl,
  type MeshCredentials,
  type MeshTransport,
  type PeerEvent,
} from '../../src/mesh/index.js';
import {
  collectFrames,
  makeCluster,
  RawClient,
  rawFrame,
  redexFrame,
  type TestNode,
  text,
  transportFor,
  waitFor,
} from './helpers.js';

let ca: CertificateMaterial;
let nodes: TestNode[];
let server: MeshTransport;
let port: number;
let serverEvents: PeerEvent[];
const extra: MeshTransport[] = [];

before(async () => {
  ({ ca, nodes } = await makeCluster(['server', 'good', 'mallory']));
});

/** A fresh server per test, so every counter starts at zero. */
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

/** A good peer still gets through: the server survived whatever came before. */
async function assertServerStillServes(): Promise<void> {
  const good = transportFor(nodes[1]!);
  extra.push(good);
  const inbox = collectFrames(server);
  good.addPeer({ host: '127.0.0.1', port });
  await waitFor(() => good.isConnected(server.localId), 'a good peer connecting afterwards');
  good.send(server.localId, redexFrame('still alive'));
  await waitFor(() => inbox.length === 1, 'a frame from the good peer');
}

async function foreignCredentials(
  name: string,
  options: Parameters<typeof createNodeCert>[2] = {},
): Promise<MeshCredentials> {
  const foreign = await createCa();
  const cert = await createNodeCert(foreign, name, options);
  return { caCertPem: foreign.certPem, certPem: cert.certPem, keyPem: cert.keyPem };
}

describe('hostile handshakes', () => {
  it('garbage instead of a TLS handshake is refused and counted', async () => {
    await freshServer();
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(50));
    await closed;
    await waitFor(() => server.stats().handshakeFailures === 1, 'the failure to be counted');
    assert.deepEqual(serverEvents, []);
    assert.deepEqual(server.connectedPeers(), []);
    await assertServerStillServes();
  });

  it('a client that never speaks is cut off by the handshake timeout', async () => {
    await freshServer({ handshakeTimeoutMs: 100 });
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    await new Promise((resolve) => socket.once('close', resolve));
    await waitFor(() => server.stats().handshakeTimeouts === 1, 'the timeout to be counted');
    assert.deepEqual(serverEvents, []);
  });

  it('a certificate from another CA never connects, in either direction', async () => {
    await freshServer();
    const credentials = await foreignCredentials('mallory');
    const mallory = transportFor({ name: 'mallory', nodeId: 0n, credentials } as TestNode);
    extra.push(mallory);
    const malloryEvents: PeerEvent[] = [];
    mallory.onPeer((event) => malloryEvents.push(event));
    const { port: malloryPort } = await mallory.listen();
    mallory.addPeer({ host: '127.0.0.1', port });
    server.addPeer({ host: '127.0.0.1', port: malloryPort });
    await waitFor(
      () =>
        server.stats().handshakeFailures >= 2 &&
        server.stats().dialFailures >= 2 &&
        mallory.stats().dialFailures >= 2,
      'repeated refusals on both sides',
    );
    assert.deepEqual(serverEvents, []);
    assert.deepEqual(malloryEvents, []);
    assert.equal(server.stats().connectionsAccepted, 0);
  });

  it('a foreign client that trusts our CA sees TLS succeed but is never confirmed', async () => {
    await freshServer();
    // Mallory trusts our CA, so her side of the TLS 1.3 handshake completes; the server then
    // rejects her certificate. She must not report the server as up.
    const own = await foreignCredentials('mallory');
    const credentials = { ...own, caCertPem: ca.certPem };
    const raw = new RawClient(port, credentials);
    await raw.closed;
    assert.equal(raw.frames.length, 0, 'the server sent nothing');
    await waitFor(() => server.stats().handshakeFailures === 1, 'the failure to be counted');

    assert.deepEqual(serverEvents, []);
  });

  it('an expired certificate is refused, in either direction', async () => {
    await freshServer();
    const expired = await createNodeCert(ca, 'expired', { notBeforeMs: 1_000, notAfterMs: 2_000 });
    const credentials = { caCertPem: ca.certPem, certPem: expired.certPem, keyPem: expired.keyPem };
    const old = transportFor({ name: 'expired', nodeId: expired.nodeId, credentials });
    extra.push(old);
    const oldEvents: PeerEvent[] = [];
    old.onPeer((event) => oldEvents.push(event));
    const { port: oldPort } = await old.listen();
    old.addPeer({ host: '127.0.0.1', port });
    server.addPeer({ host: '127.0.0.1', port: oldPort });
    await waitFor(
      () => server.stats().handshakeFailures >= 1 && server.stats().dialFailures >= 1,
      'refusals both ways',
    );
    await waitFor(() => old.stats().dialFailures >= 1, 'the expired node failing to dial');
    assert.deepEqual(serverEvents, []);
    assert.deepEqual(oldEvents, [], 'the expired node never saw the server up');
    await assertServerStillServes();
  });

  it('a CA-signed certificate with a non-Ed25519 key is refused and counted', async () => {
    await freshServer();
    const credentials = await ecdsaNodeSignedBy(ca);
    const raw = new RawClient(port, credentials);
    await raw.closed;
    assert.equal(raw.frames.length, 0);
    await waitFor(() => server.stats().badPeerKeys === 1, 'the bad key to be counted');
    assert.deepEqual(serverEvents, []);
  });

  it('dialing itself or an address pinned to another NodeId is refused', async () => {
    await freshServer();
    server.addPeer({ host: '127.0.0.1', port });
    await waitFor(() => server.stats().selfConnections >= 2, 'self dials noticed');
    const good = transportFor(nodes[1]!);
    extra.push(good);
    const { port: goodPort } = await good.listen();
    server.addPeer({ host: '127.0.0.1', port: goodPort, nodeId: nodes[2]!.nodeId });
    await waitFor(() => server.stats().unexpectedPeers >= 1, 'the wrong node noticed');
    assert.equal(server.isConnected(good.localId), false);
    assert.deepEqual(serverEvents, []);
  });

  it('acceptPeer can refuse a cluster node', async () => {
    await freshServer({ acceptPeer: (id: bigint) => id !== nodes[2]!.nodeId });
    const raw = new RawClient(port, nodes[2]!.credentials);
    await raw.closed;
    assert.equal(server.stats().peersRefused, 1);
    assert.deepEqual(serverEvents, []);
    await assertServerStillServes();
  });
});

describe('hostile frames', () => {
  async function confirmedClient(): Promise<RawClient> {
    const raw = new RawClient(port, nodes[2]!.credentials);
    await raw.confirmed();
    await waitFor(() => server.isConnected(nodes[2]!.nodeId), 'the server to see the client');
    return raw;
  }

  it('an absurd length prefix destroys the connection, counted as frame-too-large', async () => {
    await freshServer();
    const raw = await confirmedClient();
    const down = waitFor(() => serverEvents.some((e) => e.kind === 'down'), 'peer down');
    raw.write(rawFrame(0xffff_ffff, new Uint8Array(100)));
    await raw.closed;
    await down;
    const stats = server.peer(nodes[2]!.nodeId)!.stats;
    assert.equal(stats.drops[DropReason.FrameTooLarge], 1);
    assert.equal(server.stats().drops[DropReason.FrameTooLarge], 1);
    await assertServerStillServes();
  });

  it('a length just above the configured limit is refused the same way', async () => {
    await freshServer({ frameBodyBytesLimit: 1000, pendingWriteBytesLimit: 2000 });
    const raw = await confirmedClient();
    raw.write(rawFrame(1000, redexFrame(new Uint8Array(997))));
    raw.write(rawFrame(1001));
    await raw.closed;
    assert.equal(server.stats().drops[DropReason.FrameTooLarge], 1);
    assert.equal(server.peer(nodes[2]!.nodeId)!.stats.framesIn, 1, 'the 1000-byte frame got in');
  });

  it('a frame truncated by the connection ending is dropped and counted, not delivered', async () => {
    await freshServer();
    const raw = await confirmedClient();
    const inbox = collectFrames(server);
    const frame = redexFrame('complete');
    raw.write(Buffer.concat([encodeFrame(frame), rawFrame(100, new Uint8Array(10))]));
    raw.socket.end();
    await raw.closed;
    await waitFor(
      () => server.stats().drops[DropReason.TruncatedFrame] === 1,
      'the truncated frame to be counted',
    );
    assert.deepEqual(
      inbox.map((f) => text(f.frame)),
      ['complete'],
    );
  });

  it('malformed frames are dropped and counted while the connection keeps working', async () => {
    await freshServer();
    const raw = await confirmedClient();
    const inbox = collectFrames(server);
    const bogusPong = encodeControl(MeshControl.Pong, 0xdead_beefn);
    raw.write(
      Buffer.concat([
        encodeFrame(new Uint8Array(0)), // empty
        encodeFrame(new Uint8Array([0x00, 0x0e])), // shorter than a RedEX header
        encodeFrame(new Uint8Array([0x12, 0x34, 0x56, 0x78])), // unknown subprotocol
        encodeFrame(new Uint8Array([0x00, 0xfe, 0x01])), // truncated ping
        encodeFrame(bogusPong), // pong for no ping
      ]),
    );
    // The good frame goes out byte by byte, each its own TLS record.
    const good = encodeFrame(redexFrame('survived'));
    for (const byte of good) raw.write(new Uint8Array([byte]));
    await waitFor(() => inbox.length === 1, 'the good frame');
    assert.equal(text(inbox[0]!.frame), 'survived');
    const drops = server.peer(nodes[2]!.nodeId)!.stats.drops;
    assert.equal(drops[DropReason.ShortFrame], 2);
    assert.equal(drops[DropReason.UnknownSubprotocol], 1);
    assert.equal(drops[DropReason.BadControl], 1);
    assert.equal(drops[DropReason.UnexpectedPong], 1);
    assert.ok(server.isConnected(nodes[2]!.nodeId));
    raw.destroy();
  });

  it('a peer that stops answering is dropped by the idle timeout', async () => {
    await freshServer({ pingIntervalMs: 20, idleTimeoutMs: 100 });
    const raw = await confirmedClient();
    // The raw client never answers pings and never sends anything.
    await raw.closed;
    assert.equal(server.stats().idleTimeouts, 1);
    await waitFor(() => serverEvents.some((e) => e.kind === 'down'), 'peer down');
  });

  it('a frame handler that throws is reported, counted, and does not break the connection', async () => {
    const errors: unknown[] = [];
    await freshServer({ onHandlerError: (error: unknown) => errors.push(error) });
    const raw = await confirmedClient();
    const inbox = collectFrames(server);
    server.onFrame(() => {
      throw new Error('handler bug');
    });
    raw.write(Buffer.concat([encodeFrame(redexFrame('1')), encodeFrame(redexFrame('2'))]));
    await waitFor(() => inbox.length === 2, 'both frames');
    assert.equal(errors.length, 2);
    assert.equal(server.stats().drops[DropReason.HandlerError], 2);
    assert.ok(server.isConnected(nodes[2]!.nodeId));
    raw.destroy();
  });

  it('many garbage connections at once do not take the server down', async () => {
    await freshServer();
    const sockets = Array.from({ length: 50 }, (_, i) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.on('error', () => {});
      socket.write(`garbage ${i} `.repeat(10));
      return new Promise((resolve) => socket.once('close', resolve));
    });
    await Promise.all(sockets);
    await waitFor(() => server.stats().handshakeFailures === 50, 'all 50 counted');
    await assertServerStillServes();
  });
});

/** A node certificate with an ECDSA P-256 key, properly signed by the cluster CA. */
async function ecdsaNodeSignedBy(authority: CertificateMaterial): Promise<MeshCredentials> {
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  type Keys = Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'];
  const caCert = new x509.X509Certificate(authority.certPem);
  const caKeyDer = createPrivateKey(authority.keyPem).export({ type: 'pkcs8', format: 'der' });
  const signingKey = await webcrypto.subtle.importKey(
    'pkcs8',
    caKeyDer,
    { name: 'Ed25519' },
    false,
    ['sign'],
  );
  const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ]);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: '0abc',
    subject: 'CN=ecdsa',
    issuer: caCert.subject,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 86_400_000),
    publicKey: keys.publicKey as unknown as Keys['publicKey'],
    signingKey: signingKey as unknown as Keys['privateKey'],
    signingAlgorithm: { name: 'Ed25519' },
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.ExtendedKeyUsageExtension([
        x509.ExtendedKeyUsage.serverAuth,
        x509.ExtendedKeyUsage.clientAuth,
      ]),
    ],
  });
  const keyPem = KeyObject.from(keys.privateKey).export({ type: 'pkcs8', format: 'pem' }) as string;
  return { caCertPem: authority.certPem, certPem: cert.toString('pem'), keyPem };
}
