// The CLI's HTTP client for a node's API: JSON requests with typed errors, and Server-Sent-Event
// streams. node:http/https rather than fetch, so a client certificate can be presented when the
// node requires one. Paths take a channel name as one encoded segment (`channelPath`).

import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { ApiError, CliError } from './errors.js';
import { type SseMessage, SseParser } from './sse-parser.js';

/** A JSON answer larger than this is refused (the API's own pages are a few MiB at most). */
export const RESPONSE_BYTES_MAX = 64 * 1024 * 1024;
export const REQUEST_TIMEOUT_MS_DEFAULT = 30_000;

export interface ClientTls {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
}

export interface ClientOptions {
  readonly url: string;
  readonly token?: string | null;
  readonly tls?: ClientTls | null;
  readonly timeoutMs?: number;
  /** Aborts every request of this client (Ctrl-C): they fail with exit code 130. */
  readonly signal?: AbortSignal;
}

/** The conventional exit code of a command interrupted by SIGINT. */
export const INTERRUPTED_EXIT_CODE = 130;

export interface RequestOptions {
  readonly query?: Record<string, string | number | undefined>;
  readonly json?: unknown;
  readonly body?: Uint8Array;
  readonly contentType?: string;
}

export function channelPath(channel: string, ...rest: string[]): string {
  return ['/channels', encodeURIComponent(channel), ...rest].join('/');
}

export class ApiClient {
  readonly options: ClientOptions;
  readonly #base: URL;
  /** Keeps connections open across the pages of a read or the batches of an append. */
  readonly #agents: { http: http.Agent; https: https.Agent };

  /** `agents` is shared by clients made with `withUrl`, so closing the first closes them all. */
  constructor(options: ClientOptions, agents?: { http: http.Agent; https: https.Agent }) {
    let base: URL;
    try {
      base = new URL(options.url);
    } catch {
      throw new CliError(`--url ${JSON.stringify(options.url)} is not a URL`, 2);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new CliError(
        `--url must be http:// or https://, got ${JSON.stringify(options.url)}`,
        2,
      );
    }
    this.options = options;
    this.#base = base;
    this.#agents = agents ?? {
      http: new http.Agent({ keepAlive: true }),
      https: new https.Agent({ keepAlive: true }),
    };
  }

  /** Closes kept-alive connections, so a finished command does not wait for them to time out. */
  close(): void {
    this.#agents.http.destroy();
    this.#agents.https.destroy();
  }

  get url(): string {
    return this.#base.origin + this.#base.pathname.replace(/\/$/, '');
  }

  /** The same client aimed at another node (a NOT_LEADER redirect). */
  withUrl(url: string): ApiClient {
    return new ApiClient({ ...this.options, url }, this.#agents);
  }

  async json<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    let body: Uint8Array | undefined = options.body;
    let contentType = options.contentType;
    if (options.json !== undefined) {
      body = Buffer.from(JSON.stringify(options.json), 'utf8');
      contentType = 'application/json';
    }
    const signal = this.options.signal;
    const response = await this.#send(method, path, options.query, body, contentType, signal, true);
    let text: string;
    try {
      text = await readAll(response);
    } catch (error) {
      if (signal?.aborted) throw new CliError('interrupted', INTERRUPTED_EXIT_CODE);
      throw error;
    }
    return parseAnswer(response.statusCode ?? 0, text) as T;
  }

  /**
   * Opens an SSE stream and calls `onMessage` for each message until it returns false, the
   * server ends the stream, or `signal` aborts. A non-200 answer throws its ApiError.
   */
  async stream(
    path: string,
    query: Record<string, string | number | undefined>,
    onMessage: (message: SseMessage) => boolean | Promise<boolean>,
    signal: AbortSignal | undefined = this.options.signal,
  ): Promise<void> {
    let response: IncomingMessage;
    try {
      response = await this.#send('GET', path, query, undefined, undefined, signal, false, {
        accept: 'text/event-stream',
      });
    } catch (error) {
      // Interrupting a stream is how it is meant to end.
      if (signal?.aborted) return;
      throw error;
    }
    if (response.statusCode !== 200) {
      parseAnswer(response.statusCode ?? 0, await readAll(response));
      return;
    }
    const parser = new SseParser();
    response.setEncoding('utf8');
    try {
      for await (const chunk of response) {
        for (const message of parser.push(chunk as string)) {
          if (!(await onMessage(message))) return;
        }
      }
    } catch (error) {
      if (signal?.aborted) return;
      throw new CliError(`the stream from ${this.url} broke: ${(error as Error).message}`);
    } finally {
      response.destroy();
    }
  }

  #send(
    method: string,
    path: string,
    query: RequestOptions['query'],
    body: Uint8Array | undefined,
    contentType: string | undefined,
    signal: AbortSignal | undefined,
    timed: boolean,
    extraHeaders: Record<string, string> = {},
  ): Promise<IncomingMessage> {
    const url = new URL(this.url + path);
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = { ...extraHeaders };
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    if (contentType !== undefined) headers['content-type'] = contentType;
    if (body !== undefined) headers['content-length'] = String(body.byteLength);
    const secure = url.protocol === 'https:';
    const tls = this.options.tls ?? {};
    // A stream may stay quiet for long; a request may not.
    const timeoutMs = timed ? (this.options.timeoutMs ?? REQUEST_TIMEOUT_MS_DEFAULT) : 0;
    return new Promise((resolve, reject) => {
      const request = (secure ? https : http).request(
        url,
        {
          method,
          headers,
          signal,
          agent: secure ? this.#agents.https : this.#agents.http,
          ...(secure ? { ca: tls.ca, cert: tls.cert, key: tls.key } : {}),
        },
        resolve,
      );
      if (timeoutMs > 0) {
        request.setTimeout(timeoutMs, () =>
          request.destroy(new Error(`no answer within ${timeoutMs} ms`)),
        );
      }
      request.on('error', (error: NodeJS.ErrnoException) => {
        if (signal?.aborted) {
          reject(new CliError('interrupted', INTERRUPTED_EXIT_CODE));
          return;
        }
        reject(
          new CliError(`cannot reach the node at ${this.url}: ${error.code ?? error.message}`),
        );
      });
      request.end(body);
    });
  }
}

async function readAll(response: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response) {
    size += (chunk as Buffer).byteLength;
    if (size > RESPONSE_BYTES_MAX) {
      response.destroy();
      throw new CliError(`the node's answer is larger than ${RESPONSE_BYTES_MAX} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The JSON of a 2xx answer; an ApiError for anything else. */
function parseAnswer(status: number, text: string): unknown {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    if (status >= 200 && status < 300)
      throw new CliError(`the node answered ${status} with non-JSON`);
    throw new ApiError(status, `HTTP_${status}`, `HTTP ${status}: ${text.slice(0, 200)}`, {});
  }
  if (status >= 200 && status < 300) return body;
  const error = (body as { error?: Record<string, unknown> }).error;
  if (typeof error !== 'object' || error === null) {
    throw new ApiError(status, `HTTP_${status}`, `HTTP ${status}: ${text.slice(0, 200)}`, {});
  }
  const { code, message, ...details } = error;
  throw new ApiError(status, String(code), String(message ?? `HTTP ${status}`), details);
}
