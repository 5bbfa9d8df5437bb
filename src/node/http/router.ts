// The route table and path matching. A channel name travels as ONE percent-encoded path segment
// (`/channels/orders%2Faudit/events`): the raw path is split on '/' first and each segment
// decoded after, so a '/' inside a name can never be confused with the path's own.

import { validateChannelName } from '../../log/channel-name.js';
import type { Handler } from './context.js';
import { badRequest, HttpError, HttpErrorCode } from './errors.js';

export interface Route {
  /** Stable name, used as the metrics label. */
  readonly name: string;
  /** Literal segments, and `{channel}` for the channel name. */
  readonly path: readonly string[];
  readonly methods: Readonly<Record<string, Handler>>;
  /** Served without authentication (only pages with no data: the dashboard shell, health). */
  readonly public?: boolean;
  /** Streams that EventSource opens: they may take the token as `?access_token=`. */
  readonly queryToken?: boolean;
}

export const CHANNEL_PARAM = '{channel}';

export interface RouteMatch {
  readonly route: Route;
  readonly handler: Handler;
  readonly channel: string;
}

/** Splits `/a/b%2Fc` into raw segments `['a', 'b%2Fc']`; `/` is no segments. */
function rawSegments(pathname: string): string[] {
  return pathname === '/' ? [] : pathname.slice(1).split('/');
}

function decodeSegment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw badRequest(
      `path segment ${JSON.stringify(raw.slice(0, 80))} is not valid percent-encoding`,
    );
  }
}

/** The route for `method pathname`, or a 404 / 405 HttpError (405 carries an Allow header). */
export function matchRoute(routes: readonly Route[], method: string, pathname: string): RouteMatch {
  const segments = rawSegments(pathname);
  for (const route of routes) {
    if (route.path.length !== segments.length) continue;
    let channel = '';
    let matched = true;
    for (let index = 0; index < segments.length; index++) {
      const expected = route.path[index]!;
      const actual = segments[index]!;
      if (expected === CHANNEL_PARAM) {
        channel = decodeSegment(actual);
      } else if (expected !== actual) {
        matched = false;
        break;
      }
    }
    if (!matched) continue;
    const handler = route.methods[method];
    if (handler === undefined) {
      const allow = Object.keys(route.methods).join(', ');
      throw new HttpError(
        405,
        HttpErrorCode.MethodNotAllowed,
        `${method} is not allowed on ${pathname}; use ${allow}`,
        { headers: { allow } },
      );
    }
    if (route.path.includes(CHANNEL_PARAM)) validateChannelName(channel);
    return { route, handler, channel };
  }
  throw notFound(pathname, segments);
}

function notFound(pathname: string, segments: readonly string[]): HttpError {
  const hint =
    segments[0] === 'channels' && segments.length >= 3
      ? "; a channel name is one path segment: encode '/' as %2F (/channels/orders%2Faudit/events)"
      : '';
  return new HttpError(
    404,
    HttpErrorCode.NotFound,
    `no route ${JSON.stringify(pathname.slice(0, 200))}${hint}`,
  );
}
