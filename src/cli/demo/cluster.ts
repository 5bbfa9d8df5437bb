// The processes of `redex demo`: a temporary directory with a cluster CA, three node certificates
// and three config files (free loopback ports for the mesh and the HTTP API), and three
// `redex serve` child processes of this same CLI. DEV DOCS:
//
// - A child counts as started when it prints its `serving <url>` line; its stderr (JSON logs at
//   `warn`) is kept, a bounded number of lines, for error messages.
// - `kill(i)` is SIGKILL (the drill), `start(i)` restarts a member on its data directory,
//   `freeze(i)` / `thaw(i)` are SIGSTOP / SIGCONT (a stalled process, for the fault test).
// - `close()` SIGTERMs every child (a graceful stop), SIGKILLs what is left after a grace period
//   and removes the directory. A process 'exit' hook SIGKILLs children and removes the directory
//   if the demo exits without finishing `close()` (a second Ctrl-C during the stop exits at
//   once), so no child outlives it and the CA key never stays behind.

import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { initCa, issueNodeCert } from '../../mesh/certs.js';
import { CliError } from '../errors.js';
import { withoutServeSettings } from '../serve-settings.js';

export const DEMO_NAMES = ['node-a', 'node-b', 'node-c'] as const;
/** A child must print its serving line within this (tsx compiles the sources on a first run). */
export const CHILD_START_TIMEOUT_MS = 60_000;
/** How long a SIGTERMed child may take to stop before it is SIGKILLed. */
export const CHILD_STOP_TIMEOUT_MS = 10_000;
const STDERR_LINES_MAX = 50;

/** The CLI entry that spawned children run: this build's main (source under tsx, or dist). */
function cliEntry(): { entry: string; loader: string[] } {
  const here = import.meta.url;
  const entry = fileURLToPath(new URL(here.endsWith('.ts') ? '../main.ts' : '../main.js', here));
  // Running from sources: the children need the same TypeScript loader.
  return { entry, loader: here.endsWith('.ts') ? ['--import', 'tsx'] : [] };
}

/** A free loopback port: bound, read and released (a small race, fine on one machine). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null
          ? resolve(address.port)
          : reject(new Error('no free port')),
      );
    });
  });
}

export interface DemoMember {
  readonly name: string;
  readonly url: string;
  readonly configPath: string;
  child: ChildProcess | null;
  exited: Promise<void> | null;
  /** SIGSTOPped and not yet SIGCONTed. */
  frozen: boolean;
  readonly stderr: string[];
}

const running = new Set<ChildProcess>();
/** Directories made by `prepare` and not yet removed by `close`. */
const undeleted = new Set<string>();
let exitHookInstalled = false;
/** Removal retries in the exit hook: a SIGKILLed child may still be writing for a moment. */
const EXIT_RM_RETRIES = 10;

export class DemoCluster {
  readonly dir: string;
  readonly members: DemoMember[];
  #closing: Promise<void> | null = null;

  private constructor(dir: string, members: DemoMember[]) {
    this.dir = dir;
    this.members = members;
  }

