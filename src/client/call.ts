// One HTTP request to one node, and the mapping of everything that can go wrong into a
// `RedexClientError` that says whether the request may have reached the node (`outcome`).

import { ClientErrorCode, RedexClientError, UNKNOWN_OUTCOME_CODES } from './errors.js';
import { type ClientClock, Deadline } from './timer.js';
import type { HttpAnswer, Transport } from './transport.js';

/** A JSON answer larger than this is refused (the API's own pages are a few MiB at most). */
export const RESPONSE_BYTES_MAX = 64 * 1024 * 1024;

/**
 * Error codes (the cause's `code` in Node's fetch) raised while connecting: the request was
 * never sent. TLS failures count too: a node that refuses the handshake processes nothing.
 */
const NOT_SENT =
  /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|UND_ERR_CONNECT_TIMEOUT)$|SSL|TLS|CERT|SELF_SIGNED/;

export type Query = Readonly<Record<string, string | number | undefined>>;

export interface CallOptions {
  readonly method: string;
  readonly path: string;
  readonly query?: Query;
  readonly body?: Uint8Array;
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal | undefined;
  /** Until the answer's headers (and, for `json`, its body) arrive; 0: none. */
  readonly timeoutMs: number;
  /** A write: an answer lost after sending makes the outcome unknown. */
  readonly write?: boolean;
}

export interface Caller {
  readonly transport: () => Promise<Transport>;
  readonly token: string | null;
  readonly clock: ClientClock;
}

export interface Answer {
  readonly response: HttpAnswer;
  /** The request's time limit: `done()` once the answer is read; a stream calls `stopTimer()`. */
  readonly deadline: Deadline;
}

/** `/channels/{name}/…` with the name as one encoded segment. */
export function channelPath(channel: string, ...rest: string[]): string {
  return ['/channels', encodeURIComponent(channel), ...rest].join('/');
}

function causeCode(error: unknown): string {
  let current = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'ABORT_ERR') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return error instanceof Error ? error.message : String(error);
}

/** What a failed fetch or body read means; rethrows the caller's own abort reason as is. */
export function transportFailure(
  error: unknown,
  node: string,
  deadline: Deadline,
  signal: AbortSignal | undefined,
  write: boolean,
): unknown {
  if (signal?.aborted && !deadline.timedOut) return signal.reason;
  if (deadline.timedOut) {
    return new RedexClientError({
      code: ClientErrorCode.Timeout,
      message: `no answer from ${node} within the timeout`,
      status: null,
      node,
      outcome: write ? 'unknown' : 'none',
      cause: error,
    });
  }
  const code = causeCode(error);
  if (NOT_SENT.test(code)) {
    return new RedexClientError({
      code: ClientErrorCode.Unreachable,
      message: `cannot reach the node at ${node}: ${code}`,
      status: null,
      node,
      outcome: 'none',
      cause: error,
    });
  }
  return new RedexClientError({
    code: ClientErrorCode.ConnectionLost,
    // No answer came: for a read that is all there is to say; a write may have landed.
    message: write
      ? `the connection to ${node} broke after the request was sent (${code}): the outcome is unknown`
      : `cannot reach the node at ${node}: ${code}`,
    status: null,
    node,
    outcome: write ? 'unknown' : 'none',
    cause: error,
  });
}

export async function call(caller: Caller, node: string, options: CallOptions): Promise<Answer> {
  const url = new URL(node + options.path);
  for (const [key, value] of Object.entries(options.query ?? {})) {
    if (value !== undefined) url.searchParams.set(key, String(value));
  }
  const headers: Record<string, string> = { ...options.headers };
  if (caller.token) headers.authorization = `Bearer ${caller.token}`;
  if (options.contentType !== undefined) headers['content-type'] = options.contentType;
  const transport = await caller.transport();
  const deadline = new Deadline(caller.clock, options.timeoutMs, options.signal);
  try {
    const response = await transport.send(url.toString(), {
      method: options.method,
      headers,
      ...(options.body === undefined ? {} : { body: options.body }),
      signal: deadline.signal,
    });
    return { response, deadline };
  } catch (error) {
    deadline.done();
    throw transportFailure(error, node, deadline, options.signal, options.write ?? false);
  }
}

/** The body as text, at most `RESPONSE_BYTES_MAX` bytes. */
export async function readText(response: HttpAnswer, node: string): Promise<string> {
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > RESPONSE_BYTES_MAX) {
      await reader.cancel();
      throw new RedexClientError({
        code: ClientErrorCode.BadResponse,
        message: `the answer of ${node} is larger than ${RESPONSE_BYTES_MAX} bytes`,
        status: response.status,
        node,
        outcome: 'none',
      });
    }
    text += decoder.decode(value, { stream: true });
  }
  return text + decoder.decode();
}

/** The error an answer other than 2xx stands for. */
export function answerError(
  status: number,
  text: string,
  node: string,
  write: boolean,
): RedexClientError {
  let error: Record<string, unknown> | null = null;
  try {
    const body = JSON.parse(text) as { error?: unknown };
    if (typeof body?.error === 'object' && body.error !== null) {
      error = body.error as Record<string, unknown>;
    }
  } catch {
    // Not the API's JSON: a proxy or another server answered.
  }
  if (error === null) {
    return new RedexClientError({
      code: `HTTP_${status}`,
      message: `HTTP ${status} from ${node}: ${text.slice(0, 200)}`,
      status,
      node,
      // A proxy's 5xx may come after it forwarded the request.
      outcome: write && status >= 500 ? 'unknown' : 'none',
    });
  }
  const { code, message, ...details } = error;
  const codeText = String(code);
  // A node that says the append took no seq (`outcome: "not-written"`) settles it.
  const notWritten = details.outcome === 'not-written';
  const unknown =
    write && !notWritten && (UNKNOWN_OUTCOME_CODES.has(codeText) || codeText === 'INTERNAL');
  return new RedexClientError({
    code: codeText,
    message: String(message ?? `HTTP ${status}`),
    status,
    node,
    outcome: unknown ? 'unknown' : 'none',
    seq: unknown && typeof details.seq === 'number' ? details.seq : null,
    details,
  });
}

/** Sends a request and returns its JSON answer, or throws the error it stands for. */
export async function callJson<T>(caller: Caller, node: string, options: CallOptions): Promise<T> {
  const { response, deadline } = await call(caller, node, options);
  const write = options.write ?? false;
  let text: string;
  try {
    text = await readText(response, node);
  } catch (error) {
    throw error instanceof RedexClientError
      ? error
      : transportFailure(error, node, deadline, options.signal, write);
  } finally {
    deadline.done();
  }
  if (response.status < 200 || response.status > 299) {
    throw answerError(response.status, text, node, write);
  }
  // 204 No Content, or a route that answers nothing.
  if (text === '') return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new RedexClientError({
      code: ClientErrorCode.BadResponse,
      message: `${node} answered ${response.status} with something that is not JSON`,
      status: response.status,
      node,
      outcome: write ? 'unknown' : 'none',
    });
  }
}
