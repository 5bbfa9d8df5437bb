// Runs `redex` commands in-process with captured output (fast), or as a child process through
// tsx (for `serve` and its signals). Commands get an empty environment unless a test gives one,
// so a REDEX_URL or REDEX_TOKEN in the developer's shell cannot change a result.

import { type ChildProcess, spawn } from 'node:child_process';
import { Readable } from 'node:stream';
import type { CliIo } from '../../src/cli/io.js';
import { runCli } from '../../src/cli/program.js';
import { withTimeout } from '../node/helpers.js';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly stdin?: string | readonly string[];
  readonly env?: Record<string, string>;
  readonly signal?: AbortSignal;
  readonly stderrIsTTY?: boolean;
  /** The command's clock (progress lines); the real one by default. */
  readonly nowMs?: () => number;
}

export async function redex(argv: readonly string[], options: RunOptions = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const chunks =
    options.stdin === undefined
      ? []
      : typeof options.stdin === 'string'
        ? [options.stdin]
        : [...options.stdin];
  const io: CliIo = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text), isTTY: options.stderrIsTTY ?? false },
    stdin: Readable.from(chunks.map((chunk) => Buffer.from(chunk))),
    env: options.env ?? {},
    nowMs: options.nowMs ?? (() => Date.now()),
    signal: options.signal ?? new AbortController().signal,
    waitForStop: () => new Promise<string>(() => {}),
  };
  const code = await withTimeout(runCli(argv, io), `redex ${argv.join(' ')}`);
  return { code, stdout, stderr };
}

/** A `redex` child process with its output collected as it arrives. */
export class RedexProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly #waiters: (() => void)[] = [];

  constructor(argv: readonly string[], env: Record<string, string> = {}) {
    this.child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...argv], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      this.stdout += text;
      this.#wake();
    });
    this.child.stderr!.setEncoding('utf8').on('data', (text: string) => {
      this.stderr += text;
      this.#wake();
    });
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.#wake();
        resolve({ code, signal });
      });
    });
  }

  /** Waits until stdout matches `pattern`; fails if the process exits first. */
  async waitForStdout(
    pattern: RegExp,
    what: string,
    timeoutMs = 30_000,
  ): Promise<RegExpMatchArray> {
    return withTimeout(
      (async () => {
        for (;;) {
          const match = this.stdout.match(pattern);
          if (match) return match;
          if (this.child.exitCode !== null) {
            throw new Error(
              `redex exited (${this.child.exitCode}) before ${what}; stderr: ${this.stderr}`,
            );
          }
          await new Promise<void>((resolve) => this.#waiters.push(resolve));
        }
      })(),
      what,
      timeoutMs,
    );
  }

  /** Kills the process if it is still running (test cleanup). */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  #wake(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }
}
