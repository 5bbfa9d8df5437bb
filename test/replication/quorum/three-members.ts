// The quorum of one channel on a three-member replica set (A, B, C), as the election tests build
// it: heartbeat 100 ms, silence window three periods, by default at epoch 4 with nothing voted.

import {
  ChannelQuorum,
  type ChannelQuorumOptions,
} from '../../../src/replication/quorum/channel-quorum.js';
import type { NodeId } from '../../../src/wire/types.js';

export const A = 1n;
export const B = 2n;
export const C = 3n;
export const HEARTBEAT_MS = 100;
export const SILENCE_MS = 3 * HEARTBEAT_MS;

const AT_EPOCH_4: ChannelQuorumOptions['durable'] = {
  epoch: 4,
  votedFor: null,
  history: [{ epoch: 4, startSeq: 0 }],
};

export function threeMemberQuorum(
  selfId: NodeId,
  durable: ChannelQuorumOptions['durable'] = AT_EPOCH_4,
): ChannelQuorum {
  return new ChannelQuorum({
    selfId,
    replicaSet: [A, B, C],
    heartbeatMs: HEARTBEAT_MS,
    silenceMs: SILENCE_MS,
    durable,
    mayVote: true,
    nowMs: 0,
  });
}
