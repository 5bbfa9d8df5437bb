// Drives the e2e node processes (fixtures/node.ts): spawns one, waits for its ready line, sends
// JSON commands and matches the answers, waits on printed events, and kills it. Every wait has a
// hang guard; every spawned process is registered so `killAll` (run in `after`, and on exit of
// the test process) leaves nothing behind even when a test fails half-way.

import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { FixtureConfig } from './fixtures/node.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/node.ts', import.meta.url));
/** Hang guard for one command or one awaited line. */
export const COMMAND_TIMEOUT_MS = 20_000;
/** Hang guard for a process to start (tsx compiles the sources on first run). */
export const START_TIMEOUT_MS = 30_000;
/** Lines of stderr kept for a failure message. */
const STDERR_LINES_MAX = 200;

const live = new Set<NodeProcess>();
process.once('exit', () => {
  for (const node of live) node.child.kill('SIGKILL');
});

// biome-ignore lint/suspicious/noExplicitAny: answers are JSON shaped by the fixture
export type Answer = Record<string, any>;
type Listener = (message: Answer) => boolean;

export class NodeProcess {
  readonly name: string;
  readonly config: FixtureConfig;
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly stderr: string[] = [];
  readonly events: Answer[] = [];
  nodeId = '';
  port = 0;
  #nextId = 1;
  #listeners = new Set<Listener>();
  #alive = true;

  private constructor(config: FixtureConfig) {
    this.name = config.name;
    this.config = config;
    this.child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, JSON.stringify(config)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    live.add(this);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.#alive = false;
        live.delete(this);
        resolve({ code, signal });
      });
    });
    createInterface({ input: this.child.stdout! }).on('line', (line) => this.#onLine(line));
    createInterface({ input: this.child.stderr! }).on('line', (line) => {
      this.stderr.push(line);
      if (this.stderr.length > STDERR_LINES_MAX) this.stderr.shift();
    });
    this.child.stdin!.on('error', () => {}); // writing to a killed process must not crash the test
  }

  /** Spawns a node and resolves once it printed its ready line. */
  static async start(config: FixtureConfig): Promise<NodeProcess> {
    const node = new NodeProcess(config);
    const ready = await node.next((m) => m.event === 'ready', START_TIMEOUT_MS, 'ready');
    node.nodeId = String(ready.nodeId);
    node.port = Number(ready.port);
    return node;
  }

  get alive(): boolean {
    return this.#alive;
  }

  #onLine(line: string): void {
    let message: Answer;
    try {
      message = JSON.parse(line);
    } catch {
      this.stderr.push(`(stdout) ${line}`);
      return;
    }
    if (message.event !== undefined) this.events.push(message);
    for (const listener of [...this.#listeners]) {
      if (listener(message)) this.#listeners.delete(listener);
    }
  }

  /** The next stdout message matching `predicate` (or an already printed event, for events). */
  next(predicate: (message: Answer) => boolean, timeoutMs: number, what: string): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#listeners.delete(listener);
        reject(
          new Error(
            `${this.name}: timed out after ${timeoutMs} ms waiting for ${what}${this.#tail()}`,
          ),
        );
      }, timeoutMs);
      const listener: Listener = (message) => {
        if (!predicate(message)) return false;
        clearTimeout(timer);
        resolve(message);
        return true;
      };
      this.#listeners.add(listener);
      void this.exited.then(({ code, signal }) => {
        if (!this.#listeners.delete(listener)) return;
        clearTimeout(timer);
        reject(
          new Error(
            `${this.name} exited (${code ?? signal}) while waiting for ${what}${this.#tail()}`,
          ),
        );
      });
    });
  }

  /** Sends a command; resolves with the answer (ok or not). */
  request(
    cmd: string,
    args: Record<string, unknown> = {},
    timeoutMs = COMMAND_TIMEOUT_MS,
  ): Promise<Answer> {
    if (!this.#alive) return Promise.reject(new Error(`${this.name} is not running`));
    const id = this.#nextId++;
    const answer = this.next((m) => m.id === id, timeoutMs, `the answer to ${cmd}`);
    this.child.stdin!.write(`${JSON.stringify({ id, cmd, ...args })}\n`);
    return answer;
  }

  /** Like `request`, but an error answer rejects. */
  async call(cmd: string, args: Record<string, unknown> = {}): Promise<Answer> {
    const answer = await this.request(cmd, args);
    if (answer.ok !== true) {
      throw new Error(`${this.name} ${cmd} failed: ${JSON.stringify(answer.error)}`);
    }
    return answer;
  }

  /** Sends `signal` and waits for the process to be gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.#alive) this.child.kill(signal);
    await this.exited;
  }

  #tail(): string {
    return this.stderr.length === 0 ? '' : `\nstderr:\n${this.stderr.slice(-30).join('\n')}`;
  }
}

/** Kills every node process still running (for `after`). */
export async function killAll(): Promise<void> {
  await Promise.all([...live].map((node) => node.kill('SIGKILL')));
}

/** Polls `check` until it returns a value other than undefined; fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  what: string,
  timeoutMs = COMMAND_TIMEOUT_MS,
  intervalMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
