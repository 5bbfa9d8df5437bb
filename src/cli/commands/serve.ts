// `redex serve [--config FILE] [--listen HOST:PORT] [--data-dir DIR] [--log-level L] [--node N]`:
// runs a node until SIGTERM or SIGINT, then stops it gracefully (no more writes, in-flight writes
// answered, every channel flushed and fsynced, files closed) and exits 0. A stop that does not
// finish within SHUTDOWN_TIMEOUT_MS exits 1. Flags and REDEX_* variables: serve-settings.ts.

import type { Command } from 'commander';
import { LOG_LEVELS } from '../../node/config.js';
import { createLogger } from '../../node/logger.js';
import { startNode } from '../../node/node.js';
import type { CommandContext } from '../context.js';
import { CliError } from '../errors.js';
import { pickSettings, resolveServeConfig, type ServeFlags } from '../serve-settings.js';

export const SHUTDOWN_TIMEOUT_MS = 30_000;

export function registerServe(program: Command, ctx: CommandContext): void {
  program
    .command('serve')
    .description(
      'run a node: HTTP API, dashboard and metrics (config reference: docs/OPERATIONS.md)',
    )
    .option('-c, --config <file>', 'node config file (JSON; env REDEX_CONFIG)')
    .option(
      '--listen <host:port>',
      "the HTTP API's address (env REDEX_LISTEN; overrides http.listen; default 127.0.0.1:7070)",
    )
    .option('--data-dir <dir>', 'data directory (env REDEX_DATA_DIR; overrides dataDir)')
    .option(
      '--log-level <level>',
      `${LOG_LEVELS.join(', ')} (env REDEX_LOG_LEVEL; overrides logLevel; default info)`,
    )
    .option('--node <name>', 'node name (env REDEX_NODE; overrides node; default redex)')
    .action(async (options: ServeFlags) => {
      const { io } = ctx;
      const config = await resolveServeConfig(pickSettings(options, io.env), process.cwd());
      const logger = createLogger(config.logLevel, config.node);
      const node = await startNode(config, { logger, processMetrics: true });
      io.stdout.write(
        `redex: node ${config.node} serving ${node.url} (data in ${config.dataDir})\n`,
      );
      const signal = await io.waitForStop();
      io.stdout.write(`redex: ${signal}: stopping (no more writes; flushing and closing)\n`);
      let timer: NodeJS.Timeout | undefined;
      const stopped = await Promise.race([
        node.stop().then(() => true),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), SHUTDOWN_TIMEOUT_MS);
        }),
      ]);
      clearTimeout(timer);
      if (!stopped) throw new CliError(`the node did not stop within ${SHUTDOWN_TIMEOUT_MS} ms`);
      io.stdout.write('redex: stopped\n');
    });
}
