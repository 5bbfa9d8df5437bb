// Certificates (CA and node) and the identity derived from them: X.509 fields checked with
// node:crypto (independent of the library that wrote them), the NodeId against the RFC 8032 vector
// (docs/PROTOCOL.md#identities), file layout and permissions, and every refusal.

import 'reflect-metadata';
import assert from 'node:assert/strict';
import { createPublicKey, webcrypto, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as x509 from '@peculiar/x509';
import {
  type CertificateMaterial,
  CLOCK_SKEW_ALLOWANCE_MS,
  checkCredentials,
  createCa,
  createNodeCert,
  ed25519PublicKeyFromCertificate,
  initCa,
  issueNodeCert,
  loadCa,
  loadNodeCredentials,
  MeshError,
  nodeIdFromCertificate,
  nodeIdOfCertFile,
  validateNodeName,
} from '../../src/mesh/index.js';
import { VirtualClock } from '../../src/time/virtual-clock.js';
import { nodeIdFromPublicKey } from '../../src/wire/ids.js';

const DAY_MS = 86_400_000;
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

function rejectsWith(reason: string) {
  return (error: unknown) => {
    assert.ok(error instanceof MeshError, `expected a MeshError, got ${String(error)}`);
    assert.equal(error.reason, reason, error.message);
    assert.match(error.message, /^redex: mesh: /);
    return true;
  };
}

let ca: CertificateMaterial;
const clock = new VirtualClock(1_800_000_000_000);

before(async () => {
  ca = await createCa({ clock });
});

describe('createCa', () => {
  it('makes a self-signed Ed25519 CA valid from now (minus skew) for the requested days', async () => {
    const cert = new X509Certificate(ca.certPem);
    assert.equal(cert.ca, true);
    assert.equal(cert.publicKey.asymmetricKeyType, 'ed25519');
    assert.ok(cert.checkIssued(cert));
    assert.ok(cert.verify(cert.publicKey));
    assert.match(cert.subject, /CN=redex cluster CA/);
    assert.equal(Date.parse(cert.validFrom), clock.nowMs() - CLOCK_SKEW_ALLOWANCE_MS);
    assert.equal(Date.parse(cert.validTo), clock.nowMs() + 3650 * DAY_MS);
    assert.match(ca.keyPem, /^-----BEGIN PRIVATE KEY-----/);

    const short = new X509Certificate((await createCa({ clock, validityDays: 2 })).certPem);
    assert.equal(Date.parse(short.validTo), clock.nowMs() + 2 * DAY_MS);
  });

  it('refuses bad validity windows and names', async () => {
    await assert.rejects(createCa({ validityDays: 0 }), rejectsWith('MESH_CONFIG'));
    await assert.rejects(createCa({ validityDays: 1.5 }), rejectsWith('MESH_CONFIG'));
    await assert.rejects(createCa({ validityDays: 10_000_000 }), rejectsWith('MESH_CONFIG'));
    await assert.rejects(
      createCa({ notBeforeMs: 2000, notAfterMs: 1000 }),
      rejectsWith('MESH_CONFIG'),
    );
    await assert.rejects(createCa({ commonName: 'a\nb' }), rejectsWith('MESH_CONFIG'));
  });
});

describe('createNodeCert', () => {
  it('signs an Ed25519 leaf with SAN, serverAuth + clientAuth, not a CA', async () => {
    const node = await createNodeCert(ca, 'node-a', {
      clock,
      hosts: ['127.0.0.1', '::1', 'a.example.com'],
    });
    const cert = new X509Certificate(node.certPem);
    const caCert = new X509Certificate(ca.certPem);
    assert.equal(cert.ca, false);
    assert.ok(cert.checkIssued(caCert));
    assert.ok(cert.verify(caCert.publicKey));
    assert.equal(cert.publicKey.asymmetricKeyType, 'ed25519');
    assert.match(cert.subject, /CN=node-a/);
    assert.equal(
      cert.subjectAltName,
      'DNS:node-a, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, DNS:a.example.com',
    );
    assert.deepEqual([...(cert.keyUsage ?? [])].sort(), [SERVER_AUTH, CLIENT_AUTH].sort());
    assert.equal(Date.parse(cert.validTo), clock.nowMs() + 397 * DAY_MS);
    assert.equal(node.nodeId, nodeIdFromCertificate(node.certPem));
    assert.equal(node.name, 'node-a');
  });

  it('gives each node its own key and NodeId', async () => {
    const a = await createNodeCert(ca, 'node-a');
    const b = await createNodeCert(ca, 'node-a');
    assert.notEqual(a.nodeId, b.nodeId);
    assert.notEqual(
      new X509Certificate(a.certPem).serialNumber,
      new X509Certificate(b.certPem).serialNumber,
    );
  });

  it('honours an explicit (expired) window', async () => {
    const node = await createNodeCert(ca, 'old', { notBeforeMs: 1_000, notAfterMs: 2_000 });
    const cert = new X509Certificate(node.certPem);
    assert.equal(Date.parse(cert.validFrom), 1_000);
    assert.equal(Date.parse(cert.validTo), 2_000);
  });

  it('refuses bad names, bad hosts and a broken CA', async () => {
    for (const name of ['', 'Node', '-a', 'a-', 'a_b', 'a.b', 'ca', 'x'.repeat(64), 'é']) {
      await assert.rejects(createNodeCert(ca, name), rejectsWith('CERT_NAME'), name);
    }
    await assert.rejects(createNodeCert(ca, 3 as unknown as string), rejectsWith('CERT_NAME'));
    validateNodeName('x'.repeat(63));
    validateNodeName('n0-1');
    for (const host of ['not a host', 'UPPER.example', '', '-x.example']) {
      await assert.rejects(createNodeCert(ca, 'n', { hosts: [host] }), rejectsWith('MESH_CONFIG'));
    }
    await assert.rejects(
      createNodeCert(ca, 'n', { hosts: Array.from({ length: 65 }, () => '127.0.0.1') }),
      rejectsWith('MESH_CONFIG'),
    );
    await assert.rejects(
      createNodeCert({ certPem: 'junk', keyPem: ca.keyPem }, 'n'),
      rejectsWith('CERT_INVALID'),
    );
    const other = await createCa();
    await assert.rejects(
      createNodeCert({ certPem: ca.certPem, keyPem: other.keyPem }, 'n'),
      rejectsWith('CERT_INVALID'),
      'a CA key that does not match the CA certificate',
    );
  });
});

describe('identity', () => {
  it('derives the RFC 8032 test-1 NodeId from a certificate holding that key', async () => {
    // docs/PROTOCOL.md#identities: NodeId(d75a98…511a) = 7291050420889050627.
    // Build a certificate for that key
    // with @peculiar/x509 directly, so only the extraction path is under test.
    const seed = Buffer.from(
      '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
      'hex',
    );
    const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
    const privateKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, { name: 'Ed25519' }, true, [
      'sign',
    ]);
    const jwk = await webcrypto.subtle.exportKey('jwk', privateKey);
    const publicKey = await webcrypto.subtle.importKey(
      'jwk',
      { kty: 'OKP', crv: 'Ed25519', x: jwk.x! },
      { name: 'Ed25519' },
      true,
      ['verify'],
    );
    x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: '01',
      name: 'CN=rfc8032',
      keys: { privateKey, publicKey } as Parameters<
        typeof x509.X509CertificateGenerator.createSelfSigned
      >[0]['keys'],
      signingAlgorithm: { name: 'Ed25519' },
    });
    const pem = cert.toString('pem');
    assert.equal(
      Buffer.from(ed25519PublicKeyFromCertificate(pem)).toString('hex'),
      'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    );
    assert.equal(nodeIdFromCertificate(pem), 7291050420889050627n);
  });

  it('agrees with the last 32 bytes of the SPKI DER', async () => {
    const node = await createNodeCert(ca, 'n');
    const spki = createPublicKey(node.certPem).export({ type: 'spki', format: 'der' });
    assert.equal(spki.length, 44);
    assert.equal(nodeIdFromPublicKey(new Uint8Array(spki.subarray(12))), node.nodeId);
  });

  it('refuses a certificate whose key is not Ed25519, and garbage', async () => {
    const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ]);
    const ecdsa = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: '02',
      name: 'CN=ecdsa',
      keys: keys as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'],
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    });
    assert.throws(() => nodeIdFromCertificate(ecdsa.toString('pem')), rejectsWith('CERT_INVALID'));
    assert.throws(() => nodeIdFromCertificate('not a certificate'), rejectsWith('CERT_INVALID'));
  });

  it('checkCredentials accepts a node and refuses mismatched or foreign material', async () => {
    const a = await createNodeCert(ca, 'node-a');
    const b = await createNodeCert(ca, 'node-b');
    const identity = checkCredentials({
      caCertPem: ca.certPem,
      certPem: a.certPem,
      keyPem: a.keyPem,
    });
    assert.equal(identity.nodeId, a.nodeId);
    assert.equal(identity.name, 'node-a');
    assert.throws(
      () => checkCredentials({ caCertPem: ca.certPem, certPem: a.certPem, keyPem: b.keyPem }),
      rejectsWith('CERT_INVALID'),
    );
    const foreign = await createCa();
    assert.throws(
      () => checkCredentials({ caCertPem: foreign.certPem, certPem: a.certPem, keyPem: a.keyPem }),
      rejectsWith('CERT_INVALID'),
    );
    assert.throws(
      () => checkCredentials({ caCertPem: ca.certPem, certPem: a.certPem, keyPem: '' }),
      rejectsWith('CERT_INVALID'),
    );
    assert.throws(
      () => checkCredentials({ caCertPem: ca.certPem, certPem: a.certPem, keyPem: 'junk' }),
      rejectsWith('CERT_INVALID'),
    );
  });
});

