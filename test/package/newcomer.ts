// A newcomer's path, run from the installed package only: three `redex serve` processes started
// from its bin (certificates from `redex certs`), and an application in the fresh project that
// imports `redex-log/client`, appends and tails while the test SIGKILLs the leader. The
// application prints what it saw as one JSON line; pack.test.ts checks it.

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const NAMES = ['node-a', 'node-b', 'node-c'] as const;
export const NEWCOMER_CHANNEL = 'app/orders';
const STARTUP_MS = 60_000;
/** After printing its result and closing its client, the application must end by itself. */
const EXIT_MS = 15_000;

/** What the application saw: acknowledged (seq, payload), tail seqs, and the log read back. */
export interface NewcomerResult {
  readonly acked: [number, string][];
  readonly unknown: number;
  readonly tailed: number[];
  readonly log: [number, string][];
  /** The application's exit code once it ended on its own after `client.close()` (null: killed). */
  readonly exitCode: number | null;
}

/** The application, as a user would write it (README "Client"). */
const APP = `import { RedexClient } from 'redex-log/client';

const channel = ${JSON.stringify(NEWCOMER_CHANNEL)};
const client = new RedexClient({ nodes: JSON.parse(process.argv[2]), retry: { forMs: 20_000 } });
await client.createChannel(channel, {
  file: { fsync: 'always' },
  replication: { factor: 3, heartbeatMs: 100 },
});
const acked = new Map();
let unknown = 0;
const tailed = [];
const stop = new AbortController();
const tailing = (async () => {
  try {
    for await (const event of client.tail(channel, { signal: stop.signal })) tailed.push(event.seq);
  } catch (error) {
    if (!stop.signal.aborted) throw error;
  }
})();
const write = async (count) => {
  for (let i = 0; i < count; i++) {
    const payload = 'order-' + acked.size + '-' + i;
    try {
      acked.set(await client.append(channel, payload), payload);
    } catch (error) {
      if (error.outcome !== 'unknown') throw error;
      unknown++;
    }
  }
};
await write(20);
console.log('ready');
await new Promise((resolve) => process.stdin.once('data', resolve));
await write(20);
const last = Math.max(...acked.keys());
while (!tailed.includes(last)) await new Promise((resolve) => setTimeout(resolve, 20));
stop.abort();
await tailing;
const log = [];
for await (const event of client.read(channel)) {
  log.push([event.seq, new TextDecoder().decode(event.payload)]);
}
console.log(JSON.stringify({ acked: [...acked], unknown, tailed, log }));
await client.close();
`;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Resolves with the first line of `child`'s stdout that matches, or rejects after `ms`. */
function waitForLine(child: ChildProcess, pattern: RegExp, what: string, ms = STARTUP_MS) {
  return new Promise<RegExpMatchArray>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`${what}: no ${pattern} in ${ms} ms`)), ms);
    child.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString('utf8');
      const match = seen.match(pattern);
      if (match !== null) {
        clearTimeout(timer);
        resolve(match);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code}) before ${pattern}`));
    });
  });
}

async function roleOf(url: string): Promise<string | null> {
  try {
    const answer = await fetch(`${url}/channels/${encodeURIComponent(NEWCOMER_CHANNEL)}`);
    return answer.ok ? ((await answer.json()) as { role: string }).role : null;
  } catch {
    return null;
  }
}

export async function newcomerPath(app: string, bin: string): Promise<NewcomerResult> {
  const redex = (...args: string[]) => run(process.execPath, [bin, ...args], { cwd: app });
  await redex('certs', 'init', '--dir', 'certs');
  for (const name of NAMES)
    await redex('certs', 'issue', name, '--dir', 'certs', '--host', '127.0.0.1');
  const ports = await Promise.all(NAMES.flatMap(() => [freePort(), freePort()]));
  const members = NAMES.map((name, i) => ({
    name,
    cert: join(app, 'certs', `${name}.crt`),
    mesh: `127.0.0.1:${ports[2 * i]}`,
    http: `http://127.0.0.1:${ports[2 * i + 1]}`,
  }));
  const nodes: ChildProcess[] = [];
  let application: ChildProcess | null = null;
  try {
    for (const [i, name] of NAMES.entries()) {
      const config = join(app, `${name}.json`);
      await writeFile(
        config,
        JSON.stringify({
          node: name,
          dataDir: join(app, 'data', name),
          http: { listen: `127.0.0.1:${ports[2 * i + 1]}` },
          tls: {
            ca: join(app, 'certs', 'ca.crt'),
            cert: join(app, 'certs', `${name}.crt`),
            key: join(app, 'certs', `${name}.key`),
          },
          mesh: { listen: members[i]!.mesh },
          members,
          logLevel: 'warn',
        }),
      );
      nodes.push(spawn(process.execPath, [bin, 'serve', '--config', config], { cwd: app }));
    }
    await Promise.all(nodes.map((node, i) => waitForLine(node, /serving/, NAMES[i]!)));
    await writeFile(join(app, 'orders.mjs'), APP);
    application = spawn(
      process.execPath,
      ['orders.mjs', JSON.stringify(members.map((m) => m.http))],
      { cwd: app, stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const result = waitForLine(application, /\{"acked".*\}\n/, 'the application', 120_000);
    result.catch(() => {});
    await waitForLine(application, /ready/, 'the application');
    let leader = -1;
    for (const [i, member] of members.entries()) {
      if ((await roleOf(member.http)) === 'leader') leader = i;
    }
    if (leader < 0) throw new Error('no node says it leads the channel');
    const exited = new Promise<number | null>((resolve) => {
      application!.once('exit', (code) => resolve(code));
    });
    nodes[leader]!.kill('SIGKILL');
    // Ending stdin, as a terminal's Ctrl-D would: a pipe left open would keep any process alive.
    application.stdin?.end('go\n');
    const seen = JSON.parse((await result)[0]) as Omit<NewcomerResult, 'exitCode'>;
    let timer: NodeJS.Timeout | undefined;
    const exitCode = await Promise.race([
      exited,
      new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), EXIT_MS);
      }),
    ]);
    clearTimeout(timer);
    return { ...seen, exitCode };
  } finally {
    application?.kill('SIGKILL');
    for (const node of nodes) node.kill('SIGKILL');
  }
}
