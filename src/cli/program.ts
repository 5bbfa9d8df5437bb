// The `redex` command line (commander 14). `runCli` builds a fresh program per call, runs one
// command and returns its exit code, so tests run commands in-process with their own I/O.
// Errors become `redex: <message>` on stderr: 1 for failures, 2 for usage mistakes.

import { Command, CommanderError } from 'commander';
import { RedexError } from '../log/errors.js';
import { NodeError } from '../node/errors.js';
import { packageVersion } from '../node/version.js';
import type { ApiClient } from './client.js';
import { registerAppend } from './commands/append.js';
import { registerBackup } from './commands/backup.js';
import { registerCerts } from './commands/certs.js';
import { registerChannel } from './commands/channel.js';
import { registerDemo } from './commands/demo.js';
import { registerRead } from './commands/read.js';
import { registerRestore } from './commands/restore.js';
import { registerServe } from './commands/serve.js';
import { registerStatus } from './commands/status.js';
import { registerTail } from './commands/tail.js';
import { type CommandContext, clientFor, DEFAULT_URL } from './context.js';
import { CliError, ExitCode } from './errors.js';
import type { CliIo } from './io.js';

export function buildProgram(ctx: CommandContext): Command {
  const { io } = ctx;
  const program = new Command('redex')
    .description('RedEX: a per-channel, append-only event log with replication')
    .version(packageVersion(), '-V, --version', 'print the version')
    .option('--url <url>', `the node's HTTP API (env REDEX_URL; default ${DEFAULT_URL})`)
    .option(
      '--token <token>',
      'bearer token (env REDEX_TOKEN; prefer --token-file, argv is visible to other users)',
    )
    .option('--token-file <file>', 'read the bearer token from a file')
    .option('--cert <file>', 'client certificate (PEM) for a node with http.clientCerts')
    .option('--key <file>', 'client key (PEM) for --cert')
    .option('--ca <file>', 'CA certificate (PEM) that signed the node, for https URLs')
    .option('--timeout-ms <ms>', 'per-request timeout (default 30000)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    });
  registerServe(program, ctx);
  registerCerts(program, ctx);
  registerChannel(program, ctx);
  registerAppend(program, ctx);
  registerRead(program, ctx);
  registerTail(program, ctx);
  registerStatus(program, ctx);
  registerBackup(program, ctx);
  registerRestore(program, ctx);
  registerDemo(program, ctx);
  // Subcommands inherit the output and exit behaviour only when set on each.
  const configure = (command: Command) => {
    command.exitOverride().configureOutput(program.configureOutput());
    command.showHelpAfterError('(run with --help for usage)');
    for (const sub of command.commands) configure(sub);
  };
  for (const command of program.commands) configure(command);
  return program;
}

/** Runs one command line (without `node` and the script path); resolves to the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const clients: ApiClient[] = [];
  let exitCode: number = ExitCode.Ok;
  const ctx: CommandContext = {
    io,
    client: async (command) => {
      const client = await clientFor(command, io);
      clients.push(client);
      return client;
    },
    setExitCode: (code) => {
      exitCode = code;
    },
  };
  const program = buildProgram(ctx);
  try {
    if (argv.length === 0) {
      io.stdout.write(program.helpInformation());
      return ExitCode.Ok;
    }
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    return report(error, io);
  } finally {
    for (const client of clients) client.close();
  }
}

function report(error: unknown, io: CliIo): number {
  if (error instanceof CommanderError) {
    // Help and version exit 0; commander already printed its message for the rest.
    return error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
  }
  if (error instanceof CliError) {
    if (error.exitCode !== ExitCode.Ok) io.stderr.write(`redex: ${error.message}\n`);
    return error.exitCode;
  }
  if (error instanceof RedexError || error instanceof NodeError) {
    io.stderr.write(`${error.message}\n`);
    return ExitCode.Failure;
  }
  io.stderr.write(
    `redex: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  return ExitCode.Failure;
}
