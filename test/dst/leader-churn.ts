// The leader-churn fault mode: the situations Raft's "figure 8" needs, produced on purpose.
//
// Figure 8 breaks a cluster whose leader counts a majority for an entry of an earlier epoch: an
// old leader's entry is copied to a majority by a later leader of that same node (or of a node
// holding it) and counted as committed, and then a node holding an entry of an epoch in between
// — written while it led briefly, cut off — wins the next election and cuts the "committed"
// entry. That needs (1) leaders that lose their majority right after being elected, having
// written entries nobody else holds, (2) such leaders coming back one by one, so that one with an
// older log leads again while one with a newer-epoch entry is still away, and (3) a new leader
// with no entry of its own epoch yet when the old entries reach a majority — with a writer every
// 25 ms, the first append of the new epoch usually travels with them and commits everything
// legitimately, hiding a broken rule.
//
// So, in this mode: at each tick the leader is cut off (isolated or crashed) or the node away
// longest comes back, and a newly elected leader is usually cut off a few milliseconds after its
// election; and the workload alternates bursts with quiet spells (`quiet()`), one of which most
// elections start, so that a new leader has nothing of its own epoch to replicate. The generic
// faults (loss, duplication, delays, slow nodes, one-way cuts, crashes) keep running beside it;
// partitions are this mode's own.

import type { SeededRandom } from '../../src/time/random.js';
import type { SimCluster, SimNode } from './sim-cluster.js';

/** Chance that a newly elected leader gets cut off (when fewer than the most are away). */
const CUT_NEW_LEADER = 0.9;
/** How soon after its election (found at a step boundary) a leader is cut off. */
const CUT_DELAY_MAX_MS = 30;
/** Chance that a leader is crashed (and restarted) rather than isolated. */
const CRASH_INSTEAD = 0.1;
/** Between ticks, each of which cuts the leader off or brings back the node away longest. */
const TICK_MIN_MS = 250;
const TICK_SPREAD_MS = 700;
/** At a tick, the chance of cutting the leader rather than bringing a node back. */
const CUT_AT_TICK = 0.5;
/** Burst and quiet spells of the workload. */
const BURST_MAX_MS = 400;
const QUIET_MAX_MS = 600;
/** Chance that the workload goes quiet when a new leader appears, and for how long at most. */
const QUIET_AFTER_ELECTION = 0.9;
const QUIET_AFTER_ELECTION_MAX_MS = 300;

interface Away {
  readonly node: SimNode;
  readonly how: 'isolated' | 'crashed';
}

export class LeaderChurn {
  readonly #cluster: SimCluster;
  readonly #random: SeededRandom;
  /** Nodes away at once, at most: half the cluster, so that no majority may be left. */
  readonly #awayMax: number;
  /** Leaderships already seen (node name @ epoch), so each is judged once. */
  readonly #seen = new Set<string>();
  readonly #pending: { node: SimNode; atMs: number }[] = [];
  /** Away nodes, longest away first: they come back in the order they left. */
  readonly #away = new Map<SimNode, Away>();
  #quiet = false;
  #spellEndsMs = 0;
  #nextTickMs = 0;
  /** How many leaders were cut off (a statistic). */
  cuts = 0;

  constructor(cluster: SimCluster, random: SeededRandom) {
    this.#cluster = cluster;
    this.#random = random;
    this.#awayMax = Math.ceil(cluster.nodes.length / 2);
  }

  /** True while the workload should not append. */
  quiet(): boolean {
    return this.#quiet;
  }

  /** Once per step, after the cluster advanced. */
  async step(): Promise<void> {
    const now = this.#cluster.clock.nowMs();
    const random = this.#random;
    if (now >= this.#spellEndsMs) {
      this.#quiet = !this.#quiet;
      this.#spellEndsMs = now + 1 + random.nextInt(this.#quiet ? QUIET_MAX_MS : BURST_MAX_MS);
    }
    if (now >= this.#nextTickMs) {
      this.#nextTickMs = now + TICK_MIN_MS + random.nextInt(TICK_SPREAD_MS);
      const leader = this.#cluster.leaders().find((node) => !this.#away.has(node));
      const cut = leader !== undefined && this.#room() && random.nextFloat() < CUT_AT_TICK;
      if (cut) await this.#cutOff(leader);
      else {
        const oldest = this.#away.values().next();
        if (!oldest.done) await this.#bringBack(oldest.value);
      }
    }
    for (const node of this.#cluster.leaders()) {
      const key = `${node.name}@${node.channel?.handle?.runtime.epoch ?? -1}`;
      if (this.#seen.has(key)) continue;
      this.#seen.add(key);
      if (random.nextFloat() < QUIET_AFTER_ELECTION) {
        this.#quiet = true;
        this.#spellEndsMs = now + 1 + random.nextInt(QUIET_AFTER_ELECTION_MAX_MS);
      }
      if (random.nextFloat() < CUT_NEW_LEADER)
        this.#pending.push({ node, atMs: now + random.nextInt(CUT_DELAY_MAX_MS) });
    }
    for (let i = this.#pending.length - 1; i >= 0; i--) {
      const due = this.#pending[i]!;
      if (now < due.atMs) continue;
      this.#pending.splice(i, 1);
      if (due.node.up && !this.#away.has(due.node) && this.#room()) await this.#cutOff(due.node);
    }
  }

  /** Before the heal phase: everything this mode did is undone. */
  async end(): Promise<void> {
    this.#pending.length = 0;
    for (const away of [...this.#away.values()]) await this.#bringBack(away);
  }

  /** After a generic heal: the nodes this mode keeps away stay away. */
  restorePartition(): void {
    if (this.#away.size > 0) this.#applyPartition();
  }

  #room(): boolean {
    return this.#away.size < this.#awayMax;
  }

  async #cutOff(node: SimNode): Promise<void> {
    this.cuts++;
    const how = this.#random.nextFloat() < CRASH_INSTEAD ? 'crashed' : 'isolated';
    this.#away.set(node, { node, how });
    this.#cluster.trace.add(`churn: cut ${node.name} (${how})`);
    if (how === 'crashed') await this.#cluster.crashNode(node);
    else this.#applyPartition();
  }

  async #bringBack(away: Away): Promise<void> {
    this.#away.delete(away.node);
    this.#cluster.trace.add(`churn: back ${away.node.name}`);
    if (away.how === 'crashed') {
      if (!away.node.up) await this.#cluster.startNode(away.node);
    } else {
      this.#applyPartition();
    }
  }

  /** Every isolated node alone; everyone else together. */
  #applyPartition(): void {
    const isolated = [...this.#away.values()].filter((away) => away.how === 'isolated');
    if (isolated.length === 0) {
      this.#cluster.network.heal();
      this.#cluster.trace.add('churn: no node isolated');
      return;
    }
    const alone = new Set(isolated.map((away) => away.node));
    const rest = this.#cluster.nodes.filter((node) => !alone.has(node));
    this.#cluster.partition([...[...alone].map((node) => [node]), rest]);
  }
}
