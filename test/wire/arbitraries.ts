// fast-check arbitraries for the four replication messages, biased towards the edges of each
// field (0, 2^32 boundaries, the largest safe seq) so round trips exercise the u64 split.

import fc from 'fast-check';
import type {
  ReplicationMessage,
  SyncHeartbeat,
  SyncNack,
  SyncRequest,
  SyncResponse,
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
  },
  plain,
);

export const requestArb: fc.Arbitrary<SyncRequest> = fc.record(
  {
    kind: fc.constant('request' as const),
    channelId,
    sinceSeq: seq,
    chunkMax: u32,
    requestId: u64,
    syncClass: fc.constantFrom(0, 1, 2) as fc.Arbitrary<SyncRequest['syncClass']>,
  },
  plain,
);

const eventArb: fc.Arbitrary<WireEvent> = fc.record(
  {
    seq,
    payload: fc.uint8Array({ maxLength: 48 }),
  },
  plain,
);

export const responseArb: fc.Arbitrary<SyncResponse> = fc.record(
  {
    kind: fc.constant('response' as const),
    channelId,
    firstSeq: seq,
    leaderFirstRetainedSeq: seq,
    requestId: u64,
    events: fc.array(eventArb, { maxLength: 8 }),
  },
  plain,
);

export const nackArb: fc.Arbitrary<SyncNack> = fc.record(
  {
    kind: fc.constant('nack' as const),
    channelId,
    sinceSeq: seq,
    errorCode: fc.constantFrom(1, 2, 3, 4) as fc.Arbitrary<SyncNack['errorCode']>,
    leaderFirstRetainedSeq: seq,
    requestId: u64,
    // 'binary' is every code point but lone surrogates, which cannot round-trip through UTF-8.
    detail: fc.string({ unit: 'binary', maxLength: 40 }),
  },
  plain,
);

export const messageArb: fc.Arbitrary<ReplicationMessage> = fc.oneof(
  heartbeatArb,
  requestArb,
  responseArb,
  nackArb,
);
