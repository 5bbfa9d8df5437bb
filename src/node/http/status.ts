// Node-level routes: status (JSON and a live SSE stream), Prometheus metrics, liveness
// (`/healthz`) and readiness (`/readyz`).

import type { TimerHandle } from '../../time/clock.js';
import { ACCESS_TOKEN_PARAM } from './auth.js';
import { type RequestContext, sendJson } from './context.js';
import { checkParams } from './query.js';
import { SseStream } from './sse.js';
import { tooManyStreams } from './tail.js';

/** GET /status */
export async function getStatus(ctx: RequestContext): Promise<void> {
  checkParams(ctx.url.searchParams, []);
  sendJson(ctx.res, 200, await ctx.state.service.status());
}

/** GET /healthz: no data, no authentication; 503 once the node is shutting down. */
export async function getHealth(ctx: RequestContext): Promise<void> {
  const accepting = ctx.state.service.accepting;
  sendJson(ctx.res, accepting ? 200 : 503, { status: accepting ? 'ok' : 'shutting-down' });
}

/**
 * GET /readyz: 200 when the node can serve its channels (log open; cluster: mesh up and every
 * replicated channel has a known leader), else 503; the body says which checks failed. Public,
 * like /healthz, so probes need no token; the names of leaderless channels go only to a caller
 * that sent the token (or when the node has none).
 */
export async function getReadiness(ctx: RequestContext): Promise<void> {
  checkParams(ctx.url.searchParams, []);
  const { ready, channelsWithoutLeader, ...rest } = ctx.state.service.readiness();
  sendJson(ctx.res, ready ? 200 : 503, {
    status: ready ? 'ready' : 'not-ready',
    ...rest,
    ...(ctx.authenticated ? { channelsWithoutLeader } : {}),
  });
}

/** GET /metrics: the node's series, then the HTTP layer's. */
export async function getMetrics(ctx: RequestContext): Promise<void> {
  checkParams(ctx.url.searchParams, []);
  const text = `${await ctx.state.service.metrics()}\n${await ctx.state.httpMetrics()}`;
  ctx.res.writeHead(200, {
    'content-type': 'text/plain; version=0.0.4; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': String(Buffer.byteLength(text)),
  });
  ctx.res.end(text);
}

/**
 * GET /events/status: `event: status` with the same body as GET /status, at once, after every
 * change (coalesced to one per `statusPushMinMs`) and at least every `statusIntervalMs`.
 */
export async function streamStatus(ctx: RequestContext): Promise<void> {
  checkParams(ctx.url.searchParams, [ACCESS_TOKEN_PARAM]);
  const { service, clock, heartbeatMs, statusIntervalMs, statusPushMinMs, logger } = ctx.state;
  const sse = new SseStream(ctx.res, { clock, heartbeatMs });
  if (!ctx.state.openStream(sse, 'status')) throw tooManyStreams();
  sse.start('status');
  let timer: TimerHandle | null = null;
  let nextAt = Number.POSITIVE_INFINITY;
  let lastPushAt = Number.NEGATIVE_INFINITY;
  let busy = false;
  let dirty = false;
  const scheduleAt = (at: number) => {
    if (sse.closed || at >= nextAt) return;
    timer?.cancel();
    nextAt = at;
    timer = clock.setTimer(Math.max(0, at - clock.nowMs()), fire);
  };
  const fire = () => {
    nextAt = Number.POSITIVE_INFINITY;
    timer = null;
    if (busy) {
      dirty = true;
      return;
    }
    busy = true;
    service
      .status()
      .then((status) => sse.send(status, { event: 'status' }))
      .catch((error: unknown) => logger.error({ err: error }, 'status push failed'))
      .finally(() => {
        busy = false;
        lastPushAt = clock.nowMs();
        scheduleAt(lastPushAt + statusIntervalMs);
        if (dirty) {
          dirty = false;
          scheduleAt(lastPushAt + statusPushMinMs);
        }
      });
  };
  const unwatch = service.watch(() =>
    scheduleAt(Math.max(clock.nowMs(), lastPushAt + statusPushMinMs)),
  );
  scheduleAt(clock.nowMs());
  await new Promise<void>((resolve) => {
    if (sse.signal.aborted) resolve();
    else sse.signal.addEventListener('abort', () => resolve());
  });
  unwatch();
  (timer as TimerHandle | null)?.cancel();
}
