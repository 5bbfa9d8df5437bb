// `redex serve --config FILE`: runs a node until SIGTERM or SIGINT, then stops it gracefully
// (no more writes, in-flight writes answered, every channel flushed and fsynced, files closed)
// and exits 0. A stop that does not finish within SHUTDOWN_TIMEOUT_MS exits 1.

import type { Command } from 'commander';
import { LOG_LEVELS, type LogLevel, loadNodeConfig } from '../../node/config.js';
import { createLogger } from '../../node/logger.js';
import { startNode } from '../../node/node.js';
import type { CommandContext } from '../context.js';
import { CliError, ExitCode } from '../errors.js';

export const SHUTDOWN_TIMEOUT_MS = 30_000;

export function registerServe(program: Command, ctx: CommandContext): void {
  program
    .command('serve')
    .description(
      'run a node: HTTP API, dashboard and metrics (config reference: docs/OPERATIONS.md)',
    )
    .requiredOption('-c, --config <file>', 'node config file (JSON)')
    .option('--log-level <level>', `override the config's logLevel (${LOG_LEVELS.join(', ')})`)
    .action(async (options: { config: string; logLevel?: string }) => {
      const { io } = ctx;
      if (
        options.logLevel !== undefined &&
        !(LOG_LEVELS as readonly string[]).includes(options.logLevel)
      ) {
        throw new CliError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`, ExitCode.Usage);
      }
      const config = await loadNodeConfig(options.config);
      const logger = createLogger(
        (options.logLevel as LogLevel | undefined) ?? config.logLevel,
        config.node,
      );
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
