// Node identity from certificates (docs/PROTOCOL.md#identities). A node's NodeId is derived from the Ed25519
// public key in its certificate and from nothing else: the transport calls
// `nodeIdFromCertificate` on the certificate TLS verified, so a peer cannot claim another id.
//
// `checkCredentials` is what a transport runs once at construction on its own material: the
// certificate parses, holds an Ed25519 key, matches the private key and was signed by the CA.
// Expiry is not checked here (that needs the wall clock; TLS checks it on every handshake).

import { createPrivateKey, createPublicKey, type KeyObject, X509Certificate } from 'node:crypto';
import { ED25519_PUBLIC_KEY_BYTES, nodeIdFromPublicKey } from '../wire/ids.js';
import type { NodeId } from '../wire/types.js';
import { MeshError, MeshErrorReason } from './errors.js';

/** PEM material a node needs to join the mesh. */
export interface MeshCredentials {
  /** The cluster CA certificate every peer must chain to. */
  readonly caCertPem: string;
  /** This node's certificate, signed by the CA. */
  readonly certPem: string;
  /** This node's Ed25519 private key (PKCS#8 PEM). */
  readonly keyPem: string;
}

/** What `checkCredentials` found: the derived NodeId and the certificate's facts (safe to show). */
export interface NodeIdentity {
  readonly nodeId: NodeId;
  readonly publicKey: Uint8Array;
  /** The certificate's subject common name (the name given to `issueNodeCert`), if any. */
  readonly name: string | undefined;
  readonly notBeforeMs: number;
  readonly notAfterMs: number;
  /** The node's own certificate (PEM); the private key is deliberately not part of this. */
  readonly certPem: string;
}

function invalid(message: string, cause?: unknown): MeshError {
  return new MeshError(MeshErrorReason.CertInvalid, message, cause === undefined ? {} : { cause });
}

/** The raw 32-byte Ed25519 public key of a key object; refuses any other key type. */
export function ed25519RawPublicKey(key: KeyObject): Uint8Array {
  if (key.asymmetricKeyType !== 'ed25519') {
    throw invalid(`expected an Ed25519 key, got ${key.asymmetricKeyType ?? key.type}`);
  }
  const jwk = key.type === 'private' ? createPublicKey(key).export({ format: 'jwk' }) : null;
  const x = (jwk ?? key.export({ format: 'jwk' })).x;
  if (typeof x !== 'string') throw invalid('Ed25519 key has no public component');
  const raw = new Uint8Array(Buffer.from(x, 'base64url'));
  if (raw.length !== ED25519_PUBLIC_KEY_BYTES) {
    throw invalid(
      `Ed25519 public key is ${raw.length} bytes, expected ${ED25519_PUBLIC_KEY_BYTES}`,
    );
  }
  return raw;
}

function parseCertificate(cert: X509Certificate | string | Uint8Array, what: string) {
  if (cert instanceof X509Certificate) return cert;
  try {
    return new X509Certificate(cert);
  } catch (error) {
    throw invalid(`${what} is not a readable X.509 certificate`, error);
  }
}

/** The raw Ed25519 public key inside a certificate (PEM, DER or a parsed certificate). */
export function ed25519PublicKeyFromCertificate(
  cert: X509Certificate | string | Uint8Array,
): Uint8Array {
  return ed25519RawPublicKey(parseCertificate(cert, 'certificate').publicKey);
}

/** The NodeId of the certificate's key (docs/PROTOCOL.md#identities). */
export function nodeIdFromCertificate(cert: X509Certificate | string | Uint8Array): NodeId {
  return nodeIdFromPublicKey(ed25519PublicKeyFromCertificate(cert));
}

function commonName(subject: string): string | undefined {
  for (const line of subject.split('\n')) {
    if (line.startsWith('CN=')) return line.slice(3);
  }
  return undefined;
}

/** Validates a node's own credentials and derives its identity. Throws `CERT_INVALID`. */
export function checkCredentials(credentials: MeshCredentials): NodeIdentity {
  const { caCertPem, certPem, keyPem } = credentials ?? ({} as MeshCredentials);
  for (const [field, value] of [
    ['caCertPem', caCertPem],
    ['certPem', certPem],
    ['keyPem', keyPem],
  ] as const) {
    if (typeof value !== 'string' || value.length === 0) {
      throw invalid(`credentials.${field} must be a non-empty PEM string`);
    }
  }
  const ca = parseCertificate(caCertPem, 'credentials.caCertPem');
  const cert = parseCertificate(certPem, 'credentials.certPem');
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(keyPem);
  } catch (error) {
    throw invalid('credentials.keyPem is not a readable private key', error);
  }
  const publicKey = ed25519RawPublicKey(cert.publicKey);
  const fromPrivate = ed25519RawPublicKey(privateKey);
  if (Buffer.compare(publicKey, fromPrivate) !== 0) {
    throw invalid('credentials.keyPem does not match the public key in credentials.certPem');
  }
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) {
    throw invalid('credentials.certPem was not signed by credentials.caCertPem');
  }
  return {
    nodeId: nodeIdFromPublicKey(publicKey),
    publicKey,
    name: commonName(cert.subject),
    notBeforeMs: Date.parse(cert.validFrom),
    notAfterMs: Date.parse(cert.validTo),
    certPem,
  };
}
