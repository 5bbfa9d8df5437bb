// `redex append CHANNEL [PAYLOAD...]`: payloads from the arguments (one request, all or nothing)
// or from stdin, one event per line, sent in batches. A NOT_LEADER answer is followed once to the
// leader's HTTP address, which then takes the rest of the batches.

import type { Command } from 'commander';
import { APPEND_JSON_BODY_BYTES_MAX } from '../../node/http/limits.js';
import { type ApiClient, channelPath } from '../client.js';
import { type CommandContext, intOption } from '../context.js';
import { ApiError, CliError } from '../errors.js';
import { jsonLine } from '../format.js';
import type { CliIo } from '../io.js';

export const APPEND_BATCH_EVENTS_DEFAULT = 1_000;
/** Batches close before their JSON body reaches this (below the API's limit, with room to spare). */
export const APPEND_BATCH_BODY_BYTES_MAX = APPEND_JSON_BODY_BYTES_MAX - 64 * 1024;
/** A stdin line longer than this is refused before it is sent (the API's event limit is lower). */
export const STDIN_LINE_CHARS_MAX = 16 * 1024 * 1024;

interface AppendOptions {
  base64?: boolean;
  batch?: string;
  replicas?: string;
  waitMs?: string;
  json?: boolean;
}

interface AppendAnswer {
  readonly firstSeq: number | null;
  readonly lastSeq: number | null;
  readonly count: number;
}

/** Splits stdin into lines (without the newline; a final line without one counts too). */
export async function* readLines(input: AsyncIterable<Buffer | string>): AsyncGenerator<string> {
  let pending = '';
  const decoder = new TextDecoder();
  for await (const chunk of input) {
    pending += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let newline = pending.indexOf('\n');
    while (newline >= 0) {
      yield pending.slice(0, newline).replace(/\r$/, '');
      pending = pending.slice(newline + 1);
      newline = pending.indexOf('\n');
    }
    if (pending.length > STDIN_LINE_CHARS_MAX) {
      throw new CliError(`a stdin line is longer than ${STDIN_LINE_CHARS_MAX} characters`);
    }
  }
  pending += decoder.decode();
  if (pending.length > 0) yield pending.replace(/\r$/, '');
}

/** Sends appends to a node, following one NOT_LEADER redirect. */
export class Appender {
  #client: ApiClient;
  #followed = false;
  readonly #io: CliIo;
  readonly #channel: string;
  readonly #query: Record<string, number | undefined>;

  constructor(
    client: ApiClient,
    io: CliIo,
    channel: string,
    query: Record<string, number | undefined>,
  ) {
    this.#client = client;
    this.#io = io;
    this.#channel = channel;
    this.#query = query;
  }

  async send(payloads: readonly string[], encoding: 'utf8' | 'base64'): Promise<AppendAnswer> {
    const body =
      payloads.length === 1 ? { payload: payloads[0], encoding } : { events: payloads, encoding };
    try {
      return await this.#post(body);
    } catch (error) {
      if (!(error instanceof ApiError) || error.code !== 'NOT_LEADER' || this.#followed)
        throw error;
      const leader = error.details.leader as
        | { http?: string | null; name?: string | null }
        | undefined;
      if (!leader?.http) {
        throw new CliError(
          `${error.message}; its HTTP address is not known, so the append cannot be forwarded`,
        );
      }
      this.#io.stderr.write(
        `redex: ${this.#client.url} does not lead ${this.#channel}; following to ${leader.name ?? 'the leader'} at ${leader.http}\n`,
      );
      this.#followed = true;
      this.#client = this.#client.withUrl(leader.http);
      return await this.#post(body);
    }
  }

  #post(body: unknown): Promise<AppendAnswer> {
    return this.#client.json<AppendAnswer>('POST', channelPath(this.#channel, 'events'), {
      json: body,
      query: this.#query,
    });
  }
}

export function registerAppend(program: Command, ctx: CommandContext): void {
  program
    .command('append')
    .description(
      'append events: each PAYLOAD argument is one event (one all-or-nothing batch); without arguments, each stdin line is one event',
    )
    .argument('<channel>', 'channel name')
    .argument('[payloads...]', 'event payloads (UTF-8 text, or base64 with --base64)')
    .option('--base64', 'payloads (arguments or lines) are base64')
    .option('--batch <n>', `stdin lines per request (default ${APPEND_BATCH_EVENTS_DEFAULT})`)
    .option('--replicas <n>', 'wait until N replicas hold each batch (cluster)')
    .option('--wait-ms <ms>', 'how long to wait for --replicas')
    .option('--json', 'print each API answer as one line of JSON (one per batch)')
    .action(
      async (channel: string, payloads: string[], options: AppendOptions, command: Command) => {
        const { io } = ctx;
        const encoding = options.base64 ? 'base64' : 'utf8';
        const batchMax = intOption('--batch', options.batch, 1) ?? APPEND_BATCH_EVENTS_DEFAULT;
        const appender = new Appender(await ctx.client(command), io, channel, {
          replicas: intOption('--replicas', options.replicas),
          timeoutMs: intOption('--wait-ms', options.waitMs, 1),
        });
        const report = (answer: AppendAnswer) => {
          if (options.json) io.stdout.write(jsonLine(answer));
        };
        if (payloads.length > 0) {
          const answer = await appender.send(payloads, encoding);
          report(answer);
          if (!options.json)
            io.stdout.write(
              `${channel}: ${describeSeqs(answer.firstSeq, answer.lastSeq, answer.count)}\n`,
            );
          return;
        }
        let batch: string[] = [];
        let batchBytes = 0;
        let total = 0;
        let first: number | null = null;
        let last: number | null = null;
        const flush = async () => {
          if (batch.length === 0) return;
          const answer = await appender.send(batch, encoding);
          report(answer);
          total += answer.count;
          first ??= answer.firstSeq;
          last = answer.lastSeq ?? last;
          batch = [];
          batchBytes = 0;
        };
        try {
          for await (const line of readLines(io.stdin)) {
            if (io.signal.aborted) break;
            const size = Buffer.byteLength(JSON.stringify(line)) + 1;
            if (batch.length >= batchMax || batchBytes + size > APPEND_BATCH_BODY_BYTES_MAX)
              await flush();
            batch.push(line);
            batchBytes += size;
          }
          await flush();
        } catch (error) {
          if (total > 0)
            io.stderr.write(
              `redex: ${total} events were appended before the error (${describeSeqs(first, last, total)})\n`,
            );
          throw error;
        }
        if (!options.json) io.stdout.write(`${channel}: ${describeSeqs(first, last, total)}\n`);
      },
    );
}

function describeSeqs(first: number | null, last: number | null, count: number): string {
  if (count === 0 || first === null) return 'nothing appended';
  return count === 1
    ? `appended 1 event, seq ${first}`
    : `appended ${count} events, seqs ${first}..${last}`;
}
