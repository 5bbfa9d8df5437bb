// Cluster certificates (docs/OPERATIONS.md#certificates): a self-signed Ed25519 CA and Ed25519
// node certificates it signs, made with @peculiar/x509 (loaded on first use, see x509-loader.ts)
// and returned as PEM. `redex certs init` calls `initCa(dir)` and `redex certs issue NAME` calls
// `issueNodeCert(dir, name)`; tests use the in-memory `createCa` / `createNodeCert` so they touch
// no disk.
//
// Directory layout (flat, so an operator can copy one node's two files):
//   ca.crt  ca.key          the CA (key 0600)
//   NAME.crt  NAME.key      one node (key 0600); NAME is a DNS label, `ca` is reserved
//
// Time comes from an injected `Clock` (default: the system clock), so validity windows are
// testable; explicit `notBeforeMs`/`notAfterMs` make expired or not-yet-valid certificates.

import { createPrivateKey, KeyObject, randomBytes, webcrypto } from 'node:crypto';
import { chmod, mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type * as x509 from '@peculiar/x509';
import type { Clock } from '../time/clock.js';
import { systemClock } from '../time/system-clock.js';
import type { NodeId } from '../wire/types.js';
import { MeshError, MeshErrorReason } from './errors.js';
import { checkCredentials, type MeshCredentials, nodeIdFromCertificate } from './identity.js';
import { loadX509 } from './x509-loader.js';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const ED25519 = { name: 'Ed25519' } as const;
const DAY_MS = 86_400_000;
/** Default CA lifetime: long, since rotating a cluster CA means reissuing every node. */
export const CA_VALIDITY_DAYS_DEFAULT = 3650;
/** Default node certificate lifetime. */
export const NODE_VALIDITY_DAYS_DEFAULT = 397;
/** Upper bound on any requested lifetime (a typo like 36500000 days is refused). */
export const VALIDITY_DAYS_MAX = 36_500;
/** notBefore is backdated by this much so a peer whose clock is slightly behind accepts it. */
export const CLOCK_SKEW_ALLOWANCE_MS = 5 * 60_000;
/** Extra SAN entries per node certificate. */
export const CERT_HOSTS_MAX = 64;
/** Node names are DNS labels (they go into the SAN and the file name). */
export const NODE_NAME_BYTES_MAX = 63;
const NODE_NAME_PATTERN = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
const DNS_NAME_PATTERN =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;
const RESERVED_NAMES = new Set(['ca']);

export const CA_CERT_FILE = 'ca.crt';
export const CA_KEY_FILE = 'ca.key';
const KEY_FILE_MODE = 0o600;
const DIR_MODE = 0o700;

/** A CA or node certificate with its private key, both PEM. */
export interface CertificateMaterial {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface NodeCertificateMaterial extends CertificateMaterial {
  readonly name: string;
  readonly nodeId: NodeId;
}

export interface ValidityOptions {
  /** Source of "now" (default: the system clock). */
  readonly clock?: Clock;
  /** Lifetime from now (ignored when `notAfterMs` is given). */
  readonly validityDays?: number;
  /** Explicit window start, ms since the epoch (default: now minus the clock-skew allowance). */
  readonly notBeforeMs?: number;
  /** Explicit window end, ms since the epoch. */
  readonly notAfterMs?: number;
}

export interface CaOptions extends ValidityOptions {
  /** Subject common name (default `redex cluster CA`). */
  readonly commonName?: string;
}

export interface NodeCertOptions extends ValidityOptions {
  /** Extra subject alternative names: IP addresses or DNS names this node is reached at. */
  readonly hosts?: readonly string[];
}

export interface WriteOptions {
  /** Overwrite existing files (default false: refuse with CERT_EXISTS). */
  readonly force?: boolean;
}

/** Throws `CERT_NAME` unless `name` is a usable node name. */
export function validateNodeName(name: string): void {
  if (typeof name !== 'string' || name.length === 0) {
    throw new MeshError(MeshErrorReason.CertName, 'node name must be a non-empty string');
  }
  if (name.length > NODE_NAME_BYTES_MAX) {
    throw new MeshError(
      MeshErrorReason.CertName,
      `node name ${JSON.stringify(name.slice(0, 80))} is longer than ${NODE_NAME_BYTES_MAX} characters`,
    );
  }
  if (!NODE_NAME_PATTERN.test(name)) {
    throw new MeshError(
      MeshErrorReason.CertName,
      `node name ${JSON.stringify(name)} must be a DNS label: a-z, 0-9 and '-', not starting or ending with '-'`,
    );
  }
  if (RESERVED_NAMES.has(name)) {
    throw new MeshError(
      MeshErrorReason.CertName,
      `node name ${JSON.stringify(name)} is reserved (the CA's files use it)`,
    );
  }
}

function validateHosts(hosts: readonly string[]): x509.JsonGeneralName[] {
  if (!Array.isArray(hosts) || hosts.length > CERT_HOSTS_MAX) {
    throw new MeshError(
      MeshErrorReason.Config,
      `hosts must be an array of at most ${CERT_HOSTS_MAX} entries`,
    );
  }
  return hosts.map((host) => {
    if (typeof host === 'string' && isIP(host) !== 0) return { type: 'ip', value: host };
    if (typeof host === 'string' && DNS_NAME_PATTERN.test(host))
      return { type: 'dns', value: host };
    throw new MeshError(
      MeshErrorReason.Config,
      `host ${JSON.stringify(host)} is neither an IP address nor a lowercase DNS name`,
    );
  });
}

function validityWindow(options: ValidityOptions, defaultDays: number): [Date, Date] {
  const nowMs = (options.clock ?? systemClock).nowMs();
  const days = options.validityDays ?? defaultDays;
  if (!Number.isSafeInteger(days) || days < 1 || days > VALIDITY_DAYS_MAX) {
    throw new MeshError(
      MeshErrorReason.Config,
      `validityDays must be an integer in [1, ${VALIDITY_DAYS_MAX}], got ${String(days)}`,
    );
  }
  const notBeforeMs = options.notBeforeMs ?? nowMs - CLOCK_SKEW_ALLOWANCE_MS;
  const notAfterMs = options.notAfterMs ?? nowMs + days * DAY_MS;
  for (const [field, value] of [
    ['notBeforeMs', notBeforeMs],
    ['notAfterMs', notAfterMs],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new MeshError(
        MeshErrorReason.Config,
        `${field} must be a non-negative integer, got ${String(value)}`,
      );
    }
  }
  if (notAfterMs <= notBeforeMs) {
    throw new MeshError(
      MeshErrorReason.Config,
      `notAfterMs (${notAfterMs}) must be after notBeforeMs (${notBeforeMs})`,
    );
  }
  return [new Date(notBeforeMs), new Date(notAfterMs)];
}

/** A positive 128-bit serial: RFC 5280 wants unique, unpredictable, at most 20 bytes. */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f;
  if (bytes[0] === 0) bytes[0] = 1;
  return bytes.toString('hex');
}

async function generateKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ED25519, true, ['sign', 'verify'])) as CryptoKeyPair;
}

