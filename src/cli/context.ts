// Shared plumbing of the commands: the global connection options (--url, --token, ...) turned
// into a `RedexClient` (src/client), and the result code of the command that ran.

import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { type ClientTls, RedexClient, RedexClientError } from '../client/index.js';
import { CliError, ExitCode } from './errors.js';
import type { CliIo } from './io.js';

export const DEFAULT_URL = 'http://127.0.0.1:7070';

export interface GlobalOptions {
  readonly url?: string;
  readonly token?: string;
  readonly tokenFile?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly ca?: string;
  readonly timeoutMs?: string;
}

export interface CommandContext {
  readonly io: CliIo;
  client(command: Command): Promise<RedexClient>;
  setExitCode(code: number): void;
}

async function readOption(flag: string, path: string | undefined): Promise<string | undefined> {
  if (path === undefined) return undefined;
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new CliError(`${flag} ${path}: ${(error as Error).message}`, ExitCode.Usage);
  }
}

/**
 * The CLI talks to the one node it is given: a NOT_LEADER answer is followed once (noted on
 * stderr) and anything else retryable is tried once more, then reported.
 */
export const CLI_RETRY = { attempts: 2 } as const;

export async function clientFor(command: Command, io: CliIo): Promise<RedexClient> {
  const options = command.optsWithGlobals<GlobalOptions>();
  let token = options.token ?? null;
  if (token === null && options.tokenFile !== undefined) {
    token = (await readOption('--token-file', options.tokenFile))!.replace(/\r?\n$/, '');
  }
  token ??= io.env.REDEX_TOKEN ?? null;
  const tls: ClientTls = {
    ca: await readOption('--ca', options.ca),
    cert: await readOption('--cert', options.cert),
    key: await readOption('--key', options.key),
  };
  let timeoutMs: number | undefined;
  if (options.timeoutMs !== undefined) {
    timeoutMs = Number(options.timeoutMs);
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1) {
      throw new CliError(`--timeout-ms must be a positive integer, got ${options.timeoutMs}`, 2);
    }
  }
  const url = options.url ?? io.env.REDEX_URL ?? DEFAULT_URL;
  try {
    return new RedexClient({
      nodes: url,
      token,
      tls,
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
      retry: CLI_RETRY,
      onRetry: ({ error, channel, from, to, delayMs }) => {
        if (error.code !== 'NOT_LEADER' || delayMs > 0) return;
        const leader = error.details.leader as { name?: string | null } | undefined;
        io.stderr.write(
          `redex: ${from} does not lead ${channel}; following to ${leader?.name ?? 'the leader'} at ${to}\n`,
        );
      },
    });
  } catch (error) {
    if (error instanceof RedexClientError) {
      throw new CliError(`--url: ${error.message.replace(/^redex: /, '')}`, ExitCode.Usage);
    }
    throw error;
  }
}

/** Parses a non-negative integer option, or throws a usage error naming it. */
export function intOption(flag: string, value: string | undefined, min = 0): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,16}$/.test(value) || Number(value) < min || !Number.isSafeInteger(Number(value))) {
    throw new CliError(`${flag} must be an integer ≥ ${min}, got ${JSON.stringify(value)}`, 2);
  }
  return Number(value);
}
