// One JSON POST from this node to another member's HTTP API: how a cluster-wide channel create
// reaches the other nodes of the replica set. On node:http/https rather than fetch because a node
// with `http.clientCerts` must present its own certificate (signed by the cluster CA) and trust
// only that CA, which fetch cannot do without an extra dependency.

import http from 'node:http';
import https from 'node:https';
import { isLoopbackHost } from './address.js';

/** Marks a create forwarded by another member (its name); the receiver does not send it on. */
export const FORWARDED_BY_HEADER = 'x-redex-forwarded-by';

/** The largest answer read back; a create answer is a few hundred bytes. */
export const FORWARD_ANSWER_BYTES_MAX = 1024 * 1024;

export interface ForwardAuth {
  /** Sent as `authorization: Bearer …` (members of one cluster share the token). */
  readonly token: string | null;
  /** PEM material for https members: the cluster CA, this node's certificate and key. */
  readonly tls: { readonly ca: string; readonly cert: string; readonly key: string } | null;
}

export interface ForwardAnswer {
  readonly status: number;
  /** The parsed JSON answer, or null when it was not JSON. */
  readonly body: unknown;
}

export type ForwardOptions = ForwardAuth & {
  readonly headers?: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
};

/** POSTs `body` as JSON to `origin + path`; rejects on a network failure or the timeout. */
export function postJson(
  origin: string,
  path: string,
  body: unknown,
  options: ForwardOptions,
): Promise<ForwardAnswer> {
  return sendRequest('POST', origin, path, body, options);
}

/** DELETE `origin + path` (no body); rejects on a network failure or the timeout. */
export function deleteRequest(
  origin: string,
  path: string,
  options: ForwardOptions,
): Promise<ForwardAnswer> {
  return sendRequest('DELETE', origin, path, undefined, options);
}

function sendRequest(
  method: 'POST' | 'DELETE',
  origin: string,
  path: string,
  body: unknown,
  options: ForwardOptions,
): Promise<ForwardAnswer> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, origin);
    const data = body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(body), 'utf8');
    const headers: Record<string, string> = {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      'content-length': String(data.byteLength),
      ...options.headers,
    };
    const secure = url.protocol === 'https:';
    // The token opens every node of the cluster: it never crosses a network in clear text.
    const hostname = url.hostname.replace(/^\[|\]$/g, '');
    if (options.token !== null && !secure && !isLoopbackHost(hostname)) {
      reject(
        new Error(
          `refusing to send the API token over plain http to ${url.host}; give members https origins (http.clientCerts)`,
        ),
      );
      return;
    }
    if (options.token !== null) headers.authorization = `Bearer ${options.token}`;
    const request = (secure ? https : http).request(url, {
      method,
      headers,
      timeout: options.timeoutMs,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(secure && options.tls !== null
        ? { ca: options.tls.ca, cert: options.tls.cert, key: options.tls.key }
        : {}),
    });
    request.on('timeout', () =>
      request.destroy(new Error(`no answer within ${options.timeoutMs} ms`)),
    );
    request.on('error', reject);
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.byteLength;
        if (size > FORWARD_ANSWER_BYTES_MAX) {
          response.destroy(new Error(`answer larger than ${FORWARD_ANSWER_BYTES_MAX} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      response.on('error', reject);
      response.on('end', () => {
        let parsed: unknown = null;
        try {
          parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          // Not JSON (a proxy's error page): the status says enough.
        }
        resolve({ status: response.statusCode ?? 0, body: parsed });
      });
    });
    request.end(data);
  });
}