function exportKeyPem(key: CryptoKey): string {
  return KeyObject.from(key).export({ type: 'pkcs8', format: 'pem' }) as string;
}

/** A self-signed Ed25519 CA (basic constraints CA, path length 0: it signs node certs only). */
export async function createCa(options: CaOptions = {}): Promise<CertificateMaterial> {
  const [notBefore, notAfter] = validityWindow(options, CA_VALIDITY_DAYS_DEFAULT);
  const commonName = options.commonName ?? 'redex cluster CA';
  if (typeof commonName !== 'string' || !/^[\w .-]{1,64}$/.test(commonName)) {
    throw new MeshError(
      MeshErrorReason.Config,
      `commonName must be 1..64 characters of letters, digits, space, '.', '_' or '-'`,
    );
  }
  const x509 = await loadX509();
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: [{ CN: [commonName] }],
    notBefore,
    notAfter,
    keys,
    signingAlgorithm: ED25519,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: exportKeyPem(keys.privateKey) };
}

async function importCa(ca: CertificateMaterial): Promise<[x509.X509Certificate, CryptoKey]> {
  const x509 = await loadX509();
  let cert: x509.X509Certificate;
  let der: Buffer;
  try {
    cert = new x509.X509Certificate(ca.certPem);
    der = createPrivateKey(ca.keyPem).export({ type: 'pkcs8', format: 'der' });
  } catch (error) {
    throw new MeshError(MeshErrorReason.CertInvalid, 'CA certificate or key does not parse', {
      cause: error,
    });
  }
  let signingKey: CryptoKey;
  try {
    signingKey = (await webcrypto.subtle.importKey('pkcs8', der, ED25519, false, [
      'sign',
    ])) as CryptoKey;
  } catch (error) {
    throw new MeshError(MeshErrorReason.CertInvalid, 'CA key is not an Ed25519 key', {
      cause: error,
    });
  }
  return [cert, signingKey];
}

