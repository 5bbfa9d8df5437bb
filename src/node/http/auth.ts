// Bearer-token authentication. The token is compared through SHA-256 digests with
// `timingSafeEqual`, so neither its content nor its length leaks through response timing.
// EventSource (the browser's SSE client) cannot send headers, so the streaming routes also take
// the token as `?access_token=`; no other route does.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
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

/**
 * The allow-list of client certificate names. TLS already checked that the CA signed the
 * certificate; this checks that the CA signed it *for an API client*: a certificate issued for
 * any other purpose (or a stolen one for a decommissioned name) is refused with 403.
 */
export class ClientCertAuth {
  readonly #names: ReadonlySet<string>;

  constructor(names: readonly string[]) {
    this.#names = new Set(names);
  }

  check(req: IncomingMessage): void {
    const socket = req.socket as Partial<TLSSocket>;
    const subject = socket.getPeerCertificate?.()?.subject;
    // A CN given twice arrives as an array: that is no single name, so no name on the list.
    const name = typeof subject?.CN === 'string' ? subject.CN : null;
    if (name === null || !this.#names.has(name)) {
      throw new HttpError(
        403,
        HttpErrorCode.ForbiddenClient,
        `the client certificate ${name === null ? 'has no single name' : `for ${JSON.stringify(name.slice(0, 64))}`} is not an allowed client; add its name to 'http.clientNames'`,
      );
    }
  }
}
