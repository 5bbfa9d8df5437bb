// The per-step half of the history checker. The simulation hands it, after every step, what each
// node shows (`NodeView`) and, now and then, the events a node holds; it keeps what it needs to
// judge the next step. Pure apart from that memory: no clock, no cluster.
//
// - No committed seq ever holds two payloads: one global seq → payload map of committed events,
//   fed by quorum-acknowledged appends and by every node's log below its commitSeq.
// - At most one leader per epoch; a node's epoch never decreases (it is persisted), nor its
//   commitSeq within one life; no truncation at or below commitSeq (a restart included: the sim
//   fsyncs every write); equal (seq, epoch) on two nodes implies equal prefixes, checked as "same
//   payload and same epoch at seq − 1", which by induction is the whole prefix.
// Fields a runtime does not expose yet make their rules "not checked" in `notes()`, never a pass.

import { show, VIOLATIONS_PER_RULE_MAX } from './check-history.js';

export type NodeRole = 'leader' | 'replica' | 'candidate' | 'idle' | 'down';

/** What the checker reads of one node at one step. */
export interface NodeView {
  readonly name: string;
  /** Increments at every (re)start: commitSeq restarts with the process. */
  readonly life: number;
  readonly role: NodeRole;
  readonly nextSeq: number;
  readonly epoch?: number;
  /**
   * The epoch its persisted state holds (never ahead of what is durable). A node adopts a higher
   * epoch in memory a moment before it is durable, and a crash in that moment takes it back to
   * this one: only this one may never go back across a restart.
   */
  readonly durableEpoch?: number;
  /** Every seq below it is committed. */
  readonly commitSeq?: number;
  /** Epoch of the event at `seq`, undefined when the node holds none there. */
  epochOf?(seq: number): number | undefined;
}

export interface StepEvent {
  readonly seq: number;
  readonly payload: string;
}

interface Memory {
  life: number;
  epoch: number | undefined;
  durableEpoch: number | undefined;
  commitSeq: number | undefined;
  /**
   * The committed prefix the node's own log held: min(commitSeq, nextSeq). A leader ships while
   * it fsyncs, so a majority of replicas may commit what its own log does not hold yet (and a
   * crash then takes from it); no node may ever lose or rewrite what it held committed.
   */
  heldCommitSeq: number | undefined;
  /** Epoch of the event at heldCommitSeq − 1 when it was last seen committed. */
  lastCommittedEpoch: number | undefined;
}

const NOT_CHECKED = {
  epoch: 'at most one leader per epoch, epochs never decrease: not checked (no epochs yet)',
  commitSeq:
    'commitSeq never decreases, no truncation at or below it, committed log prefixes agree: not checked (no commitSeq yet; committed = quorum-acknowledged appends only)',
  epochOf: 'equal (seq, epoch) implies equal prefixes: not checked (no epochOf yet)',
} as const;

export class StepChecker {
  readonly violations: string[] = [];
  readonly #perRule = new Map<string, number>();
  readonly #memory = new Map<string, Memory>();
  readonly #leaderOfEpoch = new Map<number, string>();
  /** seq → committed payload and who first told. */
  readonly #committed = new Map<number, { payload: string; source: string }>();
  /** "seq:epoch" → payload and epoch of seq − 1. */
  readonly #entries = new Map<
    string,
    { payload: string; prevEpoch: number | undefined; node: string }
  >();
  readonly #missing = new Set<keyof typeof NOT_CHECKED>();
  steps = 0;

  /** Rules that could not run on what the nodes expose. */
  notes(): string[] {
    return [...this.#missing].map((field) => NOT_CHECKED[field]);
  }

  /** A seq is committed with `payload` (a quorum-acknowledged append, or a node's committed log). */
  commit(seq: number, payload: string, source: string, atMs: number): void {
    const known = this.#committed.get(seq);
    if (known === undefined) {
      this.#committed.set(seq, { payload, source });
    } else if (known.payload !== payload) {
      this.#add(
        '2-committed',
        `at ${atMs} ms seq ${seq} is committed with two payloads: ${show(known.payload)} (${known.source}) and ${show(payload)} (${source})`,
      );
    }
  }

