// RedexClient: an application's handle on a RedEX node or cluster over the HTTP API. It appends
// (following NOT_LEADER to the leader, retrying only what is proven unwritten), reads ranges page
// by page, tails channels across node failures, and does channel admin. docs/CLIENT.md is the
// user's guide; each job lives in its own file next to this one.

import { type AppendOptions, appendBatch } from './append.js';
import { payloadBytes } from './base64.js';
import { type Caller, callJson, channelPath } from './call.js';
import type { ClientContext, RetryNotice } from './context.js';
import { isRetryable, RedexClientError } from './errors.js';
import type { ClientEvent } from './events.js';
import { onAnyNode } from './failover.js';
import { NodeSet } from './nodes.js';
import {
  type ReadOptions,
  type ReadPage,
  type ReadPageOptions,
  readPage,
  readRange,
} from './read.js';
import { RETRY_DEFAULTS, RetryBudget, type RetryPolicy } from './retry.js';
import { type TailOptions, tailChannel } from './tail.js';
import { type ClientClock, platformClock } from './timer.js';
import { type ClientTls, type FetchLike, openTransport, type Transport } from './transport.js';
import type {
  ChannelSpec,
  ChannelStatus,
  CreateChannelAnswer,
  LeadershipAnswer,
  NodeStatus,
} from './types.js';

export const REQUEST_TIMEOUT_MS_DEFAULT = 30_000;

export type Payload = Uint8Array | string;

export interface RedexClientOptions {
  /** One node's URL or several (`http://10.0.0.1:7070`); leaders learned later are added. */
  readonly nodes: string | readonly string[];
  /** Bearer token for nodes configured with one. */
  readonly token?: string | null;
  /** A `fetch` to use instead of the built-in choice (undici keep-alive pool in Node). */
  readonly fetch?: FetchLike;
  /** Node only, without `fetch`: CA and client certificate for https nodes. */
  readonly tls?: ClientTls;
  /** Keep-alive connections per node (Node only, without `fetch`; default 16). */
  readonly connectionsPerNode?: number;
  /** Until an answer arrives (a stream: until it opens), ms; 0: none. Default 30000. */
  readonly timeoutMs?: number;
  readonly retry?: Partial<RetryPolicy>;
  /** Hears of every retry (logging); must not throw. */
  readonly onRetry?: (notice: RetryNotice) => void;
  /** Time for pauses and deadlines (tests pass a virtual clock). */
  readonly clock?: ClientClock;
}

export interface CallOptions {
  readonly signal?: AbortSignal;
}

export class RedexClient {
  readonly #ctx: ClientContext;
  readonly #options: RedexClientOptions;
  #transport: Promise<Transport> | null = null;
  #closed = false;

