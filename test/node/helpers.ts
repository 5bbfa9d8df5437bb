// Shared test plumbing for the node daemon: an in-process node (a LocalNodeService over an
// in-memory or on-disk Redex, behind a NodeHttpServer on an ephemeral port), a JSON request
// helper, an SSE client that records raw text and parsed messages, and hang guards.

import { mkdtemp, rm } from 'node:fs/promises';
import http, { type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SseMessage, SseParser } from '../../src/client/sse-parser.js';
import { Redex } from '../../src/log/redex.js';
import type { ChannelSpec } from '../../src/node/channel-spec.js';
import { NodeHttpServer, type NodeHttpServerOptions } from '../../src/node/http/server.js';
import { LocalNodeService, type LocalNodeServiceOptions } from '../../src/node/local-service.js';
import type { NodeService } from '../../src/node/service.js';
import type { Clock } from '../../src/time/clock.js';

/** Generous: only a hang reaches it, and then the test fails with `what` instead of stalling. */
export const HANG_GUARD_MS = 10_000;

export function withTimeout<T>(promise: Promise<T>, what: string, ms = HANG_GUARD_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer));
}

/**
 * Re-checks `predicate` on every timer turn until it holds, for state with no event to wait on
 * (a tail detached after a disconnect). Fails with `what` after the hang guard.
 */
export async function eventually(
  predicate: () => boolean | Promise<boolean>,
  what: string,
): Promise<void> {
  const deadline = Date.now() + HANG_GUARD_MS;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${HANG_GUARD_MS} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export interface TestNode {
  readonly url: string;
  readonly service: NodeService;
  readonly local: LocalNodeService | null;
  readonly http: NodeHttpServer;
  readonly redex: Redex | null;
  close(): Promise<void>;
}

export interface TestNodeOptions {
  readonly token?: string;
  readonly clock?: Clock;
  /** Use this service instead of a fresh LocalNodeService. */
  readonly service?: NodeService;
  readonly channels?: readonly ChannelSpec[];
  readonly dir?: string;
  readonly serviceOptions?: Partial<LocalNodeServiceOptions>;
  readonly http?: Partial<NodeHttpServerOptions>;
}

export async function startTestNode(options: TestNodeOptions = {}): Promise<TestNode> {
  let redex: Redex | null = null;
  let local: LocalNodeService | null = null;
  let service = options.service;
  if (service === undefined) {
    redex = new Redex({
      ...(options.dir ? { dir: options.dir } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
    });
    local = new LocalNodeService({ name: 'node-a', redex, ...options.serviceOptions });
    service = local;
    for (const spec of options.channels ?? []) await local.createChannel(spec);
  }
  const server = new NodeHttpServer({ service, token: options.token ?? null, ...options.http });
  await server.listen({ host: '127.0.0.1', port: 0 });
  return {
    url: server.url,
    service,
    local,
    http: server,
    redex,
    close: async () => {
      server.stopListening();
      await service.shutdown();
      await server.close();
    },
  };
}

export function memorySpec(name: string): ChannelSpec {
  return { name, file: { persistent: false }, replication: null };
}

export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  // biome-ignore lint/suspicious/noExplicitAny: test answers are inspected field by field
  readonly json: any;
}

export async function api(
  base: string,
  method: string,
  path: string,
  init: {
    json?: unknown;
    body?: string | Uint8Array;
    headers?: Record<string, string>;
    token?: string;
  } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...init.headers };
  let body = init.body;
  if (init.json !== undefined) {
    body = JSON.stringify(init.json);
    headers['content-type'] ??= 'application/json';
  }
  if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
  const response = await withTimeout(
    fetch(base + path, { method, headers, body }),
    `${method} ${path}`,
  );
  const text = await response.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: response.status, headers: response.headers, text, json };
}

export function utf8Body(payload: string): { payload: string; encoding: 'utf8' } {
  return { payload, encoding: 'utf8' };
}

/** A Server-Sent-Events client over node:http that keeps the raw text and the parsed messages. */
export class TestSse {
  readonly response: IncomingMessage;
  raw = '';
  readonly #messages: SseMessage[] = [];
  readonly #waiters: (() => void)[] = [];
  #ended = false;
  readonly ended: Promise<void>;

  private constructor(response: IncomingMessage, paused: boolean) {
    this.response = response;
    const parser = new SseParser();
    response.setEncoding('utf8');
    // A paused reader reads nothing until `resume()`: the socket fills up, as with a slow client.
    if (paused) response.pause();
    response.on('data', (chunk: string) => {
      this.raw += chunk;
      this.#messages.push(...parser.push(chunk));
      this.#wake();
    });
    this.ended = new Promise((resolve) => {
      const end = () => {
        this.#ended = true;
        this.#wake();
        resolve();
      };
      response.on('end', end);
      response.on('close', end);
      response.on('error', end);
    });
  }

  static open(
    url: string,
    headers: Record<string, string> = {},
    { paused = false } = {},
  ): Promise<TestSse> {
    return withTimeout(
      new Promise((resolve, reject) => {
        const request = http.get(
          url,
          { headers: { accept: 'text/event-stream', ...headers } },
          (response) => resolve(new TestSse(response, paused)),
        );
        request.on('error', reject);
      }),
      `opening ${url}`,
    );
  }

  get status(): number {
    return this.response.statusCode ?? 0;
  }

  /** The next message, or null once the stream ended with none left. */
  async next(what = 'the next SSE message'): Promise<SseMessage | null> {
    await withTimeout(
      new Promise<void>((resolve) => {
        const check = () => {
          if (this.#messages.length > 0 || this.#ended) resolve();
          else this.#waiters.push(check);
        };
        check();
      }),
      what,
    );
    if (this.#messages.length > 0) return this.#messages.shift()!;
    return null;
  }

  /** Waits until the raw stream contains `text`. */
  waitForRaw(text: string): Promise<void> {
    return this.waitUntil((raw) => raw.includes(text), `waiting for ${JSON.stringify(text)}`);
  }

  /** Waits until `predicate` holds for the raw text received so far. */
  async waitUntil(predicate: (raw: string) => boolean, what: string): Promise<void> {
    while (!predicate(this.raw)) {
      if (this.#ended)
        throw new Error(`stream ended before ${what}; got ${JSON.stringify(this.raw)}`);
      await withTimeout(new Promise<void>((resolve) => this.#waiters.push(resolve)), what);
    }
  }

  resume(): void {
    this.response.resume();
  }

  close(): void {
    this.response.destroy();
  }

  #wake(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }
}

export async function tempDir(
  prefix: string,
): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `redex-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}
