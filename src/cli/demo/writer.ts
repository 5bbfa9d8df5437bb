// The writer of `redex demo` (and of the multi-process fault test): appends small batches to a
// replicated channel with the acknowledgement level of APPEND_ACKS_QUERY, follows NOT_LEADER to the
// leader's HTTP origin (or tries the next live node when the target is down or no leader is
// known), and never stops for a failure: every attempt carries fresh payloads, so a retry is a new
// append and a duplicate is visible in the log. Every attempt ends in one of three outcomes:
//
// - acked: a 201 — the events are at the seqs it names; recorded seq → payload.
// - failed: the node definitely stored nothing (a 4xx such as 421 NOT_LEADER, 501, 503
//   SHUTTING_DOWN, or a refused connection: the request never reached a process).
// - unknown: anything else (a timeout, a reset connection, 503 LEADERSHIP_LOST or CLOSED, 504
//   REPLICATION_TIMEOUT, a 5xx): the events may or may not be stored.
//
// With `record`, the payloads of each outcome are kept (at most RECORD_EVENTS_MAX) for the checks
// in verify.ts; the plain demo only counts.

import type { DemoCluster } from './cluster.js';
import type { AckConflict } from './verify.js';

/**
 * The acknowledgement an append asks for: the leader and one replica, a majority of three. The one
 * place to switch to `acks=quorum` once the node takes it (`replicas=N` stays an alias).
 */
export const APPEND_ACKS_QUERY = 'acks=quorum';
/** One request's deadline: the append and its replica wait. */
export const WRITE_TIMEOUT_MS = 10_000;
/** Recorded payloads at most (each outcome map), so a long recorded run cannot grow without end. */
export const RECORD_EVENTS_MAX = 1_000_000;
const RETRY_MS = 20;
/** Statuses that prove nothing was stored (the node refused before writing). */
const DEFINITE_FAILURE_CODES = new Set(['SHUTTING_DOWN']);

export type AppendOutcome = 'acked' | 'failed' | 'unknown';

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

/** The outcome of an answered append. */
export function outcomeOf(answer: HttpAnswer): AppendOutcome {
  if (answer.status === 201) return 'acked';
  if (answer.status >= 400 && answer.status < 500) return 'failed';
  if (answer.status === 501) return 'failed';
  const code = answer.json?.error?.code;
  return typeof code === 'string' && DEFINITE_FAILURE_CODES.has(code) ? 'failed' : 'unknown';
}

/** The outcome of an append whose request threw: only a refused connection proves nothing landed. */
export function outcomeOfError(error: unknown): AppendOutcome {
  const cause = (error as { cause?: { code?: unknown } })?.cause;
  return cause?.code === 'ECONNREFUSED' ? 'failed' : 'unknown';
}

export interface WriterOptions {
  /** Events per second the writer aims at (it sends batches every tick). */
  readonly ratePerSecond: number;
  /** Batches per second; the batch size is the rate divided by this (at least 1). */
  readonly ticksPerSecond?: number;
  /** Each payload is `${prefix}${counter}`: unique per writer and attempt. */
  readonly prefix?: string;
  /** Keep every payload by outcome (the drill and the test); the plain demo only counts. */
  readonly record?: boolean;
  /** The deadline of one request (the node's replica wait gets half of it). */
  readonly requestTimeoutMs?: number;
}

export class DemoWriter {
  /** Every acknowledged event: seq → payload (with `record`). */
  readonly acked = new Map<number, string>();
  /** Payloads of appends that failed for sure / whose outcome is unknown (with `record`). */
  readonly failed = new Set<string>();
  readonly unknown = new Set<string>();
  /** Acks that named a seq already acknowledged for another payload: a loss in itself. */
  readonly conflicts: AckConflict[] = [];
  /** Counts per outcome: appends (requests) and the events they carried. */
  readonly counts = {
    ackedEvents: 0,
    failedAppends: 0,
    unknownAppends: 0,
    unknownEvents: 0,
  };
  /** The member the writer sends to. */
  target = 0;
  /** Set by the drill when it kills a node; the first ack from another node ends the failover. */
  killed: { atMs: number; index: number } | null = null;
  firstAckAfterKill: { atMs: number; node: string } | null = null;
  lastError = '';
  readonly #cluster: DemoCluster;
  readonly #channelPath: string;
  readonly #perTick: number;
  readonly #tickMs: number;
  readonly #prefix: string;
  readonly #record: boolean;
  readonly #timeoutMs: number;
  readonly #ackTimes: { atMs: number; count: number }[] = [];
  #counter = 0;
  #stopped = false;
  #loop: Promise<void> | null = null;
  #wake: (() => void) | null = null;

