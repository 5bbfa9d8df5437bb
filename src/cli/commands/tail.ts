// `redex tail CHANNEL`: prints a channel from --from (any retained history, at the pace this
// process prints it) and then live, over Server-Sent Events. Ctrl-C ends it (exit 0). LAGGED
// (retention evicted events before they were printed) is reported with the first retained seq to
// resume from, and exits 1. A dropped stream is resumed where it stopped (once, then reported).

import type { Command } from 'commander';
import { RedexClientError } from '../../client/index.js';
import { type CommandContext, intOption } from '../context.js';
import { CliError } from '../errors.js';
import { formatEvent, wireEvent } from '../format.js';
import { EVENTS_FORMAT_HELP, EVENTS_JSON_HELP, parseFormat } from './read.js';

interface TailOptions {
  from?: string;
  format?: string;
  json?: boolean;
  count?: string;
}

export function registerTail(program: Command, ctx: CommandContext): void {
  program
    .command('tail')
    .description('follow a channel live: backfill from --from, then every new event (Ctrl-C stops)')
    .argument('<channel>', 'channel name')
    .option('--from <seq>', 'first seq to print (default 0)')
    .option('--format <format>', EVENTS_FORMAT_HELP)
    .option('--json', EVENTS_JSON_HELP)
    .option('--count <n>', 'exit after N events')
    .action(async (channel: string, options: TailOptions, command: Command) => {
      const { io } = ctx;
      const format = parseFormat(options.format, options.json === true);
      const count = intOption('--count', options.count, 1);
      const from = intOption('--from', options.from) ?? 0;
      const client = await ctx.client(command);
      let seen = 0;
      let warned = false;
      const onBinary = () => {
        if (!warned)
          io.stderr.write('redex: some events are not UTF-8 text; they are printed in base64\n');
        warned = true;
      };
      try {
        for await (const event of client.tail(channel, { from, signal: io.signal })) {
          io.stdout.write(`${formatEvent(wireEvent(event, format), format, onBinary)}\n`);
          seen++;
          if (count !== undefined && seen >= count) break;
        }
      } catch (error) {
        // Interrupting a stream is how it is meant to end.
        if (io.signal.aborted) return;
        if (error instanceof RedexClientError && error.code === 'LAGGED') {
          const resumeSeq = error.details.resumeSeq;
          const resume = typeof resumeSeq === 'number' ? ` (resume with --from ${resumeSeq})` : '';
          throw new CliError(`${error.code}: ${error.message.replace(/^redex: /, '')}${resume}`);
        }
        throw error;
      }
    });
}
