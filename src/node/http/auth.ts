// Bearer-token authentication. The token is compared through SHA-256 digests with
// `timingSafeEqual`, so neither its content nor its length leaks through response timing.
// EventSource (the browser's SSE client) cannot send headers, so the streaming routes also take
// the token as `?access_token=`; no other route does.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { HttpError, HttpErrorCode } from './errors.js';

export const ACCESS_TOKEN_PARAM = 'access_token';

export class BearerAuth {
  readonly #digest: Buffer;

  constructor(token: string) {
    this.#digest = digest(token);
  }

  /** Throws 401 unless the request carries the token. */
  check(req: IncomingMessage, params: URLSearchParams, allowQueryToken: boolean): void {
    const header = req.headers.authorization;
    let presented: string | null = null;
    if (header !== undefined) {
      const match = /^Bearer +(\S+) *$/i.exec(header);
      if (match === null) throw unauthorized('the Authorization header must be "Bearer <token>"');
      presented = match[1]!;
    } else if (allowQueryToken) {
      presented = params.get(ACCESS_TOKEN_PARAM);
    }
    if (presented === null) throw unauthorized('this node requires a bearer token');
    if (!timingSafeEqual(digest(presented), this.#digest)) {
      throw unauthorized('the bearer token is not valid');
    }
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

function unauthorized(message: string): HttpError {
  return new HttpError(401, HttpErrorCode.Unauthorized, message, {
    headers: { 'www-authenticate': 'Bearer realm="redex"' },
  });
}
