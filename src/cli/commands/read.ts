// `redex read CHANNEL`: prints a range, one event per line. The range ends at `--to`, or at the
// channel's tail when the read started, so reading a busy channel ends. The node streams the
// range over one Server-Sent-Events response (the client's tail with `to`), reading the log in
// pages bounded in bytes at the pace this process prints, so a long range costs neither side more
// than a page. Evicted history is skipped with a note. A read of more than `--page` events
// reports progress on stderr (unless --quiet).

import type { Command } from 'commander';
import { RedexClientError } from '../../client/index.js';
import { READ_EVENTS_DEFAULT, READ_EVENTS_MAX } from '../../node/http/limits.js';
import { type CommandContext, intOption } from '../context.js';
import { CliError, ExitCode } from '../errors.js';
import { EVENT_FORMATS, type EventFormat, formatEvent, wireEvent } from '../format.js';

/** Progress lines at most this often. */
export const PROGRESS_INTERVAL_MS = 500;

interface ReadOptions {
  from?: string;
  to?: string;
  count?: string;
  format?: string;
  json?: boolean;
  page?: string;
  quiet?: boolean;
}

/** Stdout is written in chunks of about this many characters. */
const OUTPUT_CHUNK_CHARS = 64 * 1024;

/** Help of `--json` for the commands that print events. */
export const EVENTS_JSON_HELP =
  'one JSON object per line: {"seq", "timestampNs", "payload"} (+ "encoding": "base64" when not UTF-8)';
/** Help of `--format`; `json` is still accepted there, as the older spelling of `--json`. */
export const EVENTS_FORMAT_HELP = 'text (the payloads) or base64';

/** The event format from `--format` and `--json` (`--format json` is the older `--json`). */
export function parseFormat(value: string | undefined, json = false): EventFormat {
  if (json) {
    if (value !== undefined && value !== 'json') {
      throw new CliError(`--json and --format ${value} do not go together`, ExitCode.Usage);
    }
    return 'json';
  }
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
    .option('--format <format>', EVENTS_FORMAT_HELP)
    .option('--json', EVENTS_JSON_HELP)
    .option(
      '--page <n>',
      `report progress on stderr for reads of more than N events (default ${READ_EVENTS_DEFAULT})`,
    )
    .option('--quiet', 'no progress on stderr')
    .action(async (channel: string, options: ReadOptions, command: Command) => {
      const { io } = ctx;
      const format = parseFormat(options.format, options.json === true);
      const start = intOption('--from', options.from) ?? 0;
      let end = intOption('--to', options.to) ?? null;
      const count = intOption('--count', options.count);
      const page = Math.min(
        intOption('--page', options.page, 1) ?? READ_EVENTS_DEFAULT,
        READ_EVENTS_MAX,
      );
      if (end !== null && end < start) throw new CliError('--to is below --from', ExitCode.Usage);
      const client = await ctx.client(command);
      // Fix the end at the tail as of now: a busy channel must not make this endless.
      end ??= (await client.channel(channel, { signal: io.signal })).nextSeq;
      const limit = count ?? Number.POSITIVE_INFINITY;
      let from = start;
      let printed = 0;
      let lastProgressMs = io.nowMs();
      let warnedBinary = false;
      let warnedGap = false;
      let out = '';
      const flush = () => {
        if (out !== '') io.stdout.write(out);
        out = '';
      };
      const onBinary = () => {
        if (warnedBinary) return;
        warnedBinary = true;
        io.stderr.write(
          'redex: some events are not UTF-8 text; they are printed in base64 (--json marks them)\n',
        );
      };
      const progress = (final: boolean) => {
        if (options.quiet || printed <= page) return;
        const total = Math.min(end - start, count ?? Number.POSITIVE_INFINITY);
        const share = total
          ? ` of ${total.toLocaleString('en-US')} (${Math.floor((printed / total) * 100)}%)`
          : '';
        const text = `redex: read ${printed.toLocaleString('en-US')}${final ? '' : share} events${final ? ` from ${channel}` : ''}`;
        io.stderr.write(io.stderr.isTTY ? `\r\x1b[K${text}${final ? '\n' : ''}` : `${text}\n`);
      };
      while (from < end && printed < limit && !io.signal.aborted) {
        try {
          for await (const event of client.tail(channel, { from, to: end, signal: io.signal })) {
            out += `${formatEvent(wireEvent(event, format), format, onBinary)}\n`;
            if (out.length >= OUTPUT_CHUNK_CHARS) flush();
            printed++;
            from = event.seq + 1;
            if (io.nowMs() - lastProgressMs >= PROGRESS_INTERVAL_MS) {
              lastProgressMs = io.nowMs();
              flush();
              progress(false);
            }
            if (printed >= limit) break;
          }
          from = Math.max(from, end);
        } catch (error) {
          flush();
          if (io.signal.aborted) break;
          const resumeSeq = (error as RedexClientError).details?.resumeSeq;
          if (
            !(error instanceof RedexClientError) ||
            error.code !== 'LAGGED' ||
            typeof resumeSeq !== 'number'
          ) {
            throw error;
          }
          // Retention passed the reader: go on from what is still there, as a range read does.
          if (!warnedGap) {
            warnedGap = true;
            io.stderr.write(
              `redex: events ${from}..${resumeSeq - 1} are no longer retained (evicted); continuing at ${resumeSeq}\n`,
            );
          }
          from = Math.max(from, resumeSeq);
        }
        flush();
      }
      progress(true);
    });
}
