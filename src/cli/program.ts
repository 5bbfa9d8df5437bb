// The `redex` command line (commander 14). `runCli` builds a fresh program per call, runs one
// command and returns its exit code, so tests run commands in-process with their own I/O.
// Errors become `redex: <message>` on stderr: 1 for failures, 2 for usage mistakes.

import { Command, CommanderError } from 'commander';
import { type RedexClient, RedexClientError } from '../client/index.js';
import { RedexError } from '../log/errors.js';
import { NodeError } from '../node/errors.js';
import { packageVersion } from '../node/version.js';
import { registerAppend } from './commands/append.js';
import { registerBackup } from './commands/backup.js';
import { registerCerts } from './commands/certs.js';
import { registerChannel } from './commands/channel.js';
import { registerCompletion } from './commands/completion.js';
import { registerDemo } from './commands/demo.js';
import { registerRead } from './commands/read.js';
import { registerRestore } from './commands/restore.js';
import { registerServe } from './commands/serve.js';
import { registerStatus } from './commands/status.js';
import { registerTail } from './commands/tail.js';
import { type CommandContext, clientFor, DEFAULT_URL } from './context.js';
import { CliError, describeFailure, ExitCode, INTERRUPTED_EXIT_CODE } from './errors.js';
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
    .option('--debug', 'print the stack trace of an error (env REDEX_DEBUG=1)')
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
  registerCompletion(program, ctx);
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
  const clients: RedexClient[] = [];
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
    const debug = argv.includes('--debug') || io.env.REDEX_DEBUG === '1';
    // A request cut short by Ctrl-C rejects with the signal's reason, whatever it was.
    if (io.signal.aborted && !(error instanceof CliError) && !(error instanceof CommanderError)) {
      return report(new CliError('interrupted', INTERRUPTED_EXIT_CODE), io, debug);
    }
    return report(error, io, debug);
  } finally {
    // Kept-alive connections closed, so a finished command does not wait for them to time out.
    await Promise.all(clients.map((client) => client.close()));
  }
}

/**
 * Prints a failure as one line, `redex: <what>`, and returns the exit code. Stack traces only
 * with --debug or REDEX_DEBUG=1: an operator needs to know what failed, not where in the code.
 */
function report(error: unknown, io: CliIo, debug: boolean): number {
  if (error instanceof CommanderError) {
    // Help and version exit 0; commander already printed its message for the rest.
    return error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
  }
  const stack = () => {
    if (debug && error instanceof Error && error.stack !== undefined) {
      io.stderr.write(`${error.stack}\n`);
    }
  };
  if (error instanceof CliError) {
    if (error.exitCode !== ExitCode.Ok) io.stderr.write(`redex: ${error.message}\n`);
    stack();
    return error.exitCode;
  }
  if (
    error instanceof RedexError ||
    error instanceof NodeError ||
    error instanceof RedexClientError
  ) {
    io.stderr.write(`redex: ${error.message.replace(/^redex: /, '')}\n`);
    stack();
    return ExitCode.Failure;
  }
  const { message, expected } = describeFailure(error);
  const hint = expected || debug ? '' : ' (run with --debug for the stack trace)';
  io.stderr.write(`redex: ${expected ? '' : 'unexpected error: '}${message}${hint}\n`);
  stack();
  return ExitCode.Failure;
}
