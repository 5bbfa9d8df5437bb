// Faults on the leader of a channel in a DemoCluster (three `redex serve` processes): find the
// current leader over HTTP, SIGKILL and restart it or SIGSTOP and SIGCONT it, alternately, for a
// bounded time; then wait until the cluster converges again. Used by quorum-faults.test.ts.

import type { DemoCluster } from '../../src/cli/demo/cluster.js';
import { request } from '../../src/cli/demo/writer.js';

/** A status request to a node; a frozen node answers nothing, so keep it short. */
const STATUS_TIMEOUT_MS = 1_000;
const POLL_MS = 100;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface FaultPlan {
  /** Faults start while this much time is left of the window; the last may run past it. */
  readonly windowMs: number;
  /** How long a SIGSTOPped leader stays stopped (longer than the silence window). */
  readonly frozenMs: number;
  /** The pause after each fault, for the writers to reach the new leader. */
  readonly settleMs: number;
  /** Hang guard of finding a leader before each fault. */
  readonly leaderTimeoutMs: number;
}

interface ChannelView {
  readonly index: number;
  readonly role: string;
  readonly leader: string | null;
  readonly nextSeq: number;
  /** Reads show events below this (the node's commit). */
  readonly commitSeq: number;
}

/** The channel as every running, unfrozen member sees it (null for one that did not answer). */
async function views(cluster: DemoCluster, channel: string): Promise<(ChannelView | null)[]> {
  const path = `/channels/${encodeURIComponent(channel)}`;
  return Promise.all(
    cluster.members.map(async (member, index) => {
      if (!cluster.alive(index) || member.frozen) return null;
      try {
        const answer = await request(member.url, 'GET', path, undefined, STATUS_TIMEOUT_MS);
        if (answer.status !== 200) return null;
        return {
          index,
          role: answer.json.role as string,
          leader: (answer.json.leader?.name as string | undefined) ?? null,
          nextSeq: answer.json.nextSeq as number,
          commitSeq: (answer.json.commitSeq as number | undefined) ?? 0,
        };
      } catch {
        return null;
      }
    }),
  );
}

/** The member that leads the channel: one a majority names, else any that claims to lead. */
export async function findLeader(
  cluster: DemoCluster,
  channel: string,
  timeoutMs: number,
): Promise<number | undefined> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const seen = (await views(cluster, channel)).filter((view) => view !== null);
    const claimants = seen.filter((view) => view.role === 'leader');
    const majority = Math.floor(cluster.members.length / 2) + 1;
    const named = claimants.find(
      (claimant) =>
        seen.filter((view) => view.leader === cluster.members[claimant.index]!.name).length >=
        majority,
    );
    const leader = named ?? claimants[0];
    if (leader !== undefined) return leader.index;
    await sleep(POLL_MS);
  }
  return undefined;
}

/**
 * Alternates SIGKILL + restart (same data directory) and SIGSTOP + SIGCONT of the current leader
 * until the window ends. Returns one line per fault. Every member runs and is thawed at the end.
 */
export async function injectFaults(
  cluster: DemoCluster,
  channel: string,
  plan: FaultPlan,
): Promise<string[]> {
  const done: string[] = [];
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  let kill = true;
  try {
    while (elapsed() < plan.windowMs) {
      const leader = await findLeader(cluster, channel, plan.leaderTimeoutMs);
      if (leader === undefined) {
        done.push(`${elapsed()} ms: no leader within ${plan.leaderTimeoutMs} ms, no fault`);
        continue;
      }
      const name = cluster.members[leader]!.name;
      const at = elapsed();
      if (kill) {
        await cluster.kill(leader);
        await cluster.start(leader);
        done.push(`${at} ms: SIGKILL ${name}, serving again after ${elapsed() - at} ms`);
      } else {
        cluster.freeze(leader);
        await sleep(plan.frozenMs);
        cluster.thaw(leader);
        done.push(`${at} ms: SIGSTOP ${name}, SIGCONT after ${elapsed() - at} ms`);
      }
      kill = !kill;
      await sleep(plan.settleMs);
    }
  } finally {
    for (const [index, member] of cluster.members.entries()) {
      if (member.frozen) cluster.thaw(index);
    }
  }
  for (const [index] of cluster.members.entries()) {
    if (!cluster.alive(index)) await cluster.start(index);
  }
  return done;
}

/**
 * Waits until one leader every member names and one tail on all members, unchanged over two
 * polls. Resolves with the tails either way ("converged" tells which), so a check after it can
 * show what differs instead of a bare timeout.
 */
export async function awaitConvergence(
  cluster: DemoCluster,
  channel: string,
  timeoutMs: number,
): Promise<{ converged: boolean; tails: string }> {
  const deadline = performance.now() + timeoutMs;
  let previous = '';
  let tails = '';
  while (performance.now() < deadline) {
    const seen = await views(cluster, channel);
    tails = seen
      .map(
        (view, i) =>
          `${cluster.members[i]!.name} ${view === null ? '?' : `${view.role} ${view.nextSeq}`}`,
      )
      .join(', ');
    const all = seen.filter((view) => view !== null);
    const leaders = all.filter((view) => view.role === 'leader');
    const converged =
      all.length === cluster.members.length &&
      leaders.length === 1 &&
      all.every((view) => view.leader === cluster.members[leaders[0]!.index]!.name) &&
      all.every((view) => view.nextSeq === all[0]!.nextSeq) &&
      // Reads show committed events: a node has converged once it knows its whole log committed.
      all.every((view) => view.commitSeq === view.nextSeq);
    if (converged && tails === previous) return { converged: true, tails };
    previous = converged ? tails : '';
    await sleep(POLL_MS * 3);
  }
  return { converged: false, tails };
}
