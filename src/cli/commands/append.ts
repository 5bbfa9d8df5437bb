// `redex append CHANNEL [PAYLOAD...]`: payloads from the arguments (one request, all or nothing)
// or from stdin, one event per line, sent in batches. The client follows a NOT_LEADER answer once
// to the leader's HTTP address (noted on stderr), which then takes the rest of the batches.

import type { Command } from 'commander';
import type { Acks, RedexClient } from '../../client/index.js';
import { RedexClientError } from '../../client/index.js';
import { APPEND_BATCH_BODY_BYTES_MAX as API_BATCH_BODY_BYTES_MAX } from '../../node/http/limits.js';
import { type CommandContext, intOption } from '../context.js';
import { CliError } from '../errors.js';
import { jsonLine } from '../format.js';

export const APPEND_BATCH_EVENTS_DEFAULT = 1_000;
/** Batches close before their body (4 bytes + payload per event) reaches this. */
export const APPEND_BATCH_BODY_BYTES_MAX = API_BATCH_BODY_BYTES_MAX - 64 * 1024;
/** A stdin line longer than this is refused before it is sent (the API's event limit is lower). */
export const STDIN_LINE_CHARS_MAX = 16 * 1024 * 1024;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

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

/** A payload argument or line as bytes (`--base64` payloads are checked, not guessed at). */
function payloadBytes(text: string, base64: boolean, index: number): Uint8Array {
  if (!base64) return Buffer.from(text, 'utf8');
  if (!BASE64.test(text)) throw new CliError(`payload ${index} is not valid base64`);
  return Buffer.from(text, 'base64');
}

function leaderHttp(error: RedexClientError): unknown {
  return (error.details.leader as { http?: unknown } | null | undefined)?.http;
}

/** Sends one batch; the API's answer shape, for --json. */
async function send(
  client: RedexClient,
  channel: string,
  payloads: readonly Uint8Array[],
  options: { acks?: Acks; waitMs?: number; signal: AbortSignal },
): Promise<AppendAnswer> {
  let seqs: number[];
  try {
    seqs = await client.append(channel, payloads, options);
  } catch (error) {
    if (error instanceof RedexClientError && error.code === 'NOT_LEADER' && !leaderHttp(error)) {
      throw new CliError(
        `${error.message.replace(/^redex: /, '')}; its HTTP address is not known, so the append cannot be forwarded`,
      );
    }
    throw error;
  }
  return {
    firstSeq: seqs[0] ?? null,
    lastSeq: seqs.at(-1) ?? null,
    count: seqs.length,
  };
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
        const base64 = options.base64 === true;
        const batchMax = intOption('--batch', options.batch, 1) ?? APPEND_BATCH_EVENTS_DEFAULT;
        const replicas = intOption('--replicas', options.replicas);
        const waitMs = intOption('--wait-ms', options.waitMs, 1);
        const sendOptions = {
          ...(replicas === undefined ? {} : { acks: replicas }),
          ...(waitMs === undefined ? {} : { waitMs }),
          signal: io.signal,
        };
        const client = await ctx.client(command);
        const report = (answer: AppendAnswer) => {
          if (options.json) io.stdout.write(jsonLine(answer));
        };
        if (payloads.length > 0) {
          const bytes = payloads.map((payload, index) => payloadBytes(payload, base64, index));
          const answer = await send(client, channel, bytes, sendOptions);
          report(answer);
          if (!options.json)
            io.stdout.write(
              `${channel}: ${describeSeqs(answer.firstSeq, answer.lastSeq, answer.count)}\n`,
            );
          return;
        }
        let batch: Uint8Array[] = [];
        let batchBytes = 0;
        let total = 0;
        let first: number | null = null;
        let last: number | null = null;
        const flush = async () => {
          if (batch.length === 0) return;
          const answer = await send(client, channel, batch, sendOptions);
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
            const bytes = payloadBytes(line, base64, total + batch.length);
            const size = 4 + bytes.byteLength;
            if (batch.length >= batchMax || batchBytes + size > APPEND_BATCH_BODY_BYTES_MAX)
              await flush();
            batch.push(bytes);
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
