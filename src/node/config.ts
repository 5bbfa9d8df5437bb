// The node config file (`redex serve --config node.json`): who this node is, where it keeps its
// data, where it listens, who its cluster peers are and which channels it opens at start.
// `parseNodeConfig` is pure (JSON value in, validated config out, every failure a
// `NodeConfigError` naming the field); `loadNodeConfig` adds the file reading: the JSON itself,
// and the bearer token from `http.tokenFile`. Relative paths are resolved against the directory
// of the config file. The reference is docs/OPERATIONS.md; its example is checked by a test.

import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { NodeId } from '../wire/types.js';
import { type HostPort, isLoopbackHost, parseHostPort } from './address.js';
import { type ChannelSpec, parseChannelSpec } from './channel-spec.js';
import { NodeConfigError } from './errors.js';
import { parseNodeIdHex } from './node-id.js';
import {
  checkArray,
  checkBoolean,
  checkInteger,
  checkKeys,
  checkObject,
  checkString,
  describe,
  type FieldContext,
  fail,
} from './validate.js';

/** A config file larger than this is refused before parsing (it is a few KiB in practice). */
export const CONFIG_FILE_BYTES_MAX = 1024 * 1024;
export const MEMBERS_MAX = 256;
export const CONFIG_CHANNELS_MAX = 4096;
/** Bearer tokens shorter than this are guessable; longer than the max is a pasted file. */
export const TOKEN_CHARS_MIN = 16;
export const TOKEN_CHARS_MAX = 1024;
export const NODE_NAME_CHARS_MAX = 63;
/** Entries of `http.clientNames` and of `http.hosts`. */
export const HTTP_NAMES_MAX = 64;
export const HTTP_PORT_DEFAULT = 7070;
export const HTTP_HOST_DEFAULT = '127.0.0.1';
export const MESH_PORT_DEFAULT = 7071;
export const RETENTION_SWEEP_MS_DEFAULT = 60_000;
export const RETENTION_SWEEP_MS_MIN = 100;
export const RETENTION_SWEEP_MS_MAX = 86_400_000;
const PATH_CHARS_MAX = 4096;

/** Node names are DNS labels, the same rule as certificate names (`redex certs issue NAME`). */
const NODE_NAME = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
const DNS_NAME =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;
/** Token characters: printable ASCII without spaces, so it fits an Authorization header as is. */
const TOKEN_CHARS = /^[\x21-\x7e]+$/;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface HttpConfig {
  readonly listen: HostPort;
  /** The bearer token clients must send; null when none is configured. */
  readonly token: string | null;
  /** Where the token is read from by `loadNodeConfig` (absolute), or null. */
  readonly tokenFile: string | null;
  /** Serve HTTPS and require a client certificate signed by the cluster CA (uses `tls`). */
  readonly clientCerts: boolean;
  /**
   * Certificate names allowed as API clients besides the members (`redex certs issue NAME
   * --client`); only with `clientCerts`.
   */
  readonly clientNames: readonly string[];
  /** DNS names clients reach this node by; a node without a token refuses any other `Host`. */
  readonly hosts: readonly string[];
}

