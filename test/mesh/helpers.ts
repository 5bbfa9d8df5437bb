// Shared fixtures for the mesh tests: a cluster's certificates made in memory, condition waits with
// a hang guard (tests wait on state, never on fixed sleeps), raw TLS clients that speak the frame
// format by hand for hostile-input tests, and RedEX-looking frames.

import tls from 'node:tls';
import { createCa, createNodeCert } from '../../src/mesh/certs.js';
import { FrameDecoder } from '../../src/mesh/framing.js';
import type { MeshCredentials } from '../../src/mesh/identity.js';
import {
  MeshTransport,
  type MeshTransportOptions,
  type PeerEvent,
  type Transport,
} from '../../src/mesh/index.js';
import type { NodeId } from '../../src/wire/types.js';

export interface TestNode {
  readonly name: string;
  readonly nodeId: NodeId;
  readonly credentials: MeshCredentials;
}

/** A CA and one node certificate per name. */
export async function makeCluster(names: readonly string[]) {
  const ca = await createCa();
  const nodes: TestNode[] = [];
  for (const name of names) {
    const cert = await createNodeCert(ca, name, { hosts: ['127.0.0.1'] });
    nodes.push({
      name,
      nodeId: cert.nodeId,
      credentials: { caCertPem: ca.certPem, certPem: cert.certPem, keyPem: cert.keyPem },
    });
  }
  return { ca, nodes };
}

/** Test transports: loopback, fast pings and reconnects so nothing waits long. */
export function transportFor(
  node: TestNode,
  options: Partial<MeshTransportOptions> = {},
): MeshTransport {
  return new MeshTransport({
    credentials: node.credentials,
    listenHost: '127.0.0.1',
    pingIntervalMs: 50,
    idleTimeoutMs: 5_000,
    handshakeTimeoutMs: 5_000,
    reconnectBaseMs: 10,
    reconnectMaxMs: 100,
    closeTimeoutMs: 500,
    ...options,
  });
}

/** Hang guard for any wait: far above what a healthy run needs. */
export const WAIT_MS = 10_000;

/** Resolves once `predicate()` holds; polls, so it does not depend on how fast things happen. */
export async function waitFor(
  predicate: () => boolean,
  what: string,
  timeoutMs = WAIT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Resolves with the next peer event matching `kind` (and `nodeId` if given). */
export function nextPeerEvent(
  transport: Transport,
  kind: PeerEvent['kind'],
  nodeId?: NodeId,
  timeoutMs = WAIT_MS,
): Promise<PeerEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out waiting for peer ${kind}`));
    }, timeoutMs);
    const off = transport.onPeer((event) => {
      if (event.kind !== kind || (nodeId !== undefined && event.nodeId !== nodeId)) return;
      clearTimeout(timer);
      off();
      resolve(event);
    });
  });
}

/** Collects every replication frame a transport receives. */
export function collectFrames(transport: Transport): Array<{ from: NodeId; frame: Uint8Array }> {
  const frames: Array<{ from: NodeId; frame: Uint8Array }> = [];
  transport.onFrame((from, frame) => frames.push({ from, frame: frame.slice() }));
  return frames;
}

/** A frame the mesh carries: RedEX header `00 0e`, a dispatch code, then `payload`. */
export function redexFrame(payload: Uint8Array | string, code = 0x22): Uint8Array {
  const body = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
  const frame = new Uint8Array(3 + body.length);
  frame[0] = 0x00;
  frame[1] = 0x0e;
  frame[2] = code;
  frame.set(body, 3);
  return frame;
}

export function text(frame: Uint8Array): string {
  return new TextDecoder().decode(frame.subarray(3));
}

/** Raw bytes with a u32 LE length prefix (the prefix may lie: it is just 4 bytes). */
export function rawFrame(length: number, body: Uint8Array = new Uint8Array(0)): Buffer {
  const out = Buffer.alloc(4 + body.length);
  out.writeUInt32LE(length, 0);
  out.set(body, 4);
  return out;
}

/**
 * A TLS client that is not a MeshTransport: it presents `credentials`, decodes what the server
 * sends, and writes whatever bytes a test gives it.
 */
export class RawClient {
  readonly socket: tls.TLSSocket;
  readonly frames: Uint8Array[] = [];
  readonly closed: Promise<void>;
  secure = false;
  error: Error | null = null;
  readonly #decoder = new FrameDecoder();

  constructor(
    port: number,
    credentials: MeshCredentials,
    ca = credentials.caCertPem,
    localAddress?: string,
  ) {
    this.socket = tls.connect({
      host: '127.0.0.1',
      port,
      ...(localAddress === undefined ? {} : { localAddress }),
      ca: [ca],
      cert: credentials.certPem,
      key: credentials.keyPem,
      minVersion: 'TLSv1.3',
      checkServerIdentity: () => undefined,
    });
    this.socket.on('secureConnect', () => {
      this.secure = true;
    });
    this.socket.on('data', (chunk: Buffer) => {
      this.#decoder.push(chunk);
      for (let frame = this.#decoder.next(); frame !== null; frame = this.#decoder.next()) {
        this.frames.push(frame);
      }
    });
    this.socket.on('error', (error) => {
      this.error = error;
    });
    this.closed = new Promise((resolve) => this.socket.once('close', () => resolve()));
  }

  /** Waits for the server's first frame: proof it accepted our certificate. */
  confirmed(): Promise<void> {
    return waitFor(() => this.frames.length > 0, 'the first frame from the server');
  }

  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** A TLS server that is not a MeshTransport: it accepts cluster peers and stays silent. */
export class RawServer {
  readonly server: tls.Server;
  readonly sockets: tls.TLSSocket[] = [];

  constructor(credentials: MeshCredentials) {
    this.server = tls.createServer(
      {
        ca: [credentials.caCertPem],
        cert: credentials.certPem,
        key: credentials.keyPem,
        minVersion: 'TLSv1.3',
        requestCert: true,
        rejectUnauthorized: true,
      },
      (socket) => {
        socket.on('error', () => {});
        this.sockets.push(socket);
      },
    );
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as import('node:net').AddressInfo).port;
  }

  close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
