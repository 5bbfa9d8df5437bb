// `redex restore FILE --channel NAME`: checks a backup file whole (every checksum, the trailer),
// then appends its events in order to a channel, creating it if it does not exist. A channel that
// already holds events is refused unless --force (the events then follow its tail). Into a new
// channel, a backup that starts at seq 0 lands at the same seqs; each batch's first seq is checked,
// so another writer appending at the same time stops the restore instead of interleaving.
// --resume continues a restore into a new channel that stopped part way: the channel's events are
// taken for the backup's first ones (its last event must equal the backup's event at that index).

import type { Command } from 'commander';
import { BATCH_EVENTS_MAX } from '../../node/http/limits.js';
import { openBackup } from '../backup/file.js';
import type { BackupEvent, BackupHeader } from '../backup/format.js';
import { nodeApi } from '../backup/node-api.js';
import { count, Progress } from '../backup/progress.js';
import type { CommandContext } from '../context.js';
import { CliError, ExitCode, INTERRUPTED_EXIT_CODE } from '../errors.js';
import { jsonLine } from '../format.js';
import type { CliIo } from '../io.js';

/** A restore batch closes before its body reaches this (below the API's 16 MiB batch limit). */
export const RESTORE_BATCH_BYTES_MAX = 8 * 1024 * 1024;

interface RestoreOptions {
  channel?: string;
  force?: boolean;
  resume?: boolean;
  dryRun?: boolean;
  quiet?: boolean;
  json?: boolean;
}

/** Reads the whole file once, checking it; resolves to its header and event count. */
async function verify(
  path: string,
  io: CliIo,
  quiet: boolean,
): Promise<{ header: BackupHeader; count: number; endSeq: number }> {
  const backup = await openBackup(path);
  try {
    let events = 0;
    const progress = new Progress(io, `verify ${path}`, null, quiet);
    for await (const _event of backup.events) {
      events++;
      if (events % 1024 === 0) progress.update(events);
    }
    progress.end();
    return { header: backup.header, count: events, endSeq: backup.trailer().endSeq };
  } finally {
    await backup.close();
  }
}

export function registerRestore(program: Command, ctx: CommandContext): void {
  program
    .command('restore')
    .description('append the events of a backup file to a new channel (checks the file first)')
    .argument('<file>', 'the backup file')
    .option('--channel <name>', 'the channel to restore into')
    .option('--force', 'restore into a channel that already holds events (after its tail)')
    .option(
      '--resume',
      'continue an interrupted restore: skip the events the channel already holds',
    )
    .option('--dry-run', 'only check the file and print what it holds')
    .option('--quiet', 'no progress on stderr')
    .option('--json', 'print the outcome as one JSON line')
    .action(async (path: string, options: RestoreOptions, command: Command) => {
      const { io } = ctx;
      const quiet = options.quiet ?? false;
      if (options.channel === undefined && !options.dryRun) {
        throw new CliError('restore needs --channel NAME (or --dry-run)', ExitCode.Usage);
      }
      if (options.force && options.resume) {
        throw new CliError('give --force or --resume, not both', ExitCode.Usage);
      }
      const checked = await verify(path, io, quiet);
      const { header } = checked;
      const seqs =
        checked.count === 0 ? 'no events' : `seqs ${header.firstSeq}..${checked.endSeq - 1}`;
      if (options.dryRun || options.channel === undefined) {
        io.stdout.write(
          options.json
            ? jsonLine({
                path,
                channel: header.channel,
                events: checked.count,
                firstSeq: header.firstSeq,
                endSeq: checked.endSeq,
              })
            : `${path}: a valid backup of ${header.channel}, ${count(checked.count)} events (${seqs})\n`,
        );
        return;
      }
      const target = options.channel;
      const api = nodeApi(await ctx.client(command));
      let position = await api.position(target);
      if (position === null) {
        await api.create(target);
        position = (await api.position(target)) ?? { firstSeq: null, nextSeq: 0, committedSeq: 0 };
      }
      if (position.nextSeq > 0 && !options.force && !options.resume) {
        throw new CliError(
          `channel ${target} already holds events (its tail is ${position.nextSeq}); restore into a new channel, give --resume to continue a restore that stopped, or --force to append after them`,
        );
      }
      const targetStart = position.nextSeq;
      // --resume: the channel's events are the backup's first `skip`.
      const skip = options.resume ? position.nextSeq : 0;
      let lastHeld: Uint8Array | null = null;
      if (skip > checked.count) {
        throw new CliError(
          `channel ${target} holds ${count(skip)} events, more than the backup's ${count(checked.count)}: it is not a partial restore of this backup`,
        );
      }
      if (skip > 0) {
        lastHeld = (await api.readPage(target, skip - 1, skip, 1)).events[0]?.payload ?? null;
        if (lastHeld === null) {
          throw new CliError(
            `channel ${target} no longer retains event ${skip - 1}, so the restore cannot check where it stopped`,
          );
        }
      }
      let restored = 0;
      let index = 0;
      const backup = await openBackup(path);
      const progress = new Progress(io, `restore ${target}`, checked.count - skip, quiet);
      let batch: Uint8Array[] = [];
      let batchBytes = 0;
      const flush = async () => {
        if (batch.length === 0) return;
        if (io.signal.aborted) throw new CliError('interrupted', INTERRUPTED_EXIT_CODE);
        const expected = targetStart + restored;
        const firstSeq = await api.append(target, batch);
        if (firstSeq !== expected) {
          throw new CliError(
            `another writer appended to ${target} during the restore (a batch landed at seq ${firstSeq}, expected ${expected})`,
          );
        }
        restored += batch.length;
        batch = [];
        batchBytes = 0;
        progress.update(restored);
      };
      try {
        for await (const event of backup.events as AsyncIterable<BackupEvent>) {
          if (index++ < skip) {
            if (index === skip && !Buffer.from(event.payload).equals(lastHeld!)) {
              throw new CliError(
                `channel ${target} holds other events than this backup (its event ${skip - 1} differs from the backup's event ${skip - 1}); it is not a partial restore of this backup`,
              );
            }
            continue;
          }
          const size = 4 + event.payload.byteLength;
          if (batch.length >= BATCH_EVENTS_MAX || batchBytes + size > RESTORE_BATCH_BYTES_MAX) {
            await flush();
          }
          batch.push(event.payload);
          batchBytes += size;
        }
        await flush();
        progress.end();
      } catch (error) {
        progress.end();
        if (restored > 0) {
          io.stderr.write(
            `redex: ${count(restored)} events were restored into ${target} (seqs ${targetStart}..${targetStart + restored - 1}) before the error\n`,
          );
        }
        throw error;
      } finally {
        await backup.close();
      }
      const landed =
        restored === 0 ? 'no events' : `seqs ${targetStart}..${targetStart + restored - 1}`;
      const firstRestored = header.firstSeq + skip;
      const moved =
        restored > 0 && targetStart !== firstRestored
          ? `; the backup's seqs ${firstRestored}..${checked.endSeq - 1}`
          : '';
      const resumed = skip > 0 ? `; resumed after the ${count(skip)} events already there` : '';
      io.stdout.write(
        options.json
          ? jsonLine({
              channel: target,
              path,
              restored,
              firstSeq: restored === 0 ? null : targetStart,
              skipped: skip,
            })
          : `${target}: restored ${count(restored)} events from ${path} (${landed}${moved}${resumed})\n`,
      );
    });
}
