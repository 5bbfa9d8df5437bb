// `redex backup CHANNEL --out FILE`: a consistent copy of a channel's committed events into a
// portable file (layout: src/cli/backup/format.ts, docs/OPERATIONS.md). The end is fixed when the
// backup starts (the commit point, or --to if lower), so a busy channel still gives a snapshot of
// one moment; the range is read page by page over the HTTP API. Retention evicting events the
// backup has not read yet fails it: the file would no longer be that snapshot.

import { stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { READ_BYTES_MAX } from '../../node/http/limits.js';
import { BackupWriter } from '../backup/file.js';
import { nodeApi } from '../backup/node-api.js';
import { count, Progress } from '../backup/progress.js';
import { type CommandContext, intOption } from '../context.js';
import { CliError, ExitCode, INTERRUPTED_EXIT_CODE } from '../errors.js';
import { jsonLine } from '../format.js';

interface BackupOptions {
  out: string;
  from?: string;
  to?: string;
  force?: boolean;
  quiet?: boolean;
  json?: boolean;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

export function registerBackup(program: Command, ctx: CommandContext): void {
  program
    .command('backup')
    .description(
      "copy a channel's committed events into a backup file (up to the commit point at the start)",
    )
    .argument('<channel>', 'channel name')
    .requiredOption('--out <file>', 'the backup file to write')
    .option('--from <seq>', 'first seq (default: the first retained)')
    .option('--to <seq>', 'end seq, exclusive (default: the commit point when the backup starts)')
    .option('--force', 'replace an existing file')
    .option('--quiet', 'no progress on stderr')
    .option(
      '--json',
      'print {"channel", "out", "events", "firstSeq", "endSeq", "bytes"} as one line',
    )
    .action(async (channel: string, options: BackupOptions, command: Command) => {
      const { io } = ctx;
      const from = intOption('--from', options.from) ?? 0;
      const to = intOption('--to', options.to);
      if (to !== undefined && to < from) throw new CliError('--to is below --from', ExitCode.Usage);
      if (!options.force && (await exists(options.out))) {
        throw new CliError(`${options.out} exists; give --force to replace it`, ExitCode.Usage);
      }
      const api = nodeApi(await ctx.client(command));
      const position = await api.position(channel);
      if (position === null) throw new CliError(`channel ${channel} is not open on the node`);
      const end = Math.min(to ?? position.committedSeq, position.committedSeq);
      const start = Math.min(Math.max(from, position.firstSeq ?? end), end);
      if (start > from && from < end) {
        io.stderr.write(
          `redex: events ${from}..${start - 1} of ${channel} are no longer retained; the backup starts at ${start}\n`,
        );
      }
      const writer = await BackupWriter.create(options.out, { channel, firstSeq: start });
      const progress = new Progress(io, `backup ${channel}`, end - start, options.quiet ?? false);
      try {
        let seq = start;
        while (seq < end) {
          if (io.signal.aborted) throw new CliError('interrupted', INTERRUPTED_EXIT_CODE);
          const page = await api.readPage(channel, seq, end, READ_BYTES_MAX);
          const first = page.events[0];
          if (first === undefined || first.seq !== seq) {
            throw new CliError(
              `retention evicted events of ${channel} from seq ${seq} on while the backup ran (the first retained is now ${page.firstSeq ?? 'none'}); run it again, or with --from past them`,
            );
          }
          for (const event of page.events) await writer.add(event);
          seq = page.next;
          progress.update(writer.count);
        }
        const done = await writer.finish();
        progress.end();
        const seqs = done.count === 0 ? 'no events' : `seqs ${start}..${done.endSeq - 1}`;
        io.stdout.write(
          options.json
            ? jsonLine({
                channel,
                out: options.out,
                events: done.count,
                firstSeq: start,
                endSeq: done.endSeq,
                bytes: done.bytes,
              })
            : `${channel}: backed up ${count(done.count)} events (${seqs}) to ${options.out} (${count(done.bytes)} bytes, ${progress.elapsedSeconds().toFixed(1)} s)\n`,
        );
      } catch (error) {
        progress.end();
        await writer.abort();
        throw error;
      }
    });
}