  /** Makes the directory, certificates and configs; starts nothing yet. */
  static async prepare(): Promise<DemoCluster> {
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.once('exit', () => {
        for (const child of running) child.kill('SIGKILL');
        // Only synchronous work runs in an 'exit' listener.
        for (const dir of undeleted) {
          rmSync(dir, { recursive: true, force: true, maxRetries: EXIT_RM_RETRIES });
        }
      });
    }
    const dir = await mkdtemp(join(tmpdir(), 'redex-demo-'));
    undeleted.add(dir);
    try {
      const certs = join(dir, 'certs');
      await initCa(certs);
      for (const name of DEMO_NAMES) await issueNodeCert(certs, name);
      const meshPorts: number[] = [];
      const httpPorts: number[] = [];
      for (const _ of DEMO_NAMES) {
        meshPorts.push(await freePort());
        httpPorts.push(await freePort());
      }
      const urls = httpPorts.map((port) => `http://127.0.0.1:${port}`);
      const memberEntries = DEMO_NAMES.map((name, i) => ({
        name,
        cert: join(certs, `${name}.crt`),
        mesh: `127.0.0.1:${meshPorts[i]}`,
        http: urls[i],
      }));
      const members: DemoMember[] = [];
      for (const [i, name] of DEMO_NAMES.entries()) {
        const configPath = join(dir, `${name}.json`);
        const config = {
          node: name,
          dataDir: join(dir, 'data', name),
          http: { listen: `127.0.0.1:${httpPorts[i]}` },
          tls: {
            ca: join(certs, 'ca.crt'),
            cert: join(certs, `${name}.crt`),
            key: join(certs, `${name}.key`),
          },
          mesh: { listen: `127.0.0.1:${meshPorts[i]}` },
          members: memberEntries,
          logLevel: 'warn',
        };
        await writeFile(configPath, `${JSON.stringify(config, null, 2)}\n`);
        members.push({
          name,
          url: urls[i]!,
          configPath,
          child: null,
          exited: null,
          frozen: false,
          stderr: [],
        });
      }
      return new DemoCluster(dir, members);
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      undeleted.delete(dir);
      throw error;
    }
  }

  /** Starts member `index` (again) and resolves once it serves. */
  async start(index: number, signal?: AbortSignal): Promise<void> {
    const member = this.members[index]!;
    if (member.child !== null) return;
    const { entry, loader } = cliEntry();
    const child = spawn(
      process.execPath,
      [...loader, entry, 'serve', '--config', member.configPath],
      { stdio: ['ignore', 'pipe', 'pipe'], env: withoutServeSettings(process.env) },
    );
    running.add(child);
    member.child = child;
    member.exited = new Promise((resolve) => {
      child.once('exit', () => {
        running.delete(child);
        if (member.child === child) {
          member.child = null;
          member.frozen = false;
        }
        resolve();
      });
    });
    createInterface({ input: child.stderr! }).on('line', (line) => {
      member.stderr.push(line);
      if (member.stderr.length > STDERR_LINES_MAX) member.stderr.shift();
    });
    const lines = createInterface({ input: child.stdout! });
    await new Promise<void>((resolve, reject) => {
      const fail = (why: string) => {
        clearTimeout(timer);
        reject(
          new CliError(
            `${member.name} did not start: ${why}${member.stderr.length > 0 ? `\n${member.stderr.slice(-10).join('\n')}` : ''}`,
          ),
        );
      };
      const timer = setTimeout(
        () => fail(`no serving line within ${CHILD_START_TIMEOUT_MS} ms`),
        CHILD_START_TIMEOUT_MS,
      );
      lines.on('line', (line) => {
        if (/ serving https?:\/\//.test(line)) {
          clearTimeout(timer);
          resolve();
        }
      });
      void member.exited!.then(() => fail(`it exited (${child.exitCode ?? child.signalCode})`));
      signal?.addEventListener('abort', () => fail('interrupted'), { once: true });
    });
  }

  /** SIGKILLs member `index` and waits until it is gone. */
  async kill(index: number): Promise<void> {
    const member = this.members[index]!;
    const exited = member.exited;
    member.child?.kill('SIGKILL');
    await exited;
  }

  /** SIGSTOPs member `index`: it keeps its sockets but answers nothing until `thaw`. */
  freeze(index: number): void {
    const member = this.members[index]!;
    if (member.child?.kill('SIGSTOP') === true) member.frozen = true;
  }

  /** SIGCONTs member `index`. */
  thaw(index: number): void {
    const member = this.members[index]!;
    member.child?.kill('SIGCONT');
    member.frozen = false;
  }

  alive(index: number): boolean {
    return this.members[index]!.child !== null;
  }

  /** Stops every child (SIGTERM, then SIGKILL after a grace period) and removes the directory. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.all(
        this.members.map(async (member) => {
          const { child, exited } = member;
          if (child === null || exited === null) return;
          // A stopped process would hold SIGTERM until the grace period ran out.
          if (member.frozen) this.thaw(this.members.indexOf(member));
          child.kill('SIGTERM');
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([
            exited,
            new Promise<void>((resolve) => {
              timer = setTimeout(() => {
                child.kill('SIGKILL');
                resolve();
              }, CHILD_STOP_TIMEOUT_MS);
            }),
          ]);
          clearTimeout(timer);
          await exited;
        }),
      );
      await rm(this.dir, { recursive: true, force: true });
      undeleted.delete(this.dir);
    })();
    return this.#closing;
  }
}
