// `redex read CHANNEL`: reads a range page by page and prints one event per line. The range ends
// at `--to`, or at the channel's tail when the read started, so reading a busy channel ends.
// A read that takes more than one page reports progress on stderr (unless --quiet).

import type { Command } from 'commander';
import { READ_EVENTS_DEFAULT, READ_EVENTS_MAX } from '../../node/http/limits.js';
import { channelPath } from '../client.js';
import { type CommandContext, intOption } from '../context.js';
import { CliError, ExitCode } from '../errors.js';
import {
  EVENT_FORMATS,
  type EventFormat,
  encodingFor,
  formatEvent,
  type WireEvent,
} from '../format.js';

/** Progress lines at most this often. */
export const PROGRESS_INTERVAL_MS = 500;

interface ReadOptions {
  from?: string;
  to?: string;
  count?: string;
  format?: string;
  page?: string;
  quiet?: boolean;
}

interface ReadAnswer {
  readonly events: WireEvent[];
  readonly next: number;
  readonly firstSeq: number | null;
  readonly nextSeq: number;
}

export function parseFormat(value: string | undefined): EventFormat {
  const format = (value ?? 'text') as EventFormat;
  if (!EVENT_FORMATS.includes(format)) {
    throw new CliError(
      `--format must be one of ${EVENT_FORMATS.join(', ')}, got ${JSON.stringify(value)}`,
      ExitCode.Usage,
    );
  }
  return format;
}

export function registerRead(program: Command, ctx: CommandContext): void {
  program
    .command('read')
    .description('print a range of events, one per line (stops at the tail as of the start)')
    .argument('<channel>', 'channel name')
    .option('--from <seq>', 'first seq (default 0)')
    .option('--to <seq>', 'end seq, exclusive (default: the tail when the read starts)')
    .option('--count <n>', 'print at most N events')
    .option('--format <format>', 'text (payloads), json (one object per line) or base64', 'text')
    .option(
      '--page <n>',
      `events per request (default ${READ_EVENTS_DEFAULT}, at most ${READ_EVENTS_MAX})`,
    )
    .option('--quiet', 'no progress on stderr')
    .action(async (channel: string, options: ReadOptions, command: Command) => {
      const { io } = ctx;
      const format = parseFormat(options.format);
      const start = intOption('--from', options.from) ?? 0;
      let end = intOption('--to', options.to) ?? null;
      const count = intOption('--count', options.count);
      const page = Math.min(
        intOption('--page', options.page, 1) ?? READ_EVENTS_DEFAULT,
        READ_EVENTS_MAX,
      );
      if (end !== null && end < start) throw new CliError('--to is below --from', ExitCode.Usage);
      const client = await ctx.client(command);
      let from = start;
      let printed = 0;
      let pages = 0;
      let lastProgressMs = io.nowMs();
      let warnedBinary = false;
      let warnedGap = false;
      const onBinary = () => {
        if (warnedBinary) return;
        warnedBinary = true;
        io.stderr.write(
          'redex: some events are not UTF-8 text; they are printed in base64 (--format json marks them)\n',
        );
      };
      const progress = (final: boolean) => {
        if (options.quiet || pages < 2) return;
        const total =
          end === null ? null : Math.min(end - start, count ?? Number.POSITIVE_INFINITY);
        const share = total
          ? ` of ${total.toLocaleString('en-US')} (${Math.floor((printed / total) * 100)}%)`
          : '';
        const text = `redex: read ${printed.toLocaleString('en-US')}${final ? '' : share} events${final ? ` from ${channel}` : ''}`;
        io.stderr.write(io.stderr.isTTY ? `\r\x1b[K${text}${final ? '\n' : ''}` : `${text}\n`);
      };
      for (;;) {
        if (io.signal.aborted) break;
        const remaining = count === undefined ? page : Math.min(page, count - printed);
        if (remaining <= 0) break;
        const answer = await client.json<ReadAnswer>('GET', channelPath(channel, 'events'), {
          query: { from, to: end ?? undefined, limit: remaining, encoding: encodingFor(format) },
        });
        pages++;
        // Fix the end at the tail of the first answer: a busy channel must not make this endless.
        end ??= answer.nextSeq;
        const firstEvent = answer.events[0];
        if (!warnedGap && firstEvent !== undefined && firstEvent.seq > from) {
          warnedGap = true;
          io.stderr.write(
            `redex: events ${from}..${firstEvent.seq - 1} are no longer retained (evicted); continuing at ${firstEvent.seq}\n`,
          );
        }
        let out = '';
        for (const event of answer.events) out += `${formatEvent(event, format, onBinary)}\n`;
        if (out !== '') io.stdout.write(out);
        printed += answer.events.length;
        from = answer.next;
        if (from >= end || (answer.events.length === 0 && from >= answer.nextSeq)) break;
        if (io.nowMs() - lastProgressMs >= PROGRESS_INTERVAL_MS) {
          lastProgressMs = io.nowMs();
          progress(false);
        }
      }
      progress(true);
    });
}