export interface TlsPaths {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

export interface MemberConfig {
  readonly name: string;
  /** Given in the file; null when it comes from `cert` (or, for this node, `tls.cert`). */
  readonly nodeId: NodeId | null;
  /** A certificate file to derive the NodeId from, or null. */
  readonly cert: string | null;
  /** Where peers dial this member's mesh port; null on a one-member config. */
  readonly mesh: HostPort | null;
  /** The member's HTTP API origin (`http://10.0.0.2:7070`), for NOT_LEADER redirects. */
  readonly http: string | null;
}

export interface MeshConfig {
  readonly listen: HostPort;
  /**
   * Heartbeats of every channel batched per peer, on one tick grid (the default); false sends one
   * frame per channel heartbeat and gives each channel its own timer.
   */
  readonly coalesceHeartbeats: boolean;
  /** Node beats on top of coalescing (the default): unchanged heartbeats are left out. */
  readonly nodeBeats: boolean;
}

export interface NodeConfig {
  readonly node: string;
  readonly dataDir: string;
  readonly http: HttpConfig;
  readonly tls: TlsPaths | null;
  readonly mesh: MeshConfig | null;
  readonly members: readonly MemberConfig[];
  readonly channels: readonly ChannelSpec[];
  readonly retentionSweepMs: number;
  readonly logLevel: LogLevel;
}

export interface ParseOptions {
  /** Directory relative paths are resolved against (the config file's directory). */
  readonly baseDir: string;
}

const TOP_FIELDS = [
  'node',
  'dataDir',
  'http',
  'tls',
  'mesh',
  'members',
  'channels',
  'retentionSweepMs',
  'logLevel',
] as const;
const CTX: FieldContext = {};

export function parseNodeConfig(value: unknown, options: ParseOptions): NodeConfig {
  const root = checkObject(CTX, '(config)', value);
  checkKeys(CTX, '', root, TOP_FIELDS);
  const node = checkNodeName('node', root.node);
  const path = (field: string, raw: unknown) =>
    resolve(options.baseDir, checkString(CTX, field, raw, { maxLength: PATH_CHARS_MAX }));
  const dataDir = path('dataDir', root.dataDir);
  const tls = root.tls === undefined ? null : parseTls(root.tls, path);
  const http = parseHttp(root.http, path, tls);
  const mesh = root.mesh === undefined ? null : parseMesh(root.mesh);
  const members = parseMembers(root.members, node, path, tls, mesh);
  const memberNames = new Set(members.map((member) => member.name));
  const channels = parseChannels(root.channels, memberNames);
  return {
    node,
    dataDir,
    http,
    tls,
    mesh,
    members,
    channels,
    retentionSweepMs:
      root.retentionSweepMs === undefined
        ? RETENTION_SWEEP_MS_DEFAULT
        : checkInteger(
            CTX,
            'retentionSweepMs',
            root.retentionSweepMs,
            RETENTION_SWEEP_MS_MIN,
            RETENTION_SWEEP_MS_MAX,
          ),
    logLevel: parseLogLevel(root.logLevel),
  };
}

function checkNodeName(field: string, value: unknown): string {
  const name = checkString(CTX, field, value, { maxLength: NODE_NAME_CHARS_MAX });
  if (!NODE_NAME.test(name)) {
    fail(
      CTX,
      field,
      `must be a DNS label (a-z, 0-9 and '-', not starting or ending with '-'), got ${describe(name)}`,
    );
  }
  return name;
}

function parseTls(value: unknown, path: (field: string, raw: unknown) => string): TlsPaths {
  const tls = checkObject(CTX, 'tls', value);
  checkKeys(CTX, 'tls', tls, ['ca', 'cert', 'key']);
  return {
    ca: path('tls.ca', tls.ca),
    cert: path('tls.cert', tls.cert),
    key: path('tls.key', tls.key),
  };
}

function parseHttp(
  value: unknown,
  path: (field: string, raw: unknown) => string,
  tls: TlsPaths | null,
): HttpConfig {
  const http = value === undefined ? {} : checkObject(CTX, 'http', value);
  checkKeys(CTX, 'http', http, [
    'listen',
    'token',
    'tokenFile',
    'clientCerts',
    'clientNames',
    'hosts',
  ]);
  let listen: HostPort = { host: HTTP_HOST_DEFAULT, port: HTTP_PORT_DEFAULT };
  if (http.listen !== undefined) listen = hostPort('http.listen', http.listen, true);
  if (http.token !== undefined && http.tokenFile !== undefined) {
    fail(CTX, 'http.token', "and 'http.tokenFile' are both set; keep one");
  }
  const token = http.token === undefined ? null : checkToken('http.token', http.token);
  const tokenFile = http.tokenFile === undefined ? null : path('http.tokenFile', http.tokenFile);
  const clientCerts =
    http.clientCerts === undefined
      ? false
      : checkBoolean(CTX, 'http.clientCerts', http.clientCerts);
  if (clientCerts && tls === null) {
    fail(CTX, 'http.clientCerts', "needs the 'tls' block (the CA that signs client certificates)");
  }
  if (!isLoopbackHost(listen.host) && token === null && tokenFile === null && !clientCerts) {
    fail(
      CTX,
      'http.listen',
      `is ${listen.host}, which is not a loopback address; set 'http.token' (or 'http.tokenFile') or 'http.clientCerts' so the API is not open to the network`,
    );
  }
  const clientNames =
    http.clientNames === undefined
      ? []
      : checkArray(CTX, 'http.clientNames', http.clientNames, HTTP_NAMES_MAX).map((name, index) =>
          checkNodeName(`http.clientNames[${index}]`, name),
        );
  if (clientNames.length > 0 && !clientCerts) {
    fail(CTX, 'http.clientNames', "only applies with 'http.clientCerts': true");
  }
  const hosts =
    http.hosts === undefined
      ? []
      : checkArray(CTX, 'http.hosts', http.hosts, HTTP_NAMES_MAX).map((name, index) => {
          const host = checkString(CTX, `http.hosts[${index}]`, name, { maxLength: 253 });
          if (!DNS_NAME.test(host)) {
            fail(
              CTX,
              `http.hosts[${index}]`,
              `must be a lowercase DNS name, got ${describe(host)}`,
            );
          }
          return host;
        });
  return { listen, token, tokenFile, clientCerts, clientNames, hosts };
}

/** Checks a bearer token's shape (also the contents of a token file). Never echoes the value. */
export function checkToken(field: string, value: unknown): string {
  if (typeof value !== 'string') fail(CTX, field, `must be a string, got ${typeof value}`);
  if (value.length < TOKEN_CHARS_MIN || value.length > TOKEN_CHARS_MAX) {
    fail(
      CTX,
      field,
      `must be ${TOKEN_CHARS_MIN}..${TOKEN_CHARS_MAX} characters long, got ${value.length}`,
    );
  }
  if (!TOKEN_CHARS.test(value)) fail(CTX, field, 'must be printable ASCII without spaces');
  return value;
}

function parseMesh(value: unknown): MeshConfig {
  const mesh = checkObject(CTX, 'mesh', value);
  checkKeys(CTX, 'mesh', mesh, ['listen', 'coalesceHeartbeats', 'nodeBeats']);
  const listen =
    mesh.listen === undefined
      ? { host: '0.0.0.0', port: MESH_PORT_DEFAULT }
      : hostPort('mesh.listen', mesh.listen, true);
  const coalesceHeartbeats =
    mesh.coalesceHeartbeats === undefined
      ? true
      : checkBoolean(CTX, 'mesh.coalesceHeartbeats', mesh.coalesceHeartbeats);
  const nodeBeats =
    mesh.nodeBeats === undefined ? true : checkBoolean(CTX, 'mesh.nodeBeats', mesh.nodeBeats);
  return { listen, coalesceHeartbeats, nodeBeats };
}

function parseMembers(
  value: unknown,
  self: string,
  path: (field: string, raw: unknown) => string,
  tls: TlsPaths | null,
  mesh: { listen: HostPort } | null,
): MemberConfig[] {
  if (value === undefined) return [];
  const entries = checkArray(CTX, 'members', value, MEMBERS_MAX);
  const cluster = entries.length > 1;
  if (cluster && tls === null)
    fail(CTX, 'tls', `is required: 'members' lists ${entries.length} nodes`);
  if (cluster && mesh === null)
    fail(CTX, 'mesh', `is required: 'members' lists ${entries.length} nodes`);
  const names = new Set<string>();
  const ids = new Map<NodeId, string>();
  const meshAddresses = new Set<string>();
  const members = entries.map((entry, index): MemberConfig => {
    const field = `members[${index}]`;
    const member = checkObject(CTX, field, entry);
    checkKeys(CTX, field, member, ['name', 'nodeId', 'cert', 'mesh', 'http']);
    const name = checkNodeName(`${field}.name`, member.name);
    if (names.has(name)) fail(CTX, `${field}.name`, `repeats member ${describe(name)}`);
    names.add(name);
    let nodeId: NodeId | null = null;
    if (member.nodeId !== undefined) {
      nodeId = parseNodeIdHex(member.nodeId);
      if (nodeId === null) {
        fail(
          CTX,
          `${field}.nodeId`,
          `must be 16 hex digits (not all zero), got ${describe(member.nodeId)}`,
        );
      }
      const other = ids.get(nodeId);
      if (other !== undefined)
        fail(CTX, `${field}.nodeId`, `is also the NodeId of ${describe(other)}`);
      ids.set(nodeId, name);
    }
    const cert = member.cert === undefined ? null : path(`${field}.cert`, member.cert);
    const ownCert = name === self && tls !== null;
    if (cluster && nodeId === null && cert === null && !ownCert) {
      fail(CTX, field, "needs 'nodeId' or 'cert' (placement needs every member's NodeId)");
    }
    let meshAddress: HostPort | null = null;
    if (member.mesh !== undefined) meshAddress = hostPort(`${field}.mesh`, member.mesh, false);
    else if (cluster) fail(CTX, `${field}.mesh`, 'is required in a cluster (peers dial it)');
    if (meshAddress !== null) {
      const key = `${meshAddress.host}:${meshAddress.port}`;
      if (meshAddresses.has(key)) fail(CTX, `${field}.mesh`, `repeats address ${key}`);
      meshAddresses.add(key);
    }
    const http = member.http === undefined ? null : httpOrigin(`${field}.http`, member.http);
    return { name, nodeId, cert, mesh: meshAddress, http };
  });
  if (members.length > 0 && !names.has(self)) {
    fail(CTX, 'members', `does not list this node (${describe(self)})`);
  }
  return members;
}

function parseChannels(value: unknown, members: ReadonlySet<string>): ChannelSpec[] {
  if (value === undefined) return [];
  const entries = checkArray(CTX, 'channels', value, CONFIG_CHANNELS_MAX);
  const seen = new Set<string>();
  return entries.map((entry, index) => {
    const spec = parseChannelSpec(entry, {
      prefix: `channels[${index}]`,
      defaultPersistent: true,
      members,
    });
    if (seen.has(spec.name)) {
      fail(CTX, `channels[${index}].name`, `repeats channel ${describe(spec.name)}`);
    }
    seen.add(spec.name);
    return spec;
  });
}

function parseLogLevel(value: unknown): LogLevel {
  if (value === undefined) return 'info';
  if (typeof value !== 'string' || !(LOG_LEVELS as readonly string[]).includes(value)) {
    fail(CTX, 'logLevel', `must be one of ${LOG_LEVELS.join(', ')}, got ${describe(value)}`);
  }
  return value as LogLevel;
}

function hostPort(field: string, value: unknown, allowPortZero: boolean): HostPort {
  const parsed = parseHostPort(value, { allowPortZero });
  if (typeof parsed === 'string') fail(CTX, field, parsed);
  return parsed;
}

/** An `http://host:port` or `https://host:port` origin, normalized (no path, no trailing slash). */
function httpOrigin(field: string, value: unknown): string {
  const text = checkString(CTX, field, value, { maxLength: 2048 });
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    fail(CTX, field, `must be a URL like "http://10.0.0.2:7070", got ${describe(text)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    fail(CTX, field, `must use http: or https:, got ${describe(url.protocol)}`);
  }
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '' || url.username !== '') {
    fail(CTX, field, `must be an origin only (scheme, host, port), got ${describe(text)}`);
  }
  return url.origin;
}

/** Reads, parses and validates a config file, then reads the token file if one is named. */
export async function loadNodeConfig(path: string): Promise<NodeConfig> {
  const { json, baseDir } = await readNodeConfigJson(path);
  return withTokenFile(parseNodeConfig(json, { baseDir }));
}

/** The JSON of a config file, unvalidated, and the directory its relative paths start from. */
export async function readNodeConfigJson(
  path: string,
): Promise<{ json: unknown; baseDir: string }> {
  const absolute = resolve(path);
  let bytes: Buffer;
  try {
    bytes = await readFile(absolute);
  } catch (error) {
    throw new NodeConfigError('(file)', `${absolute} cannot be read: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (bytes.byteLength > CONFIG_FILE_BYTES_MAX) {
    throw new NodeConfigError(
      '(file)',
      `${absolute} is ${bytes.byteLength} bytes; the limit is ${CONFIG_FILE_BYTES_MAX}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new NodeConfigError(
      '(file)',
      `${absolute} is not valid JSON: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  return { json, baseDir: dirname(absolute) };
}

/** `config` with the token read from `http.tokenFile`, if one is named. */
export async function withTokenFile(config: NodeConfig): Promise<NodeConfig> {
  if (config.http.tokenFile === null) return config;
  return { ...config, http: { ...config.http, token: await readTokenFile(config.http.tokenFile) } };
}

async function readTokenFile(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new NodeConfigError(
      'http.tokenFile',
      `${path} cannot be read: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  // Editors and `echo` add a final newline; it is not part of the token.
  return checkToken('http.tokenFile', text.replace(/\r?\n$/, ''));
}
