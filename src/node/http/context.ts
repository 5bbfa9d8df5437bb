// What a route handler gets, and the helpers every handler uses to answer.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../../time/clock.js';
import type { NodeLogger } from '../logger.js';
import type { NodeService } from '../service.js';
import type { SseStream } from './sse.js';

/** Server-wide state handlers share. */
export interface ServerState {
  readonly service: NodeService;
  readonly clock: Clock;
  readonly logger: NodeLogger;
  readonly heartbeatMs: number;
  readonly statusIntervalMs: number;
  readonly statusPushMinMs: number;
  /** Registers an SSE stream (refused past the limit, or while closing); returns false then. */
  openStream(stream: SseStream, kind: 'tail' | 'status'): boolean;
  /** Prometheus text of the HTTP layer's own metrics. */
  httpMetrics(): Promise<string>;
}

export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
  /** The decoded `{channel}` path segment, already checked against the channel-name rules. */
  readonly channel: string;
  readonly state: ServerState;
  /**
   * The request proved it may read data (token, or a node that requires none). Always true on
   * non-public routes; public ones use it to leave data out for anonymous callers.
   */
  readonly authenticated: boolean;
}

export type Handler = (ctx: RequestContext) => Promise<void>;

const JSON_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    ...JSON_HEADERS,
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}
