// The steady writer of `redex demo`: appends a small batch every tick to the demo channel, waiting
// for `replicas` replicas, and follows NOT_LEADER to the leader's HTTP origin (or tries the next
// live node when the target is down or no leader is known). It records every acknowledged event
// (seq → payload) so the drill can check each one is on every node, and the moment of the first
// acknowledgement after a kill, which is the failover time the drill reports.

import type { DemoCluster } from './cluster.js';

/** One request's deadline: the append and its replica wait. */
export const WRITE_TIMEOUT_MS = 10_000;
const TICKS_PER_SECOND = 10;
const RETRY_MS = 20;

export interface HttpAnswer {
  readonly status: number;
  // biome-ignore lint/suspicious/noExplicitAny: answers are inspected field by field
  readonly json: any;
}

/** One JSON request to a node; network failures and timeouts reject. */
export async function request(
  url: string,
  method: string,
  path: string,
  body?: unknown,
  timeoutMs = WRITE_TIMEOUT_MS,
): Promise<HttpAnswer> {
  const response = await fetch(url + path, {
    method,
    signal: AbortSignal.timeout(timeoutMs),
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  const text = await response.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    // Not JSON: the status is all there is.
  }
  return { status: response.status, json };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class DemoWriter {
  /** Every acknowledged event: seq → payload. */
  readonly acked = new Map<number, string>();
  /** Replicas each append waits for (the drill lowers it while a node is down). */
  replicas = 2;
  /** The member the writer sends to. */
  target = 0;
  /** Set by the drill when it kills the leader; the first ack after it ends the failover. */
  killedAtMs: number | null = null;
  firstAckAfterKill: { atMs: number; node: string } | null = null;
  readonly #cluster: DemoCluster;
  readonly #channelPath: string;
  readonly #perTick: number;
  readonly #ackTimes: { atMs: number; count: number }[] = [];
  #counter = 0;
  #stopped = false;
  #paused = false;
  #loop: Promise<void> | null = null;
  #wake: (() => void) | null = null;
  #idle: Promise<void> = Promise.resolve();
  lastError = '';

  constructor(cluster: DemoCluster, channel: string, ratePerSecond: number) {
    this.#cluster = cluster;
    this.#channelPath = `/channels/${encodeURIComponent(channel)}/events`;
    this.#perTick = Math.max(1, Math.round(ratePerSecond / TICKS_PER_SECOND));
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Stops after the request in flight; resolves once nothing is in flight. */
  async pause(): Promise<void> {
    this.#paused = true;
    await this.#idle;
  }

  resume(): void {
    this.#paused = false;
    this.#wake?.();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    await this.#loop;
  }

  /** Acknowledged events per second over the last second. */
  rate(nowMs = performance.now()): number {
    while (this.#ackTimes.length > 0 && this.#ackTimes[0]!.atMs < nowMs - 1_000) {
      this.#ackTimes.shift();
    }
    return this.#ackTimes.reduce((sum, entry) => sum + entry.count, 0);
  }

  async #run(): Promise<void> {
    const tickMs = 1_000 / TICKS_PER_SECOND;
    while (!this.#stopped) {
      if (this.#paused) {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
        this.#wake = null;
        continue;
      }
      const started = performance.now();
      let done!: () => void;
      this.#idle = new Promise((resolve) => {
        done = resolve;
      });
      try {
        await this.#writeOnce();
      } finally {
        done();
      }
      const wait = tickMs - (performance.now() - started);
      if (wait > 0 && !this.#stopped && !this.#paused) await sleep(wait);
    }
  }

  /** One batch, retried on another node until some node acknowledges it (or the writer stops). */
  async #writeOnce(): Promise<void> {
    while (!this.#stopped && !this.#paused) {
      const payloads: string[] = [];
      for (let i = 0; i < this.#perTick; i++) payloads.push(`demo event #${this.#counter++}`);
      const member = this.#cluster.members[this.target]!;
      try {
        const answer = await request(
          member.url,
          'POST',
          `${this.#channelPath}?replicas=${this.replicas}&timeoutMs=5000`,
          { events: payloads.map((p) => Buffer.from(p).toString('base64')) },
        );
        if (answer.status === 201) {
          const first = answer.json.firstSeq as number;
          for (const [i, payload] of payloads.entries()) this.acked.set(first + i, payload);
          const atMs = performance.now();
          this.#ackTimes.push({ atMs, count: payloads.length });
          if (this.killedAtMs !== null && this.firstAckAfterKill === null) {
            this.firstAckAfterKill = { atMs, node: member.name };
          }
          return;
        }
        this.lastError = `${member.name}: ${answer.json?.error?.code ?? answer.status}`;
        if (answer.status === 421) {
          const http = answer.json?.error?.leader?.http as string | undefined;
          const leader = this.#cluster.members.findIndex((m) => m.url === http);
          if (leader >= 0 && leader !== this.target && this.#cluster.alive(leader)) {
            this.target = leader;
            continue; // straight to the leader
          }
        }
      } catch (error) {
        this.lastError = `${member.name}: ${(error as Error).message}`;
      }
      this.#rotate();
      await sleep(RETRY_MS);
    }
  }

  /** The next live member after the current target. */
  #rotate(): void {
    const count = this.#cluster.members.length;
    for (let step = 1; step <= count; step++) {
      const next = (this.target + step) % count;
      if (this.#cluster.alive(next)) {
        this.target = next;
        return;
      }
    }
  }
}
