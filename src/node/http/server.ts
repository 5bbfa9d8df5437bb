// The node's HTTP API on node:http (or node:https with required client certificates). DEV DOCS:
//
// Owns: the listening server, the route table, authentication, the set of open SSE streams, the
// count of requests in flight and the HTTP metrics (with `redex_build_info` and, when asked, the
// process series: build-metrics.ts). One log line per request: request-log.ts. Calls the
// `NodeService` for everything else. Every request ends in exactly one answer: the handler's, or
// the JSON error `toHttpError` makes of what it threw; nothing a client sends can crash the
// process.
//
// Shutdown (`close`): stop listening, end every SSE stream, answer new requests on kept-alive
// connections with 503, wait (bounded) for requests in flight, then cut what remains.

import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Clock } from '../../time/clock.js';
import { systemClock } from '../../time/system-clock.js';
import { formatHostPort, type HostPort } from '../address.js';
import { registerNodeMetrics } from '../build-metrics.js';
import { type NodeLogger, silentLogger } from '../logger.js';
import type { NodeService } from '../service.js';
import { BearerAuth, ClientCertAuth } from './auth.js';
import { createChannel, deleteChannel, describeChannel, listChannels } from './channels.js';
import { ConnectionGate, type ConnectionGateLimits } from './connection-gate.js';
import { type ServerState, sendJson } from './context.js';
import { serveDashboard } from './dashboard-route.js';
import { HttpError, toHttpError } from './errors.js';
import { appendEvents, readEvents } from './events.js';
import { HostGuard } from './host-guard.js';
import { transferLeadership } from './leadership.js';
import {
  CLOSE_TIMEOUT_MS,
  HEADERS_TIMEOUT_MS,
  HTTP_CONNECTIONS_MAX,
  HTTP_WAITING_CONNECTIONS_MAX,
  HTTP_WAITING_PER_ADDRESS_MAX,
  REQUEST_TIMEOUT_MS,
  SSE_HEARTBEAT_MS_DEFAULT,
  SSE_STREAMS_MAX,
  SSE_STREAMS_PER_ADDRESS_MAX,
  SSE_WRITE_TIMEOUT_MS_DEFAULT,
  STATUS_PUSH_INTERVAL_MS_DEFAULT,
  STATUS_PUSH_MIN_MS_DEFAULT,
} from './limits.js';
import { serveOpenApi } from './openapi.js';
import {
  logRequestEnd,
  logStreamOpen,
  type RequestLogFields,
  requestLogFields,
} from './request-log.js';
import { CHANNEL_PARAM, matchRoute, type Route, type RouteMatch } from './router.js';
import type { SseStream } from './sse.js';
import { getHealth, getMetrics, getReadiness, getStatus, streamStatus } from './status.js';
import { tailEvents } from './tail.js';

export const ROUTES: readonly Route[] = [
  { name: 'dashboard', path: [], methods: { GET: serveDashboard }, public: true },
  { name: 'healthz', path: ['healthz'], methods: { GET: getHealth }, public: true },
  { name: 'readyz', path: ['readyz'], methods: { GET: getReadiness }, public: true },
  { name: 'status', path: ['status'], methods: { GET: getStatus } },
  {
    name: 'status-stream',
    path: ['events', 'status'],
    methods: { GET: streamStatus },
    queryToken: true,
  },
  { name: 'metrics', path: ['metrics'], methods: { GET: getMetrics } },
  { name: 'openapi', path: ['openapi.json'], methods: { GET: serveOpenApi } },
  { name: 'channels', path: ['channels'], methods: { GET: listChannels, POST: createChannel } },
  {
    name: 'channel',
    path: ['channels', CHANNEL_PARAM],
    methods: { GET: describeChannel, DELETE: deleteChannel },
  },
  {
    name: 'events',
    path: ['channels', CHANNEL_PARAM, 'events'],
    methods: { GET: readEvents, POST: appendEvents },
  },
  {
    name: 'leadership',
    path: ['channels', CHANNEL_PARAM, 'leadership'],
    methods: { POST: transferLeadership },
  },
  {
    name: 'tail',
    path: ['channels', CHANNEL_PARAM, 'tail'],
    methods: { GET: tailEvents },
    queryToken: true,
  },
];

