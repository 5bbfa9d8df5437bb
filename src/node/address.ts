// `host:port` listen addresses and the loopback test that decides whether the HTTP API may run
// without authentication. IPv6 hosts are written in brackets (`[::1]:7070`), as in URLs.

import { isIP } from 'node:net';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

const DNS_NAME =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** Parses `host:port`; returns a reason string instead of throwing so callers can name the field. */
export function parseHostPort(text: unknown, { allowPortZero = false } = {}): HostPort | string {
  if (typeof text !== 'string' || text.length === 0)
    return `must be a "host:port" string, got ${JSON.stringify(text)}`;
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0 || text[close + 1] !== ':')
      return `must be "[ipv6]:port" when it starts with '[', got ${JSON.stringify(text)}`;
    host = text.slice(1, close);
    portText = text.slice(close + 2);
    if (isIP(host) !== 6)
      return `has ${JSON.stringify(host)} in brackets, which is not an IPv6 address`;
  } else {
    const colon = text.lastIndexOf(':');
    if (colon <= 0) return `must be "host:port", got ${JSON.stringify(text)}`;
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(':')) return `must write an IPv6 host in brackets ("[${host}]:port")`;
    if (isIP(host) === 0 && !DNS_NAME.test(host))
      return `has host ${JSON.stringify(host)}, which is neither an IP address nor a DNS name`;
  }
  if (!/^\d{1,5}$/.test(portText))
    return `has port ${JSON.stringify(portText)}; it must be 0..65535`;
  const port = Number(portText);
  if (port > 65535 || (port === 0 && !allowPortZero))
    return `has port ${port}; it must be ${allowPortZero ? '0' : '1'}..65535`;
  return { host, port };
}

/** `host:port` with IPv6 hosts bracketed. */
export function formatHostPort({ host, port }: HostPort): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(host: string): boolean {
  const lower = host.toLowerCase();
  if (lower === 'localhost' || lower === '::1' || lower === '0:0:0:0:0:0:0:1') return true;
  if (isIP(lower) === 4) return lower.startsWith('127.');
  // IPv4-mapped IPv6 loopback, e.g. ::ffff:127.0.0.1.
  return lower.startsWith('::ffff:127.');
}
