// fast-check arbitraries for the replication messages (each with or without its epoch group)
// and the election messages, biased towards the edges of each field (0, 2^32 boundaries, the
// largest safe seq) so round trips exercise the u64 split.

import fc from 'fast-check';
import type {
  AnyReplicationMessage,
  EpochRun,
  QuorumMessage,
  ReplicationMessage,
  StandNow,
  SyncHeartbeat,
  SyncNack,
  SyncRequest,
  SyncResponse,
  VoteRequest,
  VoteResponse,
  WireEvent,
} from '../../src/wire/index.js';

const seq = fc.oneof(
  fc.constantFrom(0, 1, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER),
  fc.nat(),
  fc.maxSafeNat(),
);
const u32 = fc.bigInt({ min: 0n, max: 0xffff_ffffn }).map(Number);
const u64 = fc.oneof(
  fc.constantFrom(0n, 2n ** 64n - 1n),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
);
const channelId = fc.uint8Array({ minLength: 32, maxLength: 32 });
// Decoders build ordinary objects; deepStrictEqual would reject fast-check's null prototypes.
const plain = { noNullPrototype: true };

export const heartbeatArb: fc.Arbitrary<SyncHeartbeat> = fc.record(
  {
    kind: fc.constant('heartbeat' as const),
    channelId,
    tailSeq: seq,
    role: fc.constantFrom(0, 1, 2, 3) as fc.Arbitrary<SyncHeartbeat['role']>,
    wallClockMs: seq,
    quorum: fc.record({ epoch: seq, lastEpoch: seq, commitSeq: seq }, plain),
  },
  { ...plain, requiredKeys: ['kind', 'channelId', 'tailSeq', 'role', 'wallClockMs'] },
);

export const requestArb: fc.Arbitrary<SyncRequest> = fc.record(
  {
    kind: fc.constant('request' as const),
    channelId,
    sinceSeq: seq,
    chunkMax: u32,
    requestId: u64,
    syncClass: fc.constantFrom(0, 1, 2) as fc.Arbitrary<SyncRequest['syncClass']>,
    quorum: fc.record({ epoch: seq, lastFetchedEpoch: seq }, plain),
  },
  {
    ...plain,
    requiredKeys: ['kind', 'channelId', 'sinceSeq', 'chunkMax', 'requestId', 'syncClass'],
  },
);

const eventArb: fc.Arbitrary<WireEvent> = fc.record(
  {
    seq,
    payload: fc.uint8Array({ maxLength: 48 }),
  },
  plain,
);

/** Runs strictly increasing in both fields: a start plus positive steps, all below 2^53. */
export const runsArb: fc.Arbitrary<EpochRun[]> = fc
  .tuple(
    fc.nat({ max: 2 ** 52 }),
    fc.nat({ max: 2 ** 52 }),
    fc.array(fc.tuple(fc.integer({ min: 1, max: 2 ** 40 }), fc.integer({ min: 1, max: 2 ** 40 })), {
      maxLength: 6,
    }),
  )
  .map(([startSeq, epoch, steps]) => {
    const runs: EpochRun[] = [];
    let next = { startSeq, epoch };
    for (const [seqStep, epochStep] of steps) {
      runs.push(next);
      next = { startSeq: next.startSeq + seqStep, epoch: next.epoch + epochStep };
    }
    return runs;
  });

export const responseArb: fc.Arbitrary<SyncResponse> = fc.record(
  {
    kind: fc.constant('response' as const),
    channelId,
    firstSeq: seq,
    leaderFirstRetainedSeq: seq,
    requestId: u64,
    events: fc.array(eventArb, { maxLength: 8 }),
    quorum: fc.record({ epoch: seq, commitSeq: seq, runs: runsArb }, plain),
  },
  {
    ...plain,
    requiredKeys: [
      'kind',
      'channelId',
      'firstSeq',
      'leaderFirstRetainedSeq',
      'requestId',
      'events',
    ],
  },
);

const nackBase = {
  kind: fc.constant('nack' as const),
  channelId,
  sinceSeq: seq,
  leaderFirstRetainedSeq: seq,
  requestId: u64,
  // 'binary' is every code point but lone surrogates, which cannot round-trip through UTF-8.
  detail: fc.string({ unit: 'binary', maxLength: 40 }),
};

/** Codes 1–4 without a group, or Diverged (5) with its group. */
export const nackArb: fc.Arbitrary<SyncNack> = fc.oneof(
  fc.record(
    {
      ...nackBase,
      errorCode: fc.constantFrom(1, 2, 3, 4) as fc.Arbitrary<SyncNack['errorCode']>,
    },
    plain,
  ),
  fc.record(
    {
      ...nackBase,
      errorCode: fc.constant(5 as const),
      diverged: fc.record({ divergingEpoch: seq, endSeq: seq }, plain),
    },
    plain,
  ),
);

export const messageArb: fc.Arbitrary<ReplicationMessage> = fc.oneof(
  heartbeatArb,
  requestArb,
  responseArb,
  nackArb,
);

export const voteRequestArb: fc.Arbitrary<VoteRequest> = fc.record(
  {
    kind: fc.constant('vote-request' as const),
    channelId,
    epoch: seq,
    lastEpoch: seq,
    nextSeq: seq,
    preVote: fc.boolean(),
    transfer: fc.boolean(),
  },
  plain,
);

export const voteResponseArb: fc.Arbitrary<VoteResponse> = fc.record(
  {
    kind: fc.constant('vote-response' as const),
    channelId,
    epoch: seq,
    granted: fc.boolean(),
    preVote: fc.boolean(),
  },
  plain,
);

export const standNowArb: fc.Arbitrary<StandNow> = fc.record(
  { kind: fc.constant('stand-now' as const), channelId, epoch: seq },
  plain,
);

export const quorumMessageArb: fc.Arbitrary<QuorumMessage> = fc.oneof(
  voteRequestArb,
  voteResponseArb,
  standNowArb,
);

export const anyMessageArb: fc.Arbitrary<AnyReplicationMessage> = fc.oneof(
  messageArb,
  quorumMessageArb,
);

/** The message without its epoch group: what a peer speaking the original protocol sends. */
export function seedForm(message: AnyReplicationMessage): AnyReplicationMessage {
  if (!('quorum' in message)) return message;
  const { quorum: _quorum, ...rest } = message as ReplicationMessage & { quorum?: unknown };
  return rest as AnyReplicationMessage;
}