/** An Ed25519 node certificate signed by `ca`: SAN DNS:name (+ hosts), serverAuth + clientAuth. */
export async function createNodeCert(
  ca: CertificateMaterial,
  name: string,
  options: NodeCertOptions = {},
): Promise<NodeCertificateMaterial> {
  validateNodeName(name);
  const sans = [{ type: 'dns', value: name } as x509.JsonGeneralName].concat(
    validateHosts(options.hosts ?? []),
  );
  const [notBefore, notAfter] = validityWindow(options, NODE_VALIDITY_DAYS_DEFAULT);
  const [caCert, signingKey] = await importCa(ca);
  const x509 = await loadX509();
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: [{ CN: [name] }],
    issuer: caCert.subjectName,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey,
    signingAlgorithm: ED25519,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([
        x509.ExtendedKeyUsage.serverAuth,
        x509.ExtendedKeyUsage.clientAuth,
      ]),
      new x509.SubjectAlternativeNameExtension(sans),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const material = { certPem: cert.toString('pem'), keyPem: exportKeyPem(keys.privateKey) };
  // Fails loudly if the CA key does not belong to the CA certificate (a node cert that no peer
  // would ever accept).
  const identity = checkCredentials({ caCertPem: ca.certPem, ...material });
  return { ...material, name, nodeId: identity.nodeId };
}

/**
 * An API client certificate (`redex certs issue NAME --client`): CN=name and the clientAuth
 * usage only. The mesh refuses it (a node certificate also carries serverAuth), so a client's
 * key can never join the cluster, and a node's HTTP API accepts it only for names on its
 * allow-list (`http.clientNames`).
 */
export async function createClientCert(
  ca: CertificateMaterial,
  name: string,
  options: ValidityOptions = {},
): Promise<CertificateMaterial & { readonly name: string }> {
  validateNodeName(name);
  const [notBefore, notAfter] = validityWindow(options, NODE_VALIDITY_DAYS_DEFAULT);
  const [caCert, signingKey] = await importCa(ca);
  const x509 = await loadX509();
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: [{ CN: [name] }],
    issuer: caCert.subjectName,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey,
    signingAlgorithm: ED25519,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const material = { certPem: cert.toString('pem'), keyPem: exportKeyPem(keys.privateKey) };
  checkCredentials({ caCertPem: ca.certPem, ...material });
  return { ...material, name };
}

// ---------------------------------------------------------------------------------------------
// Files

export interface WrittenFiles {
  readonly certPath: string;
  readonly keyPath: string;
}

function checkDir(dir: string): void {
  if (typeof dir !== 'string' || dir.length === 0) {
    throw new MeshError(MeshErrorReason.Config, 'certificate directory must be a non-empty path');
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw ioError(`cannot stat ${path}`, error);
  }
}

function ioError(message: string, cause: unknown): MeshError {
  return new MeshError(MeshErrorReason.Io, `${message}: ${(cause as Error).message}`, { cause });
}

