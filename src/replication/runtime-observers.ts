// What watches a channel's replication runtime from outside: its change listeners (told at most
// once per step, only when what they watch moved) and its metrics (the step's metric effects and
// the quorum gauges after each step).
// Called by: the runtime (`runtime.ts`).

import type { NodeId, Role } from '../wire/types.js';
import { CHANGE_LISTENERS_MAX, type ChangeListener } from './channel-snapshot.js';
import type { ChannelMetrics } from './metrics.js';
import type { ChannelQuorum } from './quorum/channel-quorum.js';
import { invalidOption } from './runtime-options.js';
import type { MetricEffect } from './step-state.js';

/** What the change listeners watch, as one comparable key. */
export interface ChangeFacts {
  readonly role: Role;
  readonly leader: NodeId | null;
  readonly tailSeq: number;
  readonly ended: boolean;
  readonly epoch: number;
  readonly commitSeq: number;
}

export class ChangeListeners {
  readonly #listeners = new Set<ChangeListener>();
  readonly #facts: () => ChangeFacts;
  readonly #failed: (error: unknown) => void;
  /** What the change listeners last saw (role, leader, tail, confirmed tails). */
  #lastChangeKey = '';
  #confirmedVersion = 0;

  /** `failed` is told of a listener that threw. */
  constructor(facts: () => ChangeFacts, failed: (error: unknown) => void) {
    this.#facts = facts;
    this.#failed = failed;
    this.#lastChangeKey = this.#changeKey();
  }

  /** A confirmed tail or the commit moved: listeners hear of it at the next report. */
  confirmedChanged(): void {
    this.#confirmedVersion++;
  }

  add(listener: ChangeListener): () => void {
    if (this.#listeners.size >= CHANGE_LISTENERS_MAX && !this.#listeners.has(listener)) {
      throw invalidOption(`more than ${CHANGE_LISTENERS_MAX} change listeners`);
    }
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  clear(): void {
    this.#listeners.clear();
  }

  #changeKey(): string {
    const f = this.#facts();
    return `${f.role}|${f.leader}|${f.tailSeq}|${this.#confirmedVersion}|${f.ended}|${f.epoch}|${f.commitSeq}`;
  }

  /** Tells the change listeners, once, if what they watch moved since they were last told. */
  report(): void {
    if (this.#listeners.size === 0) return;
    const key = this.#changeKey();
    if (key === this.#lastChangeKey) return;
    this.#lastChangeKey = key;
    for (const listener of [...this.#listeners]) {
      try {
        listener();
      } catch (error) {
        this.#failed(error);
      }
    }
  }
}

/** The quorum gauges and counters, after each step. */
export function observeQuorum(metrics: ChannelMetrics | undefined, q: ChannelQuorum): void {
  const c = q.counters;
  metrics?.observeQuorum({
    epoch: q.epoch,
    commitSeq: q.commitSeq,
    truncatedEvents: c.truncatedEvents,
    staleEpochDrops: c.staleEpochDrops + c.noEpochDrops,
    preVotes: c.preVotesStarted,
    electionsWon: c.electionsWon,
    electionsLost: c.electionsLost,
    transfersStarted: c.transfersStarted,
    transfersAbandoned: c.transfersAbandoned,
    transfersStood: c.transfersStood,
  });
}

export function recordMetric(metrics: ChannelMetrics, metric: MetricEffect): void {
  if (metric.name === 'replica-confirmed-tail') {
    metrics.replicaConfirmedTail(metric.peer, metric.tailSeq, metric.localTail);
  } else if (metric.name === 'skip-ahead') metrics.skipAhead();
  else if (metric.name === 'sync-bytes') metrics.syncBytes(metric.bytes);
  else if (metric.name === 'tail') metrics.tailSeq(metric.tailSeq);
  else metrics.recordLag(metric.role, metric.lagMs);
}
