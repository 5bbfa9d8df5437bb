// The survivors' side of the failover row (bench/channels.bench.ts): from the SIGKILL on, when
// each channel the dead node led first asked for pre-votes, when its own vote became durable
// (the move to Candidate follows that write), and when it led (the move to Leader follows the
// durable epoch entry); how many elections stood at once, how many channels had their turn but
// waited for a slot, and how late the event loop ran. Sampled every SAMPLE_MS, so the
// pre-vote times are that coarse; the role moves are timed exactly.

import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { ReplicationRuntime } from '../../src/replication/runtime.js';
import { Role } from '../../src/wire/types.js';

const SAMPLE_MS = 20;

interface Watched {
  readonly runtime: ReplicationRuntime;
  readonly preVotesBefore: number;
  preVoteAtMs: number | null;
  candidateAtMs: number | null;
  leaderAtMs: number | null;
}

export class FailoverWatch {
  readonly #t0 = performance.now();
  readonly #watched: Watched[] = [];
  readonly #all: readonly ReplicationRuntime[];
  readonly #timer: NodeJS.Timeout;
  readonly #loop = monitorEventLoopDelay({ resolution: 10 });
  /** Per second since the kill: the most elections standing, and channels waiting for a slot. */
  readonly #standingMax: number[] = [];
  readonly #waitingMax: number[] = [];

  #leading = 0;

  constructor(led: readonly ReplicationRuntime[], all: readonly ReplicationRuntime[]) {
    this.#all = all;
    for (const runtime of led) {
      const watched: Watched = {
        runtime,
        preVotesBefore: runtime.quorum.counters.preVotesStarted,
        preVoteAtMs: null,
        candidateAtMs: null,
        leaderAtMs: null,
      };
      this.#watched.push(watched);
      if (runtime.coordinator.role === Role.Leader) this.#leading++;
      runtime.coordinator.onRoleChange((event) => {
        const at = performance.now() - this.#t0;
        if (event.to === Role.Candidate) watched.candidateAtMs ??= at;
        if (event.to === Role.Leader) {
          watched.leaderAtMs ??= at;
          this.#leading++;
        }
        if (event.from === Role.Leader) this.#leading--;
      });
    }
    this.#loop.enable();
    this.#timer = setInterval(() => this.#sample(), SAMPLE_MS);
  }

  #sample(): void {
    const at = performance.now() - this.#t0;
    for (const w of this.#watched) {
      if (w.preVoteAtMs === null && w.runtime.quorum.counters.preVotesStarted > w.preVotesBefore)
        w.preVoteAtMs = at;
    }
    let standing = 0;
    let waiting = 0;
    // The node's clock is the wall clock advanced by hrtime: Date.now() is as good for this.
    const nowMs = Date.now();
    for (const runtime of this.#all) {
      const q = runtime.quorum;
      if (q.electionInProgress !== null) standing++;
      else if (q.standAtMs !== null && q.standAtMs <= nowMs) waiting++;
    }
    const second = Math.floor(at / 1000);
    this.#standingMax[second] = Math.max(this.#standingMax[second] ?? 0, standing);
    this.#waitingMax[second] = Math.max(this.#waitingMax[second] ?? 0, waiting);
  }

  /**
   * How many of the watched channels this node leads now: kept by the role events, so the
   * parent's poll costs the survivor nothing (a poll over 3,300 names took a tenth of its CPU).
   */
  get leading(): number {
    return this.#leading;
  }

  /** The timeline: percentiles of each phase over the channels that reached it. */
  stop(): Record<string, unknown> {
    clearInterval(this.#timer);
    this.#loop.disable();
    const pct = (values: number[]) => {
      if (values.length === 0) return null;
      values.sort((a, b) => a - b);
      const at = (q: number) =>
        Math.round(values[Math.min(values.length - 1, Math.floor(q * values.length))] as number);
      return { n: values.length, p10: at(0.1), p50: at(0.5), p90: at(0.9), max: at(1) };
    };
    const ws = this.#watched;
    const diff = (pick: (w: Watched) => [number | null, number | null]) =>
      ws.flatMap((w) => {
        const [a, b] = pick(w);
        return a !== null && b !== null ? [b - a] : [];
      });
    return {
      killToPreVote: pct(ws.flatMap((w) => (w.preVoteAtMs === null ? [] : [w.preVoteAtMs]))),
      preVoteToOwnVoteDurable: pct(diff((w) => [w.preVoteAtMs, w.candidateAtMs])),
      ownVoteDurableToLeader: pct(diff((w) => [w.candidateAtMs, w.leaderAtMs])),
      killToLeader: pct(ws.flatMap((w) => (w.leaderAtMs === null ? [] : [w.leaderAtMs]))),
      standingMaxPerSecond: this.#standingMax,
      waitingForSlotMaxPerSecond: this.#waitingMax,
      loopDelayMs: {
        p50: Math.round(this.#loop.percentile(50) / 1e6),
        p99: Math.round(this.#loop.percentile(99) / 1e6),
        max: Math.round(this.#loop.max / 1e6),
      },
    };
  }
}
