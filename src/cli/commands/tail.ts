// `redex tail CHANNEL`: prints a channel from --from (any retained history, at the pace this
// process prints it) and then live, over Server-Sent Events. Ctrl-C ends it (exit 0). LAGGED
// (retention evicted events before they were printed) is reported with the first retained seq to
// resume from, and exits 1.

import type { Command } from 'commander';
import { channelPath } from '../client.js';
import { type CommandContext, intOption } from '../context.js';
import { CliError } from '../errors.js';
import { encodingFor, formatEvent, type WireEvent } from '../format.js';
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
      const client = await ctx.client(command);
      let seen = 0;
      let failure: CliError | null = null;
      let warned = false;
      const onBinary = () => {
        if (!warned)
          io.stderr.write('redex: some events are not UTF-8 text; they are printed in base64\n');
        warned = true;
      };
      await client.stream(
        channelPath(channel, 'tail'),
        { from: intOption('--from', options.from) ?? 0, encoding: encodingFor(format) },
        (message) => {
          if (message.event === 'message') {
            io.stdout.write(
              `${formatEvent(JSON.parse(message.data) as WireEvent, format, onBinary)}\n`,
            );
            seen++;
            return count === undefined || seen < count;
          }
          if (message.event === 'error') {
            const { error } = JSON.parse(message.data) as {
              error: { code: string; message: string; resumeSeq?: number };
            };
            const resume =
              error.resumeSeq === undefined ? '' : ` (resume with --from ${error.resumeSeq})`;
            failure = new CliError(
              `${error.code}: ${error.message.replace(/^redex: /, '')}${resume}`,
            );
            return false;
          }
          if (message.event === 'end') {
            io.stderr.write(
              `redex: the node ended the stream (${String((JSON.parse(message.data) as { reason?: string }).reason)})\n`,
            );
            return false;
          }
          return true;
        },
      );
      if (failure !== null) throw failure;
    });
}