  /** One step: every node's view. */
  observe(views: readonly NodeView[], atMs: number): void {
    this.steps++;
    for (const view of views) {
      if (view.role === 'down') continue;
      if (view.epoch === undefined) this.#missing.add('epoch');
      if (view.commitSeq === undefined) this.#missing.add('commitSeq');
      if (view.epochOf === undefined) this.#missing.add('epochOf');
      const before = this.#memory.get(view.name);
      this.#checkEpoch(view, before, atMs);
      this.#checkCommit(view, before, atMs);
      const heldCommitSeq =
        view.commitSeq === undefined ? undefined : Math.min(view.commitSeq, view.nextSeq);
      const committedEpoch =
        heldCommitSeq !== undefined && heldCommitSeq > 0
          ? view.epochOf?.(heldCommitSeq - 1)
          : undefined;
      this.#memory.set(view.name, {
        life: view.life,
        epoch: view.epoch ?? before?.epoch,
        durableEpoch: view.durableEpoch ?? before?.durableEpoch,
        commitSeq: view.commitSeq,
        heldCommitSeq,
        lastCommittedEpoch: committedEpoch,
      });
    }
  }

  /**
   * Events a node holds now (any range, any order): those below its commitSeq join the committed
   * map; with epochs, each (seq, epoch) must carry one payload and one previous epoch everywhere.
   */
  entries(view: NodeView, events: readonly StepEvent[], atMs: number): void {
    for (const event of events) {
      if (view.commitSeq !== undefined && event.seq < view.commitSeq)
        this.commit(
          event.seq,
          event.payload,
          `${view.name}'s log below commitSeq ${view.commitSeq}`,
          atMs,
        );
      const epoch = view.epochOf?.(event.seq);
      if (epoch === undefined) continue;
      const prevEpoch = event.seq === 0 ? undefined : view.epochOf!(event.seq - 1);
      const key = `${event.seq}:${epoch}`;
      const known = this.#entries.get(key);
      if (known === undefined) {
        this.#entries.set(key, { payload: event.payload, prevEpoch, node: view.name });
      } else if (
        known.payload !== event.payload ||
        // An epoch the node cannot name (it skipped over that seq) proves nothing either way.
        (known.prevEpoch !== undefined && prevEpoch !== undefined && known.prevEpoch !== prevEpoch)
      ) {
        this.#add(
          '5-log-matching',
          `at ${atMs} ms ${known.node} and ${view.name} both hold seq ${event.seq} of epoch ${epoch} but differ: ${show(known.payload)} after epoch ${known.prevEpoch} vs ${show(event.payload)} after epoch ${prevEpoch}`,
        );
      }
    }
  }

  #checkEpoch(view: NodeView, before: Memory | undefined, atMs: number): void {
    if (view.epoch === undefined) return;
    const floor =
      before === undefined
        ? undefined
        : before.life === view.life
          ? before.epoch
          : (before.durableEpoch ?? before.epoch);
    if (floor !== undefined && view.epoch < floor)
      this.#add(
        '5-epoch',
        `at ${atMs} ms ${view.name}'s epoch went back from ${floor} to ${view.epoch}${before?.life === view.life ? '' : ' across its restart'}`,
      );
    if (view.role !== 'leader') return;
    const leader = this.#leaderOfEpoch.get(view.epoch);
    if (leader === undefined) this.#leaderOfEpoch.set(view.epoch, view.name);
    else if (leader !== view.name)
      this.#add(
        '5-one-leader',
        `at ${atMs} ms epoch ${view.epoch} has a second leader: ${leader} then ${view.name}`,
      );
  }

  #checkCommit(view: NodeView, before: Memory | undefined, atMs: number): void {
    if (before?.commitSeq === undefined || before.heldCommitSeq === undefined) return;
    const sameLife = before.life === view.life;
    if (sameLife && view.commitSeq !== undefined && view.commitSeq < before.commitSeq)
      this.#add(
        '5-commit',
        `at ${atMs} ms ${view.name}'s commitSeq went back from ${before.commitSeq} to ${view.commitSeq}`,
      );
    if (view.nextSeq < before.heldCommitSeq) {
      this.#add(
        '5-truncation',
        `at ${atMs} ms ${view.name} holds only up to ${view.nextSeq} but had committed below ${before.heldCommitSeq}${sameLife ? '' : ' before its restart'}`,
      );
      return;
    }
    // A truncation and a rewrite within one step leave nextSeq alone; the epoch of the last
    // committed event would still change.
    const seq = before.heldCommitSeq - 1;
    if (seq >= 0 && before.lastCommittedEpoch !== undefined && view.epochOf !== undefined) {
      const now = view.epochOf(seq);
      if (now !== before.lastCommittedEpoch)
        this.#add(
          '5-truncation',
          `at ${atMs} ms ${view.name}'s committed seq ${seq} changed epoch from ${before.lastCommittedEpoch} to ${now}`,
        );
    }
  }

  /** A finding of the simulation's own (e.g. an event no client wrote), counted like the rest. */
  report(rule: string, message: string): void {
    this.#add(rule, message);
  }

  #add(rule: string, message: string): void {
    const count = (this.#perRule.get(rule) ?? 0) + 1;
    this.#perRule.set(rule, count);
    if (count <= VIOLATIONS_PER_RULE_MAX) this.violations.push(`[${rule}] ${message}`);
    else if (count === VIOLATIONS_PER_RULE_MAX + 1)
      this.violations.push(`[${rule}] … more like this not shown`);
  }
}
