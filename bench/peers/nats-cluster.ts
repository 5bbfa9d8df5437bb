// A three-node NATS JetStream cluster on loopback for the peer benchmarks: Debian's `nats-server`
// (2.9.10 in bookworm), one process per server, JetStream file storage in a temporary directory,
// cluster routes over mutual TLS (certificates from our own CA code, with 127.0.0.1 in the SAN, so
// the replication path is encrypted as RedEX's mesh is). Clients connect in plain TCP on loopback.
// Ports are ephemeral ones checked free just before the servers start. Every process started here
// is killed by `close()`, on exit and on SIGINT/SIGTERM.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initCa, issueNodeCert } from '../../src/mesh/certs.js';

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/**
 * The nats-server binary, or null when it is not installed. `NATS_SERVER` names it explicitly
 * (a path that does not exist means "none": the JetStream figures are then skipped).
 */
export function findNatsServer(): string | null {
  const explicit = process.env.NATS_SERVER;
  if (explicit !== undefined && explicit !== '') return existsSync(explicit) ? explicit : null;
  const candidates = ['/usr/sbin/nats-server', '/usr/bin/nats-server'];
  for (const candidate of candidates) {
    if (candidate !== undefined && candidate !== '' && existsSync(candidate)) return candidate;
  }
  try {
    const found = execFileSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' }).trim();
    return found === '' ? null : found;
  } catch {
    return null;
  }
}

export function natsServerVersion(binary: string): string {
  return execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim();
}

/** `count` distinct loopback ports that were free a moment ago (bound, then released). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => {
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    return address.port;
  });
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

export interface NatsServerProcess {
  readonly name: string;
  readonly clientPort: number;
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
}

export class NatsCluster {
  readonly binary: string;
  readonly dir: string;
  readonly servers: NatsServerProcess[] = [];
  readonly #stderr = new Map<string, string>();

  private constructor(binary: string) {
    this.binary = binary;
    this.dir = mkdtempSync(join(tmpdir(), 'redex-bench-nats-'));
  }

  static async start(binary: string, size = 3): Promise<NatsCluster> {
    const cluster = new NatsCluster(binary);
    try {
      await cluster.#start(size);
      return cluster;
    } catch (error) {
      await cluster.close();
      throw error;
    }
  }

  async #start(size: number): Promise<void> {
    const certs = join(this.dir, 'certs');
    await initCa(certs);
    const names = Array.from({ length: size }, (_, i) => `s${i + 1}`);
    for (const name of names)
      await issueNodeCert(certs, name, { hosts: ['127.0.0.1', 'localhost'] });
    const ports = await freePorts(size * 2);
    const clientPorts = ports.slice(0, size);
    const routePorts = ports.slice(size);
    const routes = routePorts.map((port) => `nats-route://127.0.0.1:${port}`);
    for (const [i, name] of names.entries()) {
      const store = join(this.dir, `store-${name}`);
      mkdirSync(store, { recursive: true });
      const config = [
        `server_name: ${name}`,
        `listen: "127.0.0.1:${clientPorts[i]}"`,
        'max_payload: 8MB',
        `jetstream { store_dir: ${JSON.stringify(store)}, max_memory_store: 1GB, max_file_store: 20GB }`,
        'cluster {',
        '  name: bench',
        `  listen: "127.0.0.1:${routePorts[i]}"`,
        `  routes: [${routes.map((r) => JSON.stringify(r)).join(', ')}]`,
        '  tls {',
        `    cert_file: ${JSON.stringify(join(certs, `${name}.crt`))}`,
        `    key_file: ${JSON.stringify(join(certs, `${name}.key`))}`,
        `    ca_file: ${JSON.stringify(join(certs, 'ca.crt'))}`,
        '    verify: true',
        '    timeout: 5',
        '  }',
        '}',
      ].join('\n');
      const configPath = join(this.dir, `${name}.conf`);
      writeFileSync(configPath, `${config}\n`);
      this.servers.push(this.#spawn(name, configPath, clientPorts[i]!));
    }
    await Promise.all(this.servers.map((server) => this.#waitListening(server)));
  }

  /** Resolves once the server accepts TCP connections on its client port (10 s at most). */
  async #waitListening(server: NatsServerProcess): Promise<void> {
    const deadline = performance.now() + 10_000;
    for (;;) {
      if (server.child.exitCode !== null || server.child.signalCode !== null) {
        throw new Error(`nats-server ${server.name} exited: ${this.logOf(server.name)}`);
      }
      const open = await new Promise<boolean>((resolve) => {
        const socket = connect(server.clientPort, '127.0.0.1');
        socket.once('connect', () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('error', () => resolve(false));
      });
      if (open) return;
      if (performance.now() > deadline) {
        throw new Error(`nats-server ${server.name} is not listening: ${this.logOf(server.name)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  #spawn(name: string, configPath: string, clientPort: number): NatsServerProcess {
    const child = spawn(this.binary, ['-c', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    live.add(child);
    let log = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-8000);
      this.#stderr.set(name, log);
    });
    const exited = new Promise<void>((resolve) => {
      child.on('exit', () => {
        live.delete(child);
        resolve();
      });
    });
    return { name, clientPort, child, exited };
  }

  /** The last lines a server wrote (for error messages). */
  logOf(name: string): string {
    return this.#stderr.get(name) ?? '';
  }

  server(name: string): NatsServerProcess {
    const found = this.servers.find((s) => s.name === name);
    if (found === undefined) throw new Error(`no server ${name}`);
    return found;
  }

  urls(except?: string): string[] {
    return this.servers
      .filter((s) => s.name !== except && s.child.exitCode === null && s.child.signalCode === null)
      .map((s) => `127.0.0.1:${s.clientPort}`);
  }

  kill(name: string): void {
    const server = this.server(name);
    server.child.kill('SIGKILL');
  }

  async close(): Promise<void> {
    for (const server of this.servers) {
      if (server.child.exitCode === null && server.child.signalCode === null) {
        server.child.kill('SIGKILL');
      }
    }
    await Promise.all(this.servers.map((s) => s.exited));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
