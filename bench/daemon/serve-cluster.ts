// Three `redex serve` processes on loopback, as an operator would run them: one config file each
// (cluster CA and node certificates from `src/mesh/certs.ts`, mesh over mutual TLS, HTTP API on
// plain loopback without a token), every one listing the same persistent, replicated channel.
// The processes run this checkout's CLI from its sources (`--import tsx src/cli/main.ts`), with
// `--log-level warn` so request logging costs nothing here. `nodeArgs` adds Node flags to one
// member (`--cpu-prof` for the profile of the sequential run). Every child is SIGKILLed if the
// benchmark process exits without `close()`.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { initCa, issueNodeCert } from '../../src/mesh/certs.js';
import { freePorts } from '../peers/nats-cluster.js';

const NAMES = ['node-a', 'node-b', 'node-c'] as const;
// Generous: on a loaded 2-core machine tsx compiling the sources can take most of a minute.
const START_TIMEOUT_MS = 180_000;
const STOP_TIMEOUT_MS = 15_000;
const STDERR_KEEP_CHARS = 8_000;
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export interface ChannelConfig {
  readonly name: string;
  readonly file: Record<string, unknown>;
  readonly replication: Record<string, unknown>;
}

export interface ServeMember {
  readonly name: string;
  readonly url: string;
  child: ChildProcess | null;
  exited: Promise<void>;
  stderr: string;
}

export interface ServeClusterOptions {
  readonly channels: readonly ChannelConfig[];
  /** Extra Node flags for a member, by index. */
  readonly nodeArgs?: Readonly<Record<number, readonly string[]>>;
}

export class ServeCluster {
  readonly dir: string;
  readonly members: ServeMember[] = [];

  private constructor(dir: string) {
    this.dir = dir;
  }

  static async start(options: ServeClusterOptions): Promise<ServeCluster> {
    const cluster = new ServeCluster(mkdtempSync(join(tmpdir(), 'redex-bench-serve-')));
    try {
      await cluster.#start(options);
      return cluster;
    } catch (error) {
      await cluster.close();
      throw error;
    }
  }

  async #start(options: ServeClusterOptions): Promise<void> {
    const certs = join(this.dir, 'certs');
    await initCa(certs);
    for (const name of NAMES) await issueNodeCert(certs, name);
    const ports = await freePorts(NAMES.length * 2);
    const meshPorts = ports.slice(0, NAMES.length);
    const httpPorts = ports.slice(NAMES.length);
    const urls = httpPorts.map((port) => `http://127.0.0.1:${port}`);
    const memberEntries = NAMES.map((name, i) => ({
      name,
      cert: join(certs, `${name}.crt`),
      mesh: `127.0.0.1:${meshPorts[i]}`,
      http: urls[i],
    }));
    const configs = NAMES.map((name, i) => {
      const dataDir = join(this.dir, 'data', name);
      mkdirSync(dataDir, { recursive: true });
      const config = {
        node: name,
        dataDir,
        http: { listen: `127.0.0.1:${httpPorts[i]}` },
        tls: {
          ca: join(certs, 'ca.crt'),
          cert: join(certs, `${name}.crt`),
          key: join(certs, `${name}.key`),
        },
        mesh: { listen: `127.0.0.1:${meshPorts[i]}` },
        members: memberEntries,
        channels: options.channels,
        logLevel: 'warn',
      };
      const path = join(this.dir, `${name}.json`);
      writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`);
      return path;
    });
    const started = NAMES.map((name, i) =>
      this.#spawn(name, urls[i]!, configs[i]!, options.nodeArgs?.[i] ?? []),
    );
    await Promise.all(started);
  }

  async #spawn(
    name: string,
    url: string,
    configPath: string,
    nodeArgs: readonly string[],
  ): Promise<void> {
    const child = spawn(
      process.execPath,
      [
        ...nodeArgs,
        '--import',
        'tsx',
        MAIN,
        'serve',
        '--config',
        configPath,
        '--log-level',
        'warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    live.add(child);
    const member: ServeMember = {
      name,
      url,
      child,
      stderr: '',
      exited: new Promise<void>((resolve) => {
        child.once('exit', () => {
          live.delete(child);
          member.child = null;
          resolve();
        });
      }),
    };
    this.members.push(member);
    child.stderr?.on('data', (chunk: Buffer) => {
      member.stderr = (member.stderr + chunk.toString()).slice(-STDERR_KEEP_CHARS);
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${name} printed no serving line: ${member.stderr}`)),
        START_TIMEOUT_MS,
      );
      createInterface({ input: child.stdout! }).on('line', (line) => {
        if (/ serving http:\/\//.test(line)) {
          clearTimeout(timer);
          resolve();
        }
      });
      void member.exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`${name} exited at start: ${member.stderr}`));
      });
    });
  }

  member(name: string): ServeMember {
    const found = this.members.find((m) => m.name === name);
    if (found === undefined) throw new Error(`no member ${name}`);
    return found;
  }

  /** SIGKILLs a member and waits until it is gone. */
  async kill(name: string): Promise<void> {
    const member = this.member(name);
    member.child?.kill('SIGKILL');
    await member.exited;
  }

  /** SIGTERM (a graceful stop: a `--cpu-prof` member writes its profile), then the directory. */
  async close(): Promise<void> {
    await Promise.all(
      this.members.map(async (member) => {
        const child = member.child;
        if (child === null) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await member.exited;
        clearTimeout(timer);
      }),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }
}
