// DNS-rebinding and cross-site defence for a node without a token or client certificates. A
// web page in the operator's browser can make the browser send requests to 127.0.0.1: either
// cross-site (the request carries the page's `Origin`) or, after its own DNS name re-resolves to
// 127.0.0.1, same-site under the attacker's name (the request carries `Host: attacker.example`).
// Such requests carry no credentials, so they are refused when nothing authenticated them:
//
// - `Host` must name this node: an IP literal (a rebinding needs a DNS name), `localhost` or a
//   `*.localhost` name, the listen address, or a name configured in `http.hosts`;
// - `Origin`, when sent, must be this node's own origin (the dashboard's fetches) — a request
//   from any other page, or from an opaque origin (`Origin: null`), is refused.

import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { HttpError, HttpErrorCode } from './errors.js';

/** The hostname of a `Host` header value (`[::1]:7070` → `::1`), lowercased; null if malformed. */
export function hostnameOf(host: string): string | null {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+))(?::\d{1,5})?$/.exec(host.trim());
  if (match === null) return null;
  return (match[1] ?? match[2]!).toLowerCase().replace(/\.$/, '');
}

export class HostGuard {
  readonly #names: Set<string>;

  /** `names`: the DNS names clients use for this node, besides IP literals and localhost. */
  constructor(names: readonly string[]) {
    this.#names = new Set(names.map((name) => name.toLowerCase().replace(/\.$/, '')));
  }

  /** Adds the bound listen host (called once the server listens). */
  allow(name: string): void {
    this.#names.add(name.toLowerCase());
  }

  hostAllowed(host: string | undefined): boolean {
    // HTTP/1.0 clients may send no Host; browsers always send one.
    if (host === undefined) return true;
    const name = hostnameOf(host);
    if (name === null) return false;
    return (
      isIP(name) !== 0 ||
      name === 'localhost' ||
      name.endsWith('.localhost') ||
      this.#names.has(name)
    );
  }

  /** Throws 403 for a foreign `Host` or a cross-origin `Origin`. */
  check(req: IncomingMessage): void {
    const host = req.headers.host;
    if (!this.hostAllowed(host)) {
      throw new HttpError(
        403,
        HttpErrorCode.ForeignHost,
        `Host ${JSON.stringify((host ?? '').slice(0, 100))} does not name this node; add it to 'http.hosts', or set a token`,
      );
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !sameOrigin(origin, host)) {
      throw new HttpError(
        403,
        HttpErrorCode.ForeignOrigin,
        `requests from origin ${JSON.stringify(origin.slice(0, 100))} are refused; this node serves its own origin only unless a token is set`,
      );
    }
  }
}

function sameOrigin(origin: string, host: string | undefined): boolean {
  if (host === undefined) return false;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false; // `null` and garbage: an opaque origin is never this node's.
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  return url.host.toLowerCase() === host.trim().toLowerCase();
}
