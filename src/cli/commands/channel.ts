// `redex channel create|list|show`: channel admin over the HTTP API.

import type { Command } from 'commander';
import type { ChannelStatus } from '../../client/index.js';
import { FACTOR_MAX, FACTOR_MIN } from '../../replication/config.js';
import { type CommandContext, intOption } from '../context.js';
import { CliError, ExitCode } from '../errors.js';
import { dash, jsonLine, table } from '../format.js';

interface CreateOptions {
  memory?: boolean;
  fsync?: string;
  retentionEvents?: string;
  retentionBytes?: string;
  retentionAgeMs?: string;
  tailBuffer?: string;
  replicationFactor?: string;
  spec?: string;
  json?: boolean;
}

/** `never`, `always`, `every:N` or `interval:MS` → the file config's fsync value. */
export function parseFsync(text: string): unknown {
  if (text === 'never' || text === 'always') return text;
  const every = /^every:(\d+)$/.exec(text);
  if (every) return { everyN: Number(every[1]) };
  const interval = /^interval:(\d+)$/.exec(text);
  if (interval) return { intervalMs: Number(interval[1]) };
  throw new CliError(
    `--fsync must be never, always, every:N or interval:MS, got ${JSON.stringify(text)}`,
    ExitCode.Usage,
  );
}

export function buildSpec(name: string, options: CreateOptions): Record<string, unknown> {
  let base: Record<string, unknown> = {};
  if (options.spec !== undefined) {
    try {
      base = JSON.parse(options.spec) as Record<string, unknown>;
    } catch (error) {
      throw new CliError(`--spec is not JSON: ${(error as Error).message}`, ExitCode.Usage);
    }
    if (typeof base !== 'object' || base === null || Array.isArray(base)) {
      throw new CliError(
        '--spec must be a JSON object like {"file": {...}, "replication": {...}}',
        ExitCode.Usage,
      );
    }
  }
  const file: Record<string, unknown> = { ...(base.file as Record<string, unknown> | undefined) };
  if (options.memory) file.persistent = false;
  if (options.fsync !== undefined) file.fsync = parseFsync(options.fsync);
  const retention: Record<string, unknown> = {
    ...(file.retention as Record<string, unknown> | undefined),
  };
  const events = intOption('--retention-events', options.retentionEvents);
  const bytes = intOption('--retention-bytes', options.retentionBytes);
  const ageMs = intOption('--retention-age-ms', options.retentionAgeMs);
  if (events !== undefined) retention.maxEvents = events;
  if (bytes !== undefined) retention.maxBytes = bytes;
  if (ageMs !== undefined) retention.maxAgeMs = ageMs;
  if (Object.keys(retention).length > 0) file.retention = retention;
  const tailBuffer = intOption('--tail-buffer', options.tailBuffer);
  if (tailBuffer !== undefined) file.tailBufferSize = tailBuffer;
  const spec: Record<string, unknown> = { ...base, name };
  if (Object.keys(file).length > 0) spec.file = file;
  const factor = intOption('--replication-factor', options.replicationFactor, 1);
  if (factor !== undefined) {
    spec.replication = { ...(base.replication as Record<string, unknown> | undefined), factor };
  }
  return spec;
}

export function channelRows(channels: readonly ChannelStatus[]): string {
  return table(
    ['CHANNEL', 'ROLE', 'LEADER', 'FIRST', 'TAIL', 'EVENTS', 'BYTES', 'TAILS'],
    channels.map((channel) => [
      channel.name,
      channel.role,
      dash(channel.leader?.name ?? channel.leader?.nodeId),
      dash(channel.firstSeq),
      String(channel.nextSeq),
      String(channel.retainedEvents),
      String(channel.retainedBytes),
      String(channel.tails),
    ]),
  );
}

export function registerChannel(program: Command, ctx: CommandContext): void {
  const channel = program.command('channel').description('create, list and inspect channels');

  channel
    .command('create')
    .description('create a channel (persistent on a node with a data directory, unless --memory)')
    .argument('<name>', 'channel name, e.g. orders/audit')
    .option('--memory', 'keep the channel in memory only')
    .option('--fsync <policy>', 'never | always | every:N | interval:MS')
    .option('--retention-events <n>', 'keep at most N events')
    .option('--retention-bytes <n>', 'keep at most N bytes (20 + payload per event)')
    .option('--retention-age-ms <ms>', 'drop events older than this')
    .option('--tail-buffer <bytes>', 'bytes each tail prefetches from the log (default 1 MiB)')
    .option(
      '--replication-factor <n>',
      `replica-set size in a cluster, leader included (${FACTOR_MIN}..${FACTOR_MAX})`,
    )
    .option(
      '--spec <json>',
      'the full spec as JSON ({"file": {...}, "replication": {...}}); flags override it',
    )
    .option('--json', 'print the API answer as one line of JSON')
    .action(async (name: string, options: CreateOptions, command: Command) => {
      const client = await ctx.client(command);
      const answer = await client.createChannel(name, buildSpec(name, options), {
        signal: ctx.io.signal,
      });
      if (options.json) {
        ctx.io.stdout.write(jsonLine(answer));
        return;
      }
      const where = answer.channel.persistent ? 'persistent' : 'in memory';
      ctx.io.stdout.write(
        answer.created
          ? `created channel ${name} (${where})\n`
          : `channel ${name} already exists with this config (${where}, tail ${answer.channel.nextSeq})\n`,
      );
    });

  channel
    .command('list')
    .description('list the channels open on the node')
    .option('--json', 'print the API answer as one line of JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const client = await ctx.client(command);
      const answer = { channels: await client.channels({ signal: ctx.io.signal }) };
      if (options.json) ctx.io.stdout.write(jsonLine(answer));
      else if (answer.channels.length === 0) ctx.io.stdout.write('no channels\n');
      else ctx.io.stdout.write(`${channelRows(answer.channels)}\n`);
    });

  channel
    .command('transfer')
    .description(
      "hand a replicated channel's leadership to another member (drain a node before maintenance)",
    )
    .argument('<name>', 'channel name')
    .option(
      '--to <node>',
      'the member to lead it (a name or hex NodeId; default: the one furthest along)',
    )
    .option('--json', 'print the API answer as JSON')
    .action(async (name: string, options: { to?: string; json?: boolean }, command: Command) => {
      const client = await ctx.client(command);
      const answer = await client.transferLeadership(name, {
        signal: ctx.io.signal,
        ...(options.to === undefined ? {} : { to: options.to }),
      });
      if (options.json) ctx.io.stdout.write(jsonLine(answer));
      else {
        const who = answer.leader.name ?? answer.leader.nodeId;
        ctx.io.stdout.write(`${name}: ${who} leads (epoch ${answer.epoch})\n`);
      }
    });

  channel
    .command('show')
    .description("one channel's status as indented JSON (role, leader, tail, replicas)")
    .argument('<name>', 'channel name')
    .option('--json', 'print the API answer as one line of JSON')
    .action(async (name: string, options: { json?: boolean }, command: Command) => {
      const client = await ctx.client(command);
      const answer = await client.channel(name, { signal: ctx.io.signal });
      ctx.io.stdout.write(options.json ? jsonLine(answer) : `${JSON.stringify(answer, null, 2)}\n`);
    });
}
