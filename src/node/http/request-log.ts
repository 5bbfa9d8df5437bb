// One log line per HTTP request. Fields: method, route (the route's template, e.g.
// `/channels/{channel}/events`, so lines group by route whatever the channel), channel (a
// separate field), status and durationMs. Streams (tails, the status stream) log when they open
// and when they close (durationMs is then the stream's lifetime). Level `info`, except answered
// probes and scrapes (`/healthz`, `/readyz`, `/metrics` with a 2xx), which are `debug`: they come
// every few seconds and say nothing new; a failing probe is `info`. A path that matches no route
// is logged (without its query: it may carry a token), shortened to PATH_LOGGED_MAX characters.

import type { NodeLogger } from '../logger.js';
import type { Route } from './router.js';

export const PATH_LOGGED_MAX = 200;
const PROBE_ROUTES = new Set(['healthz', 'readyz', 'metrics']);

/** What identifies a request in its log lines. */
export interface RequestLogFields {
  readonly method: string;
  /** The route template, or null when no route matched. */
  readonly route: string | null;
  readonly channel?: string;
  /** Only when no route matched. */
  readonly path?: string;
}

export function routeTemplate(route: Route): string {
  return `/${route.path.join('/')}`;
}

export function requestLogFields(
  method: string,
  route: Route | null,
  channel: string,
  rawUrl: string,
): RequestLogFields {
  if (route === null) {
    return { method, route: null, path: rawUrl.split('?')[0]!.slice(0, PATH_LOGGED_MAX) };
  }
  return { method, route: routeTemplate(route), ...(channel === '' ? {} : { channel }) };
}

function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** The line for an answered request, or a stream that closed (`stream`: it had opened). */
export function logRequestEnd(
  logger: NodeLogger,
  routeName: string,
  fields: RequestLogFields,
  status: number,
  durationMs: number,
  stream: boolean,
): void {
  const line = { ...fields, status, durationMs: roundMs(durationMs) };
  if (stream) {
    logger.info(line, 'stream closed');
  } else if (PROBE_ROUTES.has(routeName) && status >= 200 && status < 300) {
    logger.debug(line, 'request');
  } else {
    logger.info(line, 'request');
  }
}

export function logStreamOpen(logger: NodeLogger, fields: RequestLogFields, kind: string): void {
  logger.info({ ...fields, stream: kind }, 'stream open');
}