  constructor(options: RedexClientOptions) {
    this.#options = options;
    const nodes = new NodeSet(typeof options.nodes === 'string' ? [options.nodes] : options.nodes);
    const caller: Caller = {
      transport: () => this.#openTransport(),
      token: options.token ?? null,
      clock: options.clock ?? platformClock,
    };
    this.#ctx = {
      caller,
      nodes,
      timeoutMs: options.timeoutMs ?? REQUEST_TIMEOUT_MS_DEFAULT,
      retry: { ...RETRY_DEFAULTS, ...options.retry },
      onRetry: options.onRetry ?? null,
    };
  }

  /** The nodes known so far, configured first; the current one reads and streams go to. */
  get nodes(): readonly string[] {
    return this.#ctx.nodes.all;
  }

  get currentNode(): string {
    return this.#ctx.nodes.current;
  }

  /**
   * Appends one event (resolves to its seq) or a batch, all or nothing (resolves to the seqs,
   * consecutive). See docs/CLIENT.md for what is retried and what `outcome: 'unknown'` means.
   */
  append(channel: string, payload: Payload, options?: AppendOptions): Promise<number>;
  append(channel: string, payloads: readonly Payload[], options?: AppendOptions): Promise<number[]>;
  async append(
    channel: string,
    payload: Payload | readonly Payload[],
    options: AppendOptions = {},
  ): Promise<number | number[]> {
    // isView rather than instanceof: a Uint8Array from another realm (an iframe, a VM) counts too.
    const single = typeof payload === 'string' || ArrayBuffer.isView(payload);
    const payloads = single ? [payload] : (payload as readonly Payload[]);
    const answer = await appendBatch(this.#ctx, channel, payloads.map(payloadBytes), options);
    const seqs = Array.from({ length: answer.count }, (_, index) => answer.firstSeq! + index);
    return single ? seqs[0]! : seqs;
  }

  /** Events of `[from, to)` page by page; without `to`, up to the tail as of the first page. */
  read(channel: string, options: ReadOptions = {}): AsyncGenerator<ClientEvent, void, undefined> {
    return readRange(this.#ctx, channel, options);
  }

  /** One page of a range, with `next` and the retained bounds (evictions show as a jump). */
  readPage(channel: string, options: ReadPageOptions = {}): Promise<ReadPage> {
    return readPage(this.#ctx, channel, options);
  }

  /** History from `from`, then live events, across node failures; no gap, no duplicate. */
  tail(channel: string, options: TailOptions = {}): AsyncGenerator<ClientEvent, void, undefined> {
    return tailChannel(this.#ctx, channel, options);
  }

  /** One node's status (default: the current node). */
  status(options: CallOptions & { readonly node?: string } = {}): Promise<NodeStatus> {
    if (options.node !== undefined) {
      return callJson<NodeStatus>(this.#ctx.caller, options.node, {
        method: 'GET',
        path: '/status',
        signal: options.signal,
        timeoutMs: this.#ctx.timeoutMs,
      });
    }
    return this.#get<NodeStatus>('/status', null, options);
  }

  async channels(options: CallOptions = {}): Promise<readonly ChannelStatus[]> {
    return (await this.#get<{ channels: ChannelStatus[] }>('/channels', null, options)).channels;
  }

  channel(name: string, options: CallOptions = {}): Promise<ChannelStatus> {
    return this.#get<ChannelStatus>(channelPath(name), name, options);
  }

  /** Creates a channel, or finds it open with the same spec (`created: false`). */
  createChannel(
    name: string,
    spec: ChannelSpec = {},
    options: CallOptions = {},
  ): Promise<CreateChannelAnswer> {
    const body = new TextEncoder().encode(JSON.stringify({ ...spec, name }));
    // The same create again is answered `created: false`: safe to send twice.
    return this.#send<CreateChannelAnswer>('POST', '/channels', name, body, options, false);
  }

  /** Deletes a channel (DELETE /channels/{name}); resolves to the node's answer. */
  deleteChannel(name: string, options: CallOptions = {}): Promise<unknown> {
    return this.#send<unknown>('DELETE', channelPath(name), name, undefined, options, true);
  }

  /**
   * Hands the channel's leadership to member `to` (a name or hex NodeId; by default the member
   * furthest along): POST /channels/{name}/leadership, answered by the channel's leader (a
   * NOT_LEADER answer moves on to the next node). Resolves to who leads now.
   */
  transferLeadership(
    name: string,
    options: CallOptions & { readonly to?: string } = {},
  ): Promise<LeadershipAnswer> {
    const query = options.to === undefined ? '' : `?to=${encodeURIComponent(options.to)}`;
    return this.#send<LeadershipAnswer>(
      'POST',
      `${channelPath(name)}/leadership${query}`,
      name,
      undefined,
      options,
      true,
    );
  }

  /** Closes the kept-alive connections; later calls fail. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    const transport = this.#transport;
    if (transport !== null) await (await transport.catch(() => null))?.close();
  }

  #openTransport(): Promise<Transport> {
    if (this.#closed) {
      return Promise.reject(
        new RedexClientError({
          code: 'CLOSED',
          message: 'this RedexClient is closed',
          status: null,
          node: null,
          outcome: 'none',
        }),
      );
    }
    this.#transport ??= openTransport({
      fetch: this.#options.fetch,
      tls: this.#options.tls,
      connectionsPerNode: this.#options.connectionsPerNode,
    });
    return this.#transport;
  }

  #get<T>(path: string, channel: string | null, options: CallOptions): Promise<T> {
    const budget = new RetryBudget(this.#ctx.retry, this.#ctx.caller.clock);
    return onAnyNode(this.#ctx, budget, { operation: 'admin', channel }, options.signal, (node) =>
      callJson<T>(this.#ctx.caller, node, {
        method: 'GET',
        path,
        signal: options.signal,
        timeoutMs: this.#ctx.timeoutMs,
      }),
    );
  }

  /** A change: retried elsewhere only when it surely did not reach a node (`write`). */
  #send<T>(
    method: string,
    path: string,
    channel: string,
    body: Uint8Array | undefined,
    options: CallOptions,
    write: boolean,
  ): Promise<T> {
    const budget = new RetryBudget(this.#ctx.retry, this.#ctx.caller.clock);
    return onAnyNode(
      this.#ctx,
      budget,
      { operation: 'admin', channel },
      options.signal,
      (node) =>
        callJson<T>(this.#ctx.caller, node, {
          method,
          path,
          ...(body === undefined ? {} : { body, contentType: 'application/json' }),
          signal: options.signal,
          timeoutMs: this.#ctx.timeoutMs,
          write,
        }),
      write ? isRetryable : undefined,
    );
  }
}
