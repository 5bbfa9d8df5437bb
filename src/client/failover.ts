// Requests that change nothing (reads, status, admin lookups, opening a stream) may be sent again
// after any failure that is not the node's considered answer: a connection that failed or broke,
// a timeout, a 5xx (a node shutting down, a storage fault on that one node). They move on to the
// next node, pausing between attempts, until the retry budget is spent.

import type { ClientContext, RetryNotice } from './context.js';
import { ClientErrorCode, RedexClientError } from './errors.js';
import type { RetryBudget } from './retry.js';
import { pause } from './timer.js';

/** Failures without an answer that another attempt may not repeat. */
const NO_ANSWER = new Set<string>([
  ClientErrorCode.Unreachable,
  ClientErrorCode.ConnectionLost,
  ClientErrorCode.Timeout,
]);

/** True when another node (or the same one later) may give a better answer. */
export function isReadRetryable(error: unknown): error is RedexClientError {
  if (!(error instanceof RedexClientError)) return false;
  if (error.status === null) return NO_ANSWER.has(error.code);
  return error.status >= 500 || error.code === 'NOT_LEADER';
}

/**
 * After a failed attempt on `node`: throws if the error is final or the budget is spent, else
 * pauses and returns the node to try next.
 */
export async function failOver(
  ctx: ClientContext,
  budget: RetryBudget,
  error: unknown,
  node: string,
  notice: Pick<RetryNotice, 'operation' | 'channel'>,
  signal: AbortSignal | undefined,
  retryable: (error: unknown) => error is RedexClientError = isReadRetryable,
): Promise<string> {
  if (signal?.aborted) throw signal.reason;
  if (!retryable(error) || !budget.take()) throw error;
  const next = ctx.nodes.after(node);
  const delayMs = budget.nextPauseMs();
  ctx.onRetry?.({ ...notice, error, from: node, to: next, delayMs });
  await pause(ctx.caller.clock, delayMs, signal);
  return next;
}

/** Runs `attempt` on the current node, failing over as above. */
export async function onAnyNode<T>(
  ctx: ClientContext,
  budget: RetryBudget,
  notice: Pick<RetryNotice, 'operation' | 'channel'>,
  signal: AbortSignal | undefined,
  attempt: (node: string) => Promise<T>,
  retryable: (error: unknown) => error is RedexClientError = isReadRetryable,
): Promise<T> {
  let node = ctx.nodes.current;
  for (;;) {
    try {
      return await attempt(node);
    } catch (error) {
      node = await failOver(ctx, budget, error, node, notice, signal, retryable);
    }
  }
}
