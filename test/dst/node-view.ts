// The one place the simulation reads a node's replication state for the step checker. Role and
// nextSeq exist today; `epoch`, `commitSeq` and `epochOf(seq)` are picked up from the channel's
// runtime as soon as it has them under those names (commitSeq exclusive: every seq below it is
// committed), which turns their checks on. Until then the checker reports them as not checked.

import { Role } from '../../src/wire/types.js';
import type { NodeRole, NodeView } from './check-steps.js';
import type { SimNode } from './sim-cluster.js';

/** What a runtime may expose of its epoch state; probed, since today's has none of it. */
interface EpochState {
  readonly epoch?: unknown;
  readonly commitSeq?: unknown;
  readonly epochOf?: unknown;
  /** Who the quorum logic says leads the current epoch. */
  readonly quorum?: { readonly leader?: unknown };
}

const ROLES: Record<Role, NodeRole> = {
  [Role.Leader]: 'leader',
  [Role.Replica]: 'replica',
  [Role.Candidate]: 'candidate',
  [Role.Idle]: 'idle',
};

function asNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  return undefined;
}

export function viewOf(node: SimNode): NodeView {
  const file = node.file;
  if (file === null || !node.up)
    return { name: node.name, life: node.starts, role: 'down', nextSeq: 0 };
  const state = (node.channel?.handle?.runtime ?? {}) as EpochState;
  const epoch = asNumber(state.epoch);
  // What the persisted state holds (a disk store says; the simulation's files are all on disk).
  const durableEpoch = asNumber((file.quorumState as { durableEpoch?: unknown }).durableEpoch);
  const commitSeq = asNumber(state.commitSeq);
  const epochOf =
    typeof state.epochOf === 'function'
      ? (seq: number) => asNumber((state.epochOf as (seq: number) => unknown).call(state, seq))
      : undefined;
  // A leader that admitted a newer epoch (a vote it granted, being made durable) keeps the
  // Leader role until the step ends, but leads no epoch any more: it refuses appends meanwhile.
  let role = ROLES[node.role] ?? 'idle';
  const quorumLeader = state.quorum?.leader;
  if (role === 'leader' && quorumLeader !== undefined && quorumLeader !== node.id) role = 'replica';
  return {
    name: node.name,
    life: node.starts,
    role,
    nextSeq: file.nextSeq,
    ...(epoch === undefined ? {} : { epoch }),
    ...(durableEpoch === undefined ? {} : { durableEpoch }),
    ...(commitSeq === undefined ? {} : { commitSeq }),
    ...(epochOf === undefined ? {} : { epochOf }),
  };
}
