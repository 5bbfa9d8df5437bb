// Commit: the highest seq below which every event is held by a majority of the replica set with
// a history that matches the leader's. Pure; the leader recomputes it when a peer's matched
// position moves or it appends, a replica derives its own from the leader's.
//
// Raft's "figure 8" rule: a majority holding an event of an earlier epoch does not make it safe
// (a node that missed it can still win an election with a log of a later epoch and cut it). Only
// an event of the leader's own epoch reaching a majority commits, and with it everything before.
// One exception keeps an idle channel from stalling after a failover: once every member holds an
// event with a matching history, no future leader can lack it.

import type { NodeId } from '../../wire/types.js';

export interface CommitInput {
  readonly selfId: NodeId;
  /** Every member, this node included; each distinct id counts once. */
  readonly replicaSet: readonly NodeId[];
  readonly selfNextSeq: number;
  /** Per peer: its log matches the leader's below this seq (validated in the current epoch). */
  readonly matched: ReadonlyMap<NodeId, number>;
  /** Where the leader's current epoch starts in its log (its first event's seq, or would-be). */
  readonly epochStartSeq: number;
  readonly commitSeq: number;
}

/** Votes or copies needed out of `members`: a strict majority. */
export function quorumSize(members: number): number {
  return Math.floor(members / 2) + 1;
}

/** The leader's commit seq; never below `input.commitSeq`. */
export function leaderCommitSeq(input: CommitInput): number {
  const held: number[] = [];
  for (const id of new Set(input.replicaSet)) {
    held.push(id === input.selfId ? input.selfNextSeq : (input.matched.get(id) ?? 0));
  }
  if (held.length === 0) return input.commitSeq;
  held.sort((a, b) => b - a);
  let commit = input.commitSeq;
  const majorityHeld = held[quorumSize(held.length) - 1] as number;
  if (majorityHeld > input.epochStartSeq) commit = Math.max(commit, majorityHeld);
  const everyoneHeld = held[held.length - 1] as number;
  return Math.max(commit, everyoneHeld);
}

/**
 * A replica's commit seq: what the leader says is committed, as far as this replica's log is
 * known to match the leader's (`matchingTail`); never below `current`.
 */
export function replicaCommitSeq(
  current: number,
  leaderCommit: number,
  matchingTail: number,
): number {
  return Math.max(current, Math.min(leaderCommit, matchingTail));
}
