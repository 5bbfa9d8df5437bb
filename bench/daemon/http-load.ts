// The client side of the daemon benchmark: requests through one keep-alive undici `Pool` (the
// same client for RedEX's HTTP API and etcd's JSON gateway, so neither side pays a different
// client's costs), run sequentially or by N closed-loop writers. `fetch` is not used: its POST
// path tops out at about 1.4k requests/s on this machine, below what the servers take.

import { Pool } from 'undici';
import { percentile } from '../report.js';

/** One request of a workload: a POST of a prebuilt body that must answer `expect`. */
export interface PostSpec {
  readonly path: string;
  readonly contentType: string;
  readonly body: string | Uint8Array;
  /** Accepted status codes (RedEX answers 201 to an append, etcd 200 to a put). */
  readonly expect: readonly number[];
}

/** A keep-alive pool on `origin` with at most `connections` sockets. */
export function pool(origin: string, connections: number): Pool {
  return new Pool(origin, { connections, pipelining: 1, keepAliveTimeout: 60_000 });
}

/** Sends one POST and reads its whole answer; throws on a status outside `spec.expect`. */
export async function post(client: Pool, spec: PostSpec, timeoutMs = 10_000): Promise<string> {
  const response = await client.request({
    path: spec.path,
    method: 'POST',
    headers: { 'content-type': spec.contentType },
    body: spec.body,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  const text = await response.body.text();
  if (!spec.expect.includes(response.statusCode)) {
    throw new Error(`POST ${spec.path}: ${response.statusCode} ${text.slice(0, 300)}`);
  }
  return text;
}

const nowNs = (): bigint => process.hrtime.bigint();

export interface LatencyResult {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly count: number;
}

/** `warmup` discarded requests, then `samples` one after the other; per-request latency. */
export async function sequential(
  client: Pool,
  spec: (i: number) => PostSpec,
  warmup: number,
  samples: number,
): Promise<LatencyResult> {
  for (let i = 0; i < warmup; i++) await post(client, spec(i));
  const latencies: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = nowNs();
    await post(client, spec(warmup + i));
    latencies.push(Number(nowNs() - t0) / 1e6);
  }
  return { p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), count: samples };
}

export interface RateResult extends LatencyResult {
  /** Requests answered per second over the measured window. */
  readonly requestsPerSecond: number;
}

/**
 * `writers` closed loops (each sends its next request when its last one is answered) for
 * `durationMs`, after a warm-up of the same length / 4 whose requests are not counted.
 */
export async function closedLoop(
  client: Pool,
  spec: (writer: number, i: number) => PostSpec,
  writers: number,
  durationMs: number,
): Promise<RateResult> {
  const warmupEnd = performance.now() + durationMs / 4;
  const end = warmupEnd + durationMs;
  const latencies: number[] = [];
  let measuredFrom = Number.POSITIVE_INFINITY;
  let measuredTo = 0;
  const writer = async (w: number): Promise<void> => {
    for (let i = 0; ; i++) {
      const started = performance.now();
      if (started >= end) return;
      const t0 = nowNs();
      await post(client, spec(w, i));
      const ms = Number(nowNs() - t0) / 1e6;
      if (started >= warmupEnd) {
        latencies.push(ms);
        measuredFrom = Math.min(measuredFrom, started);
        measuredTo = Math.max(measuredTo, performance.now());
      }
    }
  };
  await Promise.all(Array.from({ length: writers }, (_, w) => writer(w)));
  const seconds = Math.max(1e-3, (measuredTo - measuredFrom) / 1000);
  return {
    requestsPerSecond: latencies.length / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    count: latencies.length,
  };
}

/**
 * Failover clock: from `killedAt` (hrtime ns), `attempt` is retried (each bounded by the client's
 * own timeout) until one succeeds; the elapsed milliseconds.
 */
export async function untilAccepted(
  killedAt: bigint,
  attempt: () => Promise<unknown>,
  deadlineMs = 60_000,
): Promise<number> {
  const deadline = performance.now() + deadlineMs;
  for (;;) {
    try {
      await attempt();
      return Number(nowNs() - killedAt) / 1e6;
    } catch (error) {
      if (performance.now() > deadline) {
        throw new Error(`no write accepted within ${deadlineMs} ms: ${String(error)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }
}
