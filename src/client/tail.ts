// A tail over Server-Sent Events (GET /channels/{name}/tail) that survives its node. The client
// counts the next seq it owes the caller; when the stream breaks (the connection drops, the node
// shuts down, nothing arrives for `idleMs`), it connects again, to the next node if the first
// fails, with `Last-Event-ID` set to the last seq it delivered, and drops anything below the next
// seq. Every node serves committed events only, so what was delivered is never taken back, and a
// seq above the expected one is an error, never a silent skip.

import { answerError, call, channelPath, readText } from './call.js';
import type { ClientContext } from './context.js';
import { ClientErrorCode, RedexClientError } from './errors.js';
import { type ClientEvent, decodeEvent } from './events.js';
import { failOver } from './failover.js';
import { RetryBudget } from './retry.js';
import { type SseMessage, SseParser } from './sse-parser.js';
import type { ClientTimerHandle, Deadline } from './timer.js';

/** Three missed server heartbeats (15 s each by default) mean the stream is dead. */
export const TAIL_IDLE_MS_DEFAULT = 45_000;

export interface TailOptions {
  /** The first seq to deliver (default 0: all retained history, then live). */
  readonly from?: number;
  /** Exclusive end: the iterator finishes after seq `to` − 1. */
  readonly to?: number;
  /** Reconnect when no byte (event or heartbeat) arrived for this long (ms; 0: never). */
  readonly idleMs?: number;
  readonly signal?: AbortSignal;
}

/** Why one connection ended without an error from the caller's point of view. */
type StreamEnd = 'to' | 'reconnect';

function streamBroke(node: string, why: string): RedexClientError {
  return new RedexClientError({
    code: ClientErrorCode.ConnectionLost,
    message: `the tail stream from ${node} ended: ${why}`,
    status: null,
    node,
    outcome: 'none',
  });
}

