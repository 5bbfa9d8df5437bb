// Replica placement (docs/DESIGN.md#placement): which nodes hold a channel. `pinned` lists
// them explicitly; `standard` takes the `factor` cluster members with the highest rendezvous
// score of (channel id, node id). The score is keyed BLAKE2s, so every node computes the same set
// from the same membership with no coordination, and a membership change only moves the channels
// whose top-`factor` set actually changed.

import { RedexError, RedexErrorCode } from '../errors/redex-error.js';
import { blake2s } from '../wire/blake2s.js';
import type { ChannelId, NodeId } from '../wire/types.js';
import type { ReplicationConfig } from './config.js';

const PLACEMENT_KEY = new TextEncoder().encode('redex-placement-v1');
const U64_MAX = 0xffff_ffff_ffff_ffffn;

/** Rendezvous score of `node` for `channel`: the first 8 bytes (LE) of keyed BLAKE2s(channel ‖ node LE). */
export function rendezvousScore(channel: ChannelId, node: NodeId): bigint {
  const input = new Uint8Array(channel.length + 8);
  input.set(channel, 0);
  new DataView(input.buffer).setBigUint64(channel.length, node, true);
  const digest = blake2s(input, PLACEMENT_KEY, 32);
  return new DataView(digest.buffer, digest.byteOffset, 8).getBigUint64(0, true);
}

function checkMember(id: NodeId): void {
  if (typeof id !== 'bigint' || id <= 0n || id > U64_MAX) {
    throw new RedexError(
      RedexErrorCode.InvalidArgument,
      `placement: cluster members must be NodeIds (u64 other than 0), got ${String(id)}`,
    );
  }
}

/**
 * The `factor` members with the highest score, best first (ties, which need a 64-bit collision,
 * go to the lower NodeId). Fewer members than `factor` → all of them. Duplicates collapse.
 */
export function standardPlacement(
  channel: ChannelId,
  members: Iterable<NodeId>,
  factor: number,
): NodeId[] {
  const scored = new Map<NodeId, bigint>();
  for (const id of members) {
    checkMember(id);
    if (!scored.has(id)) scored.set(id, rendezvousScore(channel, id));
  }
  return [...scored]
    .sort(([a, sa], [b, sb]) => (sa !== sb ? (sa > sb ? -1 : 1) : a < b ? -1 : a > b ? 1 : 0))
    .slice(0, Math.max(0, factor))
    .map(([id]) => id);
}

/** The replica set of a channel under `config` (pinned: as configured; standard: by score). */
export function placeReplicas(
  channel: ChannelId,
  members: Iterable<NodeId>,
  config: Pick<ReplicationConfig, 'factor' | 'placement'>,
): NodeId[] {
  if (config.placement !== 'standard') return [...config.placement.pinned];
  return standardPlacement(channel, members, config.factor);
}