  constructor(cluster: DemoCluster, channel: string, options: WriterOptions) {
    this.#cluster = cluster;
    this.#channelPath = `/channels/${encodeURIComponent(channel)}/events`;
    const ticks = options.ticksPerSecond ?? 10;
    this.#tickMs = 1_000 / ticks;
    this.#perTick = Math.max(1, Math.round(options.ratePerSecond / ticks));
    this.#prefix = options.prefix ?? 'demo event #';
    this.#record = options.record ?? false;
    this.#timeoutMs = options.requestTimeoutMs ?? WRITE_TIMEOUT_MS;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Stops after the request in flight (whose outcome is recorded) and resolves then. */
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
    while (!this.#stopped) {
      const started = performance.now();
      await this.#writeOnce();
      const wait = this.#tickMs - (performance.now() - started);
      if (wait > 0 && !this.#stopped) await this.#sleep(wait);
    }
  }

  /** Sleeps, but wakes at once when the writer stops. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }

  /** Appends fresh batches until one is acknowledged (or the writer stops). */
  async #writeOnce(): Promise<void> {
    while (!this.#stopped) {
      const payloads: string[] = [];
      for (let i = 0; i < this.#perTick; i++) payloads.push(`${this.#prefix}${this.#counter++}`);
      const index = this.target;
      const member = this.#cluster.members[index]!;
      let answer: HttpAnswer | null = null;
      let outcome: AppendOutcome;
      try {
        answer = await request(
          member.url,
          'POST',
          `${this.#channelPath}?${APPEND_ACKS_QUERY}&timeoutMs=${Math.ceil(this.#timeoutMs / 2)}`,
          { events: payloads.map((p) => Buffer.from(p).toString('base64')) },
          this.#timeoutMs,
        );
        outcome = outcomeOf(answer);
        if (outcome !== 'acked') {
          this.lastError = `${member.name}: ${answer.json?.error?.code ?? answer.status}`;
        }
      } catch (error) {
        outcome = outcomeOfError(error);
        const cause = (error as { cause?: { code?: string } }).cause?.code;
        this.lastError = `${member.name}: ${cause ?? (error as Error).message}`;
      }
      this.#note(outcome, payloads, answer, index);
      if (outcome === 'acked') return;
      if (answer?.status === 421) {
        const http = answer.json?.error?.leader?.http as string | undefined;
        const leader = this.#cluster.members.findIndex((m) => m.url === http);
        if (leader >= 0 && leader !== index && this.#cluster.alive(leader)) {
          this.target = leader;
          continue; // straight to the leader
        }
      }
      this.#rotate();
      if (!this.#stopped) await this.#sleep(RETRY_MS);
    }
  }

  #note(
    outcome: AppendOutcome,
    payloads: readonly string[],
    answer: HttpAnswer | null,
    index: number,
  ): void {
    if (outcome === 'failed') {
      this.counts.failedAppends++;
      if (this.#record && this.failed.size < RECORD_EVENTS_MAX) {
        for (const payload of payloads) this.failed.add(payload);
      }
      return;
    }
    if (outcome === 'unknown') {
      this.counts.unknownAppends++;
      this.counts.unknownEvents += payloads.length;
      if (this.#record && this.unknown.size < RECORD_EVENTS_MAX) {
        for (const payload of payloads) this.unknown.add(payload);
      }
      return;
    }
    const first = answer!.json.firstSeq as number;
    this.counts.ackedEvents += payloads.length;
    if (this.#record && this.acked.size < RECORD_EVENTS_MAX) {
      for (const [i, payload] of payloads.entries()) {
        const earlier = this.acked.get(first + i);
        if (earlier !== undefined && earlier !== payload) {
          this.conflicts.push({ seq: first + i, first: earlier, second: payload });
        } else {
          this.acked.set(first + i, payload);
        }
      }
    }
    const atMs = performance.now();
    this.#ackTimes.push({ atMs, count: payloads.length });
    this.rate(atMs); // drops what is older than a second
    if (this.killed !== null && this.firstAckAfterKill === null && index !== this.killed.index) {
      this.firstAckAfterKill = { atMs, node: this.#cluster.members[index]!.name };
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
