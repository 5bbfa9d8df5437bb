// Range reads, page by page (GET /channels/{name}/events): each page is one request bounded in
// events and bytes, and `next` says where the following one starts, so a long range costs the
// node one page at a time and a failed page is simply asked again (of another node if need be).

import { callJson, channelPath } from './call.js';
import type { ClientContext } from './context.js';
import { type ClientEvent, decodeEvent } from './events.js';
import { onAnyNode } from './failover.js';
import { RetryBudget } from './retry.js';

/** Events per page when the caller does not say (the server's own default). */
export const PAGE_EVENTS_DEFAULT = 1_000;

export interface ReadPageOptions {
  readonly from?: number;
  /** Exclusive end; absent: up to the channel's tail. */
  readonly to?: number;
  /** Events in the page (1..10000 on the server). */
  readonly limit?: number;
  /** Payload bytes in the page; one event always comes even if larger. */
  readonly maxBytes?: number;
  readonly signal?: AbortSignal;
}

export interface ReadPage {
  readonly events: readonly ClientEvent[];
  /** Where the following page starts (past an evicted range too). */
  readonly next: number;
  /** The lowest retained seq (null: nothing retained) and the tail, when the page was read. */
  readonly firstSeq: number | null;
  readonly nextSeq: number;
}

export interface ReadOptions {
  readonly from?: number;
  /** Exclusive end; absent: the channel's tail as of the first page, so a read always ends. */
  readonly to?: number;
  /** Events in all, at most. */
  readonly limit?: number;
  /** Events per request (default 1000). */
  readonly pageSize?: number;
  readonly signal?: AbortSignal;
}

interface PageJson {
  readonly events: readonly unknown[];
  readonly next: number;
  readonly firstSeq: number | null;
  readonly nextSeq: number;
}

export async function readPage(
  ctx: ClientContext,
  channel: string,
  options: ReadPageOptions,
): Promise<ReadPage> {
  const budget = new RetryBudget(ctx.retry, ctx.caller.clock);
  return onAnyNode(ctx, budget, { operation: 'read', channel }, options.signal, async (node) => {
    const page = await callJson<PageJson>(ctx.caller, node, {
      method: 'GET',
      path: channelPath(channel, 'events'),
      query: {
        from: options.from ?? 0,
        to: options.to,
        limit: options.limit,
        maxBytes: options.maxBytes,
      },
      signal: options.signal,
      timeoutMs: ctx.timeoutMs,
    });
    return {
      events: page.events.map((event) => decodeEvent(event, node)),
      next: page.next,
      firstSeq: page.firstSeq,
      nextSeq: page.nextSeq,
    };
  });
}

export async function* readRange(
  ctx: ClientContext,
  channel: string,
  options: ReadOptions,
): AsyncGenerator<ClientEvent, void, undefined> {
  let cursor = options.from ?? 0;
  let end = options.to ?? null;
  let left = options.limit ?? Number.POSITIVE_INFINITY;
  const pageSize = options.pageSize ?? PAGE_EVENTS_DEFAULT;
  while (left > 0 && (end === null || cursor < end)) {
    const page = await readPage(ctx, channel, {
      from: cursor,
      ...(end === null ? {} : { to: end }),
      limit: Math.min(pageSize, left),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    end ??= page.nextSeq;
    for (const event of page.events) {
      if (event.seq >= end || left <= 0) return;
      yield event;
      left--;
    }
    // A page that moves nothing forward (an empty channel, or the tail reached) ends the read.
    if (page.next <= cursor) return;
    cursor = page.next;
  }
}