export async function* tailChannel(
  ctx: ClientContext,
  channel: string,
  options: TailOptions,
): AsyncGenerator<ClientEvent, void, undefined> {
  const signal = options.signal;
  const idleMs = options.idleMs ?? TAIL_IDLE_MS_DEFAULT;
  const end = options.to ?? null;
  let next = options.from ?? 0;
  const budget = new RetryBudget(ctx.retry, ctx.caller.clock);
  let node = ctx.nodes.current;
  while (end === null || next < end) {
    if (signal?.aborted) throw signal.reason;
    // One controller per connection: the caller's signal, the idle watch and `return()` end it.
    const connection = new AbortController();
    const onAbort = () => connection.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    let idleTimer: ClientTimerHandle | null = null;
    let lastByteMs = ctx.caller.clock.nowMs();
    let idle = false;
    const watchIdle = (delayMs: number) => {
      idleTimer = ctx.caller.clock.setTimer(delayMs, () => {
        const quietMs = ctx.caller.clock.nowMs() - lastByteMs;
        if (quietMs < idleMs) watchIdle(idleMs - quietMs);
        else {
          idle = true;
          connection.abort(new Error('idle'));
        }
      });
    };
    let deadline: Deadline | null = null;
    const release = () => {
      (idleTimer as ClientTimerHandle | null)?.cancel();
      deadline?.done();
      signal?.removeEventListener('abort', onAbort);
    };
    let outcome: StreamEnd;
    let openedMs: number | null = null;
    let delivered = false;
    // A stream that did its job (delivered, or stayed open a while) earns a fresh retry budget;
    // a node that opens streams only to end them at once spends it like any failure.
    const earnedFreshBudget = () =>
      delivered ||
      (openedMs !== null && ctx.caller.clock.nowMs() - openedMs >= ctx.retry.backoffMaxMs);
    try {
      const answer = await call(ctx.caller, node, {
        method: 'GET',
        path: channelPath(channel, 'tail'),
        query: { from: next, to: end ?? undefined },
        headers: {
          accept: 'text/event-stream',
          ...(next > 0 ? { 'last-event-id': String(next - 1) } : {}),
        },
        signal: connection.signal,
        timeoutMs: ctx.timeoutMs,
      });
      const response = answer.response;
      deadline = answer.deadline;
      // The deadline covered the connection and the headers; a stream may then stay quiet.
      deadline.stopTimer();
      if (response.status !== 200) {
        throw answerError(response.status, await readText(response, node), node, false);
      }
      if (response.body === null) throw streamBroke(node, 'no body');
      openedMs = ctx.caller.clock.nowMs();
      if (idleMs > 0) watchIdle(idleMs);
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      const parser = new SseParser();
      outcome = 'reconnect';
      try {
        reading: for (;;) {
          let chunk: Awaited<ReturnType<typeof reader.read>>;
          try {
            chunk = await reader.read();
          } catch (error) {
            if (signal?.aborted) throw signal.reason;
            throw streamBroke(node, idle ? `nothing for ${idleMs} ms` : String(error));
          }
          if (chunk.done) throw streamBroke(node, 'the connection closed');
          lastByteMs = ctx.caller.clock.nowMs();
          let messages: SseMessage[];
          try {
            messages = parser.push(decoder.decode(chunk.value, { stream: true }));
          } catch (error) {
            throw new RedexClientError({
              code: ClientErrorCode.BadResponse,
              message: `${node}: ${(error as Error).message}`,
              status: 200,
              node,
              outcome: 'none',
            });
          }
          for (const message of messages) {
            const verdict = handle(message, node, next);
            if (verdict === 'reconnect') break reading;
            if (verdict === 'to') {
              outcome = 'to';
              break reading;
            }
            if (verdict === null) continue;
            next = verdict.seq + 1;
            delivered = true;
            yield verdict;
            if (end !== null && next >= end) {
              outcome = 'to';
              break reading;
            }
          }
        }
      } finally {
        connection.abort();
        void reader.cancel().catch(() => {});
      }
    } catch (error) {
      release();
      if (earnedFreshBudget()) budget.reset();
      node = await failOver(ctx, budget, error, node, { operation: 'tail', channel }, signal);
      continue;
    } finally {
      release();
    }
    if (outcome === 'to') return;
    // The node ended the stream (it is stopping, or closed the channel): ask the next one.
    if (earnedFreshBudget()) budget.reset();
    node = await failOver(
      ctx,
      budget,
      streamBroke(node, 'the node ended it'),
      node,
      { operation: 'tail', channel },
      signal,
    );
  }
}

/** An event to deliver, null to skip (a duplicate or a comment), or how the stream ends. */
function handle(message: SseMessage, node: string, next: number): ClientEvent | null | StreamEnd {
  if (message.event === 'message') {
    const event = decodeEvent(parse(message.data, node), node);
    if (event.seq < next) return null;
    if (event.seq > next) {
      throw new RedexClientError({
        code: ClientErrorCode.TailGap,
        message: `${node} sent seq ${event.seq} when ${next} was next`,
        status: 200,
        node,
        outcome: 'none',
        details: { expectedSeq: next, seq: event.seq },
      });
    }
    return event;
  }
  if (message.event === 'error') {
    const body = parse(message.data, node) as { error?: { code?: unknown } };
    // The same mapping as an error answer: LAGGED with lostSeq and resumeSeq, and so on.
    throw answerError(statusOf(body), message.data, node, false);
  }
  if (message.event === 'end') {
    const reason = (parse(message.data, node) as { reason?: unknown }).reason;
    return reason === 'to' ? 'to' : 'reconnect';
  }
  return null;
}

/** The status the same error would have had as an answer: 410 for LAGGED, else 500. */
function statusOf(body: { error?: { code?: unknown } }): number {
  const code = body.error?.code;
  return code === 'LAGGED' || code === 'TRUNCATED' ? 410 : 500;
}

function parse(data: string, node: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    throw new RedexClientError({
      code: ClientErrorCode.BadResponse,
      message: `${node} sent an event-stream message that is not JSON`,
      status: 200,
      node,
      outcome: 'none',
    });
  }
}
