// Appends: one request per call, in the binary batch format (no JSON, no base64), all or nothing.
// Where the write goes: the channel's last known leader, else the current node. What is retried
// (the request is sent again, to the leader a NOT_LEADER answer names or to the next node):
// only answers that prove nothing was written: NOT_LEADER, SHUTTING_DOWN, a connection that
// could not be made. Anything that leaves the outcome open (LEADERSHIP_LOST, a timeout, a
// connection cut after sending) is thrown at once with `outcome: 'unknown'`.

import { callJson, channelPath } from './call.js';
import type { ClientContext } from './context.js';
import { isRetryable, type RedexClientError } from './errors.js';
import { normalizeNode } from './nodes.js';
import { RetryBudget } from './retry.js';
import { pause } from './timer.js';

export const BATCH_MEDIA_TYPE = 'application/vnd.redex.batch';
/** NOT_LEADER redirects followed in a row without a pause (more means the nodes disagree). */
const REDIRECTS_WITHOUT_PAUSE = 3;

/** `quorum` (the server's default on a replicated channel), `leader`, `all`, or N replicas. */
export type Acks = 'quorum' | 'leader' | 'all' | number;

export interface AppendOptions {
  readonly acks?: Acks;
  /** How long the server waits for `acks` (its `timeoutMs`; server default 5000). */
  readonly waitMs?: number;
  /** Append only if the channel's next seq is this (else `SEQ_MISMATCH`, nothing written). */
  readonly ifNextSeq?: number;
  readonly signal?: AbortSignal;
}

export interface AppendAnswer {
  /** Null for an empty batch. */
  readonly firstSeq: number | null;
  readonly lastSeq: number | null;
  readonly count: number;
}

/** Each payload as a 4-byte big-endian length and its bytes. */
export function encodeBatch(payloads: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const payload of payloads) size += 4 + payload.byteLength;
  const body = new Uint8Array(size);
  const view = new DataView(body.buffer);
  let offset = 0;
  for (const payload of payloads) {
    view.setUint32(offset, payload.byteLength);
    body.set(payload, offset + 4);
    offset += 4 + payload.byteLength;
  }
  return body;
}

function leaderHint(error: RedexClientError): string | null {
  const leader = error.details.leader as { http?: unknown } | null | undefined;
  if (typeof leader?.http !== 'string') return null;
  try {
    return normalizeNode(leader.http);
  } catch {
    return null;
  }
}

export async function appendBatch(
  ctx: ClientContext,
  channel: string,
  payloads: readonly Uint8Array[],
  options: AppendOptions,
): Promise<AppendAnswer> {
  const body = encodeBatch(payloads);
  const query = {
    acks: options.acks === undefined ? undefined : String(options.acks),
    timeoutMs: options.waitMs,
    ifNextSeq: options.ifNextSeq,
  };
  const budget = new RetryBudget(ctx.retry, ctx.caller.clock);
  let node = ctx.nodes.leaderOf(channel) ?? ctx.nodes.current;
  let redirects = 0;
  for (;;) {
    try {
      const answer = await callJson<AppendAnswer>(ctx.caller, node, {
        method: 'POST',
        path: channelPath(channel, 'events'),
        query,
        body,
        contentType: BATCH_MEDIA_TYPE,
        signal: options.signal,
        timeoutMs: ctx.timeoutMs,
        write: true,
      });
      ctx.nodes.setLeader(channel, node);
      return answer;
    } catch (error) {
      if (!isRetryable(error) || !budget.take()) throw error;
      const hint = error.code === 'NOT_LEADER' ? leaderHint(error) : null;
      let next: string;
      let delayMs = 0;
      if (hint !== null && hint !== node && redirects < REDIRECTS_WITHOUT_PAUSE) {
        redirects++;
        next = hint;
        ctx.nodes.setLeader(channel, hint);
      } else {
        redirects = 0;
        ctx.nodes.forgetLeader(channel);
        // No usable hint: an election may be under way; ask the next node after a pause.
        next = hint !== null && hint !== node ? hint : ctx.nodes.after(node);
        delayMs = budget.nextPauseMs();
      }
      ctx.onRetry?.({ operation: 'append', channel, error, from: node, to: next, delayMs });
      if (delayMs > 0) await pause(ctx.caller.clock, delayMs, options.signal);
      node = next;
    }
  }
}