describe('certificate files', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'redex-certs-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('init writes ca.crt and a 0600 ca.key, and refuses to overwrite them', async () => {
    const written = await initCa(join(dir, 'cluster'));
    assert.equal(written.certPath, join(dir, 'cluster', 'ca.crt'));
    assert.equal((await stat(written.keyPath)).mode & 0o777, 0o600);
    assert.equal(await readFile(written.certPath, 'utf8'), written.certPem);
    await assert.rejects(initCa(join(dir, 'cluster')), rejectsWith('CERT_EXISTS'));
    const loaded = await loadCa(join(dir, 'cluster'));
    assert.equal(loaded.certPem, written.certPem);
    // force replaces both files (and keeps the key private)
    const replaced = await initCa(join(dir, 'cluster'), { force: true });
    assert.notEqual(replaced.certPem, written.certPem);
    assert.equal((await stat(replaced.keyPath)).mode & 0o777, 0o600);
  });

  it('issue writes NAME.crt and a 0600 NAME.key that load back as credentials', async () => {
    const cluster = join(dir, 'cluster');
    const issued = await issueNodeCert(cluster, 'node-1', { hosts: ['127.0.0.1'] });
    assert.equal(issued.keyPath, join(cluster, 'node-1.key'));
    assert.equal((await stat(issued.keyPath)).mode & 0o777, 0o600);
    const credentials = await loadNodeCredentials(cluster, 'node-1');
    assert.equal(checkCredentials(credentials).nodeId, issued.nodeId);
    assert.equal(await nodeIdOfCertFile(issued.certPath), issued.nodeId);
    await assert.rejects(issueNodeCert(cluster, 'node-1'), rejectsWith('CERT_EXISTS'));
    await assert.rejects(issueNodeCert(cluster, 'ca'), rejectsWith('CERT_NAME'));
    await assert.rejects(issueNodeCert(cluster, '../evil'), rejectsWith('CERT_NAME'));
  });

  it('reports missing and corrupted files with typed errors', async () => {
    await assert.rejects(issueNodeCert(join(dir, 'empty'), 'n'), rejectsWith('CERT_MISSING'));
    await assert.rejects(
      loadNodeCredentials(join(dir, 'cluster'), 'nobody'),
      rejectsWith('CERT_MISSING'),
    );
    await assert.rejects(initCa(''), rejectsWith('MESH_CONFIG'));
    const cluster = join(dir, 'cluster');
    await issueNodeCert(cluster, 'node-2');
    await writeFile(join(cluster, 'node-2.key'), (await loadCa(cluster)).keyPem);
    await assert.rejects(loadNodeCredentials(cluster, 'node-2'), rejectsWith('CERT_INVALID'));
    const error = await loadNodeCredentials(cluster, 'nobody').catch((e: unknown) => e);
    assert.ok(error instanceof MeshError);
    assert.equal(error.code, 'IO');
  });
});