async function writeMaterial(
  dir: string,
  base: string,
  material: CertificateMaterial,
  options: WriteOptions,
): Promise<WrittenFiles> {
  const certPath = join(dir, `${base}.crt`);
  const keyPath = join(dir, `${base}.key`);
  try {
    await mkdir(dir, { recursive: true, mode: DIR_MODE });
  } catch (error) {
    throw ioError(`cannot create ${dir}`, error);
  }
  if (!options.force) {
    for (const path of [certPath, keyPath]) {
      if (await exists(path)) {
        throw new MeshError(
          MeshErrorReason.CertExists,
          `${path} already exists; refusing to overwrite it (pass { force: true } to replace it)`,
        );
      }
    }
  }
  try {
    await writeNewFile(keyPath, material.keyPem, KEY_FILE_MODE, options.force === true);
    await writeNewFile(certPath, material.certPem, 0o644, options.force === true);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new MeshError(MeshErrorReason.CertExists, `${keyPath} or ${certPath} already exists`);
    }
    throw ioError(`cannot write ${base} certificate files in ${dir}`, error);
  }
  return { certPath, keyPath };
}

/**
 * Writes `text` to `path` as a new file with exactly `mode`. Without `replace` it is an exclusive
 * create ('wx' closes the race with the existence check). With `replace` the text goes to a
 * fresh temporary file (exclusive, so never through a planted symlink) that is renamed over
 * `path`: the old file is replaced whole, and the key is never readable under a looser mode.
 */
async function writeNewFile(path: string, text: string, mode: number, replace: boolean) {
  if (!replace) {
    await writeFile(path, text, { mode, flag: 'wx' });
    // The mode above is filtered by the umask; make it exact.
    await chmod(path, mode);
    return;
  }
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, text, { mode: mode & 0o600, flag: 'wx' });
    await chmod(temporary, mode);
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => {});
    throw error;
  }
}

async function readPem(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new MeshError(MeshErrorReason.CertMissing, `${path} does not exist`, { cause: error });
    }
    throw ioError(`cannot read ${path}`, error);
  }
}

/** `redex certs init`: creates the cluster CA in `dir` (ca.crt, ca.key 0600). */
export async function initCa(
  dir: string,
  options: CaOptions & WriteOptions = {},
): Promise<WrittenFiles & CertificateMaterial> {
  checkDir(dir);
  const ca = await createCa(options);
  const files = await writeMaterial(dir, 'ca', ca, options);
  return { ...files, ...ca };
}

/** Reads the CA from `dir`. */
export async function loadCa(dir: string): Promise<CertificateMaterial> {
  checkDir(dir);
  return {
    certPem: await readPem(join(dir, CA_CERT_FILE)),
    keyPem: await readPem(join(dir, CA_KEY_FILE)),
  };
}

/** `redex certs issue NAME`: a node key and certificate signed by the CA in `dir`. */
export async function issueNodeCert(
  dir: string,
  name: string,
  options: NodeCertOptions & WriteOptions = {},
): Promise<WrittenFiles & NodeCertificateMaterial> {
  checkDir(dir);
  validateNodeName(name);
  const ca = await loadCa(dir);
  const node = await createNodeCert(ca, name, options);
  const files = await writeMaterial(dir, name, node, options);
  return { ...files, ...node };
}

/** `redex certs issue NAME --client`: an API client key and certificate (see createClientCert). */
export async function issueClientCert(
  dir: string,
  name: string,
  options: ValidityOptions & WriteOptions = {},
): Promise<WrittenFiles & CertificateMaterial & { readonly name: string }> {
  checkDir(dir);
  validateNodeName(name);
  const ca = await loadCa(dir);
  const client = await createClientCert(ca, name, options);
  const files = await writeMaterial(dir, name, client, options);
  return { ...files, ...client };
}

/** What a node needs to start its transport, read from `dir` and checked (`CERT_INVALID`). */
export async function loadNodeCredentials(dir: string, name: string): Promise<MeshCredentials> {
  checkDir(dir);
  validateNodeName(name);
  const credentials = {
    caCertPem: await readPem(join(dir, CA_CERT_FILE)),
    certPem: await readPem(join(dir, `${name}.crt`)),
    keyPem: await readPem(join(dir, `${name}.key`)),
  };
  checkCredentials(credentials);
  return credentials;
}

/** The NodeId of a node certificate file, e.g. for `redex certs issue` to print. */
export async function nodeIdOfCertFile(path: string): Promise<NodeId> {
  return nodeIdFromCertificate(await readPem(path));
}