/** PEM material for HTTPS with required client certificates signed by `ca`. */
export interface HttpTlsMaterial {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

export interface NodeHttpServerOptions {
  readonly service: NodeService;
  /** Bearer token every non-public route requires; null or absent: none. */
  readonly token?: string | null;
  /** Serve HTTPS and require client certificates. */
  readonly tls?: HttpTlsMaterial | null;
  /**
   * With `tls`: the certificate names (subject CN) allowed as API clients; null or absent: any
   * certificate the CA signed (the node passes its members and `http.clientNames`).
   */
  readonly clientNames?: readonly string[] | null;
  /** DNS names clients use for this node (`http.hosts`), checked against `Host` without auth. */
  readonly hostNames?: readonly string[];
  readonly clock?: Clock;
  readonly logger?: NodeLogger;
  readonly heartbeatMs?: number;
  readonly statusIntervalMs?: number;
  readonly statusPushMinMs?: number;
  readonly streamsMax?: number;
  /** SSE streams one client address may hold (default SSE_STREAMS_PER_ADDRESS_MAX). */
  readonly streamsPerAddressMax?: number;
  /** An SSE write that cannot drain this long ends its stream (default 30 s). */
  readonly sseWriteTimeoutMs?: number;
  /** Connections waiting for a request head (tests lower them). */
  readonly waitingConnections?: ConnectionGateLimits;
  /** Also export prom-client's default process_* and nodejs_* series (build-metrics.ts). */
  readonly processMetrics?: boolean;
}

class HttpMetrics {
  readonly registry = new Registry();
  constructor(processMetrics: boolean) {
    registerNodeMetrics(this.registry, { processMetrics });
  }
  readonly requests = new Counter({
    name: 'redex_http_requests_total',
    help: 'HTTP requests answered, by route and status.',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: 'redex_http_request_duration_seconds',
    help: 'Time to answer an HTTP request (streams: until the stream opened).',
    labelNames: ['route'] as const,
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });
  readonly streams = new Gauge({
    name: 'redex_http_sse_streams',
    help: 'Open Server-Sent-Event streams, by kind.',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly stalls = new Counter({
    name: 'redex_http_sse_stalled_total',
    help: 'SSE streams ended because a write could not drain within the write timeout.',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
}

const KNOWN_METHODS = new Set(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS']);
const STREAM_ROUTES = new Set(['status-stream', 'tail']);

export class NodeHttpServer {
  readonly #service: NodeService;
  readonly #auth: BearerAuth | null;
  readonly #clientAuth: ClientCertAuth | null;
  /** Null when every request is authenticated (token or client certificates). */
  readonly #hostGuard: HostGuard | null;
  readonly #logger: NodeLogger;
  readonly #server: http.Server;
  readonly #state: ServerState;
  readonly #metrics: HttpMetrics;
  readonly #streams = new Set<SseStream>();
  readonly #streamsMax: number;
  readonly #streamsPerAddressMax: number;
  /** Open SSE streams per client address (entries removed at zero). */
  readonly #streamsByAddress = new Map<string, number>();
  readonly #secure: boolean;
  readonly #gate: ConnectionGate;
  /** Requests being answered, SSE streams excepted: what `close` waits for. */
  #inflight = 0;
  readonly #counted = new WeakSet<ServerResponse>();
  /** Log fields of matched requests, for the `stream open` line `openStream` writes. */
  readonly #logFields = new WeakMap<ServerResponse, RequestLogFields>();
  /** Responses whose stream opened: their end is logged as `stream closed`. */
  readonly #openedStreams = new WeakSet<ServerResponse>();
  #idle: (() => void)[] = [];
  #address: HostPort | null = null;
  #closing: Promise<void> | null = null;

  constructor(options: NodeHttpServerOptions) {
    this.#service = options.service;
    this.#metrics = new HttpMetrics(options.processMetrics === true);
    this.#auth = options.token ? new BearerAuth(options.token) : null;
    this.#clientAuth =
      options.tls != null && options.clientNames != null
        ? new ClientCertAuth(options.clientNames)
        : null;
    this.#hostGuard =
      this.#auth === null && options.tls == null ? new HostGuard(options.hostNames ?? []) : null;
    this.#logger = options.logger ?? silentLogger;
    this.#streamsMax = options.streamsMax ?? SSE_STREAMS_MAX;
    this.#streamsPerAddressMax = options.streamsPerAddressMax ?? SSE_STREAMS_PER_ADDRESS_MAX;
    const writeTimeoutMs = options.sseWriteTimeoutMs ?? SSE_WRITE_TIMEOUT_MS_DEFAULT;
    const listener = (req: IncomingMessage, res: ServerResponse) => void this.#handle(req, res);
    this.#secure = options.tls != null;
    this.#server =
      options.tls != null
        ? https.createServer(
            {
              ca: options.tls.ca,
              cert: options.tls.cert,
              key: options.tls.key,
              requestCert: true,
              rejectUnauthorized: true,
              minVersion: 'TLSv1.3',
              // A TLS handshake is part of receiving the request head: same deadline.
              handshakeTimeout: HEADERS_TIMEOUT_MS,
            },
            listener,
          )
        : http.createServer(listener);
    this.#server.requestTimeout = REQUEST_TIMEOUT_MS;
    this.#server.headersTimeout = HEADERS_TIMEOUT_MS;
    this.#server.maxConnections = HTTP_CONNECTIONS_MAX;
    this.#gate = new ConnectionGate(
      this.#server,
      options.waitingConnections ?? {
        totalMax: HTTP_WAITING_CONNECTIONS_MAX,
        perAddressMax: HTTP_WAITING_PER_ADDRESS_MAX,
      },
    );
    const streams = this.#streams;
    const metrics = this.#metrics;
    this.#state = {
      service: options.service,
      clock: options.clock ?? systemClock,
      logger: this.#logger,
      heartbeatMs: options.heartbeatMs ?? SSE_HEARTBEAT_MS_DEFAULT,
      statusIntervalMs: options.statusIntervalMs ?? STATUS_PUSH_INTERVAL_MS_DEFAULT,
      statusPushMinMs: options.statusPushMinMs ?? STATUS_PUSH_MIN_MS_DEFAULT,
      openStream: (stream, kind) => {
        if (this.#closing !== null || streams.size >= this.#streamsMax) return false;
        const address = stream.response.req?.socket?.remoteAddress ?? 'unknown';
        const fromAddress = this.#streamsByAddress.get(address) ?? 0;
        if (fromAddress >= this.#streamsPerAddressMax) return false;
        // A stream lasts as long as its client wants: shutdown ends it rather than waiting.
        this.#settle(stream.response);
        // The client may already be gone (it left while the handler awaited): nothing to track.
        if (stream.signal.aborted) return true;
        streams.add(stream);
        this.#openedStreams.add(stream.response);
        const fields = this.#logFields.get(stream.response);
        if (fields !== undefined) logStreamOpen(this.#logger, fields, kind);
        this.#streamsByAddress.set(address, fromAddress + 1);
        metrics.streams.inc({ kind });
        stream.watchStalls({
          writeTimeoutMs,
          onStall: () => {
            metrics.stalls.inc({ kind });
            this.#logger.warn(
              { kind, address, timeoutMs: writeTimeoutMs },
              'an SSE client stopped reading; its stream was ended',
            );
          },
        });
        stream.signal.addEventListener('abort', () => {
          streams.delete(stream);
          const left = (this.#streamsByAddress.get(address) ?? 1) - 1;
          if (left > 0) this.#streamsByAddress.set(address, left);
          else this.#streamsByAddress.delete(address);
          metrics.streams.dec({ kind });
        });
        return true;
      },
      httpMetrics: () => metrics.registry.metrics(),
    };
  }

  /** Binds `address` (port 0: any free port) and resolves to the bound address. */
  listen(address: HostPort): Promise<HostPort> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      this.#server.once('error', onError);
      this.#server.listen(address.port, address.host, () => {
        this.#server.off('error', onError);
        const bound = this.#server.address() as AddressInfo;
        this.#address = { host: bound.address, port: bound.port };
        this.#hostGuard?.allow(address.host);
        resolve(this.#address);
      });
    });
  }

  /** `http://127.0.0.1:7070` (https with client certificates); throws before `listen`. */
  get url(): string {
    if (this.#address === null) throw new Error('NodeHttpServer: not listening');
    return `${this.#secure ? 'https' : 'http'}://${formatHostPort(this.#address)}`;
  }

  /** Connections waiting for a request head, and how many were closed to make room. */
  get waitingConnections(): { readonly waiting: number; readonly evicted: number } {
    return this.#gate.stats();
  }

  /** Open SSE streams (for tests and status). */
  get streamCount(): number {
    return this.#streams.size;
  }

  /** Stops listening; the open connections keep working until `close`. */
  stopListening(): void {
    if (this.#server.listening) this.#server.close();
  }

  /** See the header comment; idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const closed = new Promise<void>((resolve) => {
      if (!this.#server.listening) resolve();
      else this.#server.close(() => resolve());
    });
    for (const stream of [...this.#streams]) {
      // Not awaited: a client that stopped reading must not hold the shutdown up. The frame is
      // queued at once; closeAllConnections below cuts whatever cannot be flushed in time.
      void stream.send({ reason: 'shutdown' }, { event: 'end' });
      stream.end();
    }
    this.#server.closeIdleConnections();
    if (this.#inflight > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.#idle.push(resolve)),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, CLOSE_TIMEOUT_MS);
        }),
      ]);
      clearTimeout(timer);
    }
    this.#server.closeAllConnections();
    await closed;
  }

  /** Takes `res` out of the in-flight count (once). */
  #settle(res: ServerResponse): void {
    if (!this.#counted.delete(res)) return;
    this.#inflight--;
    if (this.#inflight === 0) for (const wake of this.#idle.splice(0)) wake();
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    this.#inflight++;
    this.#counted.add(res);
    let routeName = 'unmatched';
    const method = KNOWN_METHODS.has(req.method ?? '') ? req.method! : 'OTHER';
    let logFields = requestLogFields(method, null, '', req.url ?? '');
    res.on('close', () => {
      this.#settle(res);
      this.#metrics.requests.inc({ route: routeName, method, status: String(res.statusCode) });
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      // A stream's lifetime is its client's business, not a response time.
      if (!STREAM_ROUTES.has(routeName))
        this.#metrics.duration.observe({ route: routeName }, seconds);
      const stream = this.#openedStreams.delete(res);
      logRequestEnd(this.#logger, routeName, logFields, res.statusCode, seconds * 1000, stream);
    });
    try {
      if (this.#closing !== null) {
        throw new HttpError(503, 'SHUTTING_DOWN', 'this node is shutting down', {
          headers: { connection: 'close' },
        });
      }
      let url: URL;
      try {
        url = new URL(req.url ?? '/', 'http://localhost');
      } catch {
        throw new HttpError(400, 'BAD_REQUEST', 'the request target is not a valid URL');
      }
      let match: RouteMatch | null = null;
      let routeError: unknown = null;
      try {
        match = matchRoute(ROUTES, req.method ?? 'GET', url.pathname);
        routeName = match.route.name;
        logFields = requestLogFields(method, match.route, match.channel, '');
        this.#logFields.set(res, logFields);
      } catch (error) {
        routeError = error;
      }
      // Certificate names and Host/Origin first: no answer at all for a foreign client or page.
      this.#clientAuth?.check(req);
      this.#hostGuard?.check(req);
      // Authentication comes before any routing answer, so an anonymous client learns nothing.
      if (this.#auth !== null && match?.route.public !== true) {
        this.#auth.check(req, url.searchParams, match?.route.queryToken === true);
      }
      if (match === null) throw routeError;
      await match.handler({
        req,
        res,
        url,
        channel: match.channel,
        state: this.#state,
        authenticated: this.#authenticated(req, url, match.route),
      });
    } catch (error) {
      this.#fail(req, res, error);
    }
  }

  /** Whether a request that passed the checks above may see data (see RequestContext). */
  #authenticated(req: IncomingMessage, url: URL, route: Route): boolean {
    if (this.#auth === null || route.public !== true) return true;
    try {
      this.#auth.check(req, url.searchParams, false);
      return true;
    } catch {
      return false;
    }
  }

  #fail(req: IncomingMessage, res: ServerResponse, error: unknown): void {
    const answer = toHttpError(error, (notLeader) => this.#service.resolveLeader(notLeader));
    if (answer.status >= 500) {
      this.#logger.error(
        { err: error, method: req.method, path: req.url?.split('?')[0] },
        'request failed',
      );
    }
    if (res.headersSent) {
      // A stream that already started cannot change its status: cut it.
      res.destroy();
      return;
    }
    sendJson(res, answer.status, answer.body(), answer.headers);
  }
}
