// Example-based tests of the epoch additions: the trailing epoch groups of the four replication
// messages (present, absent, cut short), the Diverged NACK, the three election messages, every
// new error kind with its detail, the safe-integer boundary of every new field, and encoder
// validation naming the field.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type AnyReplicationMessage,
  channelIdFromName,
  DispatchCode,
  decodeAny,
  decodeAnyMessage,
  decodeHeartbeat,
  decodeNack,
  decodeQuorumMessage,
  decodeRequest,
  decodeResponse,
  decodeStandNow,
  decodeVoteRequest,
  decodeVoteResponse,
  EPOCH_RUNS_MAX,
  type EpochRun,
  encodeMessage,
  encodeNack,
  encodeResponse,
  HeartbeatLayout,
  isQuorumDispatch,
  NackCode,
  RequestLayout,
  ResponseQuorumLayout,
  responseEncodedBytes,
  type StandNow,
  StandNowLayout,
  type SyncHeartbeat,
  type SyncNack,
  type SyncRequest,
  type SyncResponse,
  type VoteRequest,
  VoteRequestLayout,
  type VoteResponse,
  VoteResponseLayout,
  WireEncodeError,
} from '../../src/wire/index.js';
import { assertWireError, concat, withByte, withU16, withU64 } from './helpers.js';

const channelId = channelIdFromName('orders/audit');
const MAX = Number.MAX_SAFE_INTEGER;

const heartbeat: SyncHeartbeat = {
  kind: 'heartbeat',
  channelId,
  tailSeq: 1000,
  role: 0,
  wallClockMs: 1_764_115_200_000,
  quorum: { epoch: 7, lastEpoch: 6, commitSeq: 998 },
};
const request: SyncRequest = {
  kind: 'request',
  channelId,
  sinceSeq: 42,
  chunkMax: 262_144,
  requestId: 9n,
  syncClass: 1,
  quorum: { epoch: 7, lastFetchedEpoch: 5 },
};
const runs: EpochRun[] = [
  { startSeq: 40, epoch: 5 },
  { startSeq: 43, epoch: 7 },
];
const response: SyncResponse = {
  kind: 'response',
  channelId,
  firstSeq: 42,
  leaderFirstRetainedSeq: 10,
  requestId: 9n,
  events: [
    { seq: 42, payload: new Uint8Array([1, 2, 3]) },
    { seq: 43, payload: new Uint8Array([4]) },
  ],
  quorum: { epoch: 7, commitSeq: 42, runs },
};
/** Where the response's epoch group starts: 63 + (12 + 3) + (12 + 1). */
const RESPONSE_GROUP_AT = 91;
const diverged: SyncNack = {
  kind: 'nack',
  channelId,
  sinceSeq: 50,
  errorCode: NackCode.Diverged,
  leaderFirstRetainedSeq: 10,
  requestId: 9n,
  detail: 'diverged',
  diverged: { divergingEpoch: 5, endSeq: 43 },
};
const DIVERGED_GROUP_AT = 62 + 8;
const voteRequest: VoteRequest = {
  kind: 'vote-request',
  channelId,
  epoch: 8,
  lastEpoch: 7,
  nextSeq: 1000,
  preVote: true,
  transfer: false,
};
const voteResponse: VoteResponse = {
  kind: 'vote-response',
  channelId,
  epoch: 8,
  granted: true,
  preVote: true,
};
const standNow: StandNow = { kind: 'stand-now', channelId, epoch: 7 };
const samples: AnyReplicationMessage[] = [
  heartbeat,
  request,
  response,
  diverged,
  voteRequest,
  voteResponse,
  standNow,
];

/** The same message without its epoch group. */
function seed<T extends { quorum?: unknown }>(message: T): Omit<T, 'quorum'> {
  const { quorum: _quorum, ...rest } = message;
  return rest;
}

describe('epoch groups: sizes and round trips', () => {
  it('has the documented sizes', () => {
    assert.equal(encodeMessage(heartbeat).length, 76);
    assert.equal(encodeMessage(request).length, 72);
    assert.equal(encodeMessage(response).length, RESPONSE_GROUP_AT + 18 + 2 * 16);
    assert.equal(encodeMessage(diverged).length, DIVERGED_GROUP_AT + 16);
    assert.equal(encodeMessage(voteRequest).length, 60);
    assert.equal(encodeMessage(voteResponse).length, 44);
    assert.equal(encodeMessage(standNow).length, 43);
  });

  it('responseEncodedBytes counts the group when given one', () => {
    assert.equal(
      responseEncodedBytes(response.events, response.quorum),
      encodeResponse(response).length,
    );
    assert.equal(responseEncodedBytes(response.events), encodeResponse(seed(response)).length);
  });

  it('every message round-trips through its decoder and decodeAnyMessage', () => {
    const decoders = {
      heartbeat: decodeHeartbeat,
      request: decodeRequest,
      response: decodeResponse,
      nack: decodeNack,
      'vote-request': decodeVoteRequest,
      'vote-response': decodeVoteResponse,
      'stand-now': decodeStandNow,
    } as const;
    for (const message of samples) {
      const frame = encodeMessage(message);
      assert.deepEqual(decodeAnyMessage(frame), message);
      assert.deepEqual(decoders[message.kind](frame), message);
    }
  });

  it('a seed-form frame decodes with no quorum (or diverged) key', () => {
    for (const message of [heartbeat, request, response]) {
      const frame = encodeMessage(seed(message) as AnyReplicationMessage);
      const decoded = decodeAny(frame);
      assert.ok(!('quorum' in decoded), `${message.kind}: no quorum key`);
      assert.deepEqual(decoded, seed(message));
    }
    const short = encodeMessage(seed(request) as SyncRequest).subarray(0, 55);
    assert.ok(!('quorum' in decodeRequest(short)));
    const plainNack = decodeNack(encodeNack({ ...diverged, errorCode: 2, diverged: undefined }));
    assert.ok(!('diverged' in plainNack));
  });

  it('an explicitly undefined group encodes the seed form', () => {
    assert.equal(encodeMessage({ ...heartbeat, quorum: undefined }).length, 52);
    assert.equal(encodeMessage({ ...request, quorum: undefined }).length, 56);
  });

  it('the group goes after the class byte and after the events', () => {
    const frame = encodeMessage(request);
    assert.equal(frame[RequestLayout.syncClass], 1);
    const view = new DataView(frame.buffer);
    assert.equal(view.getBigUint64(RequestLayout.epoch, true), 7n);
    assert.equal(view.getBigUint64(RequestLayout.lastFetchedEpoch, true), 5n);
    const bytes = encodeMessage(response);
    const responseView = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    assert.equal(responseView.getBigUint64(RESPONSE_GROUP_AT, true), 7n);
    assert.equal(
      responseView.getUint16(RESPONSE_GROUP_AT + ResponseQuorumLayout.runCount, true),
      2,
    );
  });

  it('payloads stay views into the frame when the group follows them', () => {
    const frame = encodeResponse(response);
    const decoded = decodeResponse(frame);
    assert.equal(decoded.events[0]!.payload.buffer, frame.buffer);
    assert.equal(decoded.events[1]!.payload.byteOffset, frame.byteOffset + 63 + 15 + 12);
  });

  it("a Diverged NACK's group follows a detail cut to 65535 bytes", () => {
    const message = { ...diverged, detail: `a${'😀'.repeat(16_384)}` };
    const decoded = decodeNack(encodeNack(message));
    assert.equal(Buffer.byteLength(decoded.detail, 'utf8'), 65_533);
    assert.deepEqual(decoded.diverged, diverged.diverged);
  });

  it('1024 runs round-trip', () => {
    const many = Array.from({ length: EPOCH_RUNS_MAX }, (_, i) => ({ startSeq: i, epoch: i + 1 }));
    const message = { ...response, quorum: { epoch: 2000, commitSeq: 0, runs: many } };
    assert.deepEqual(decodeResponse(encodeResponse(message)), message);
  });
});

describe('epoch groups: malformed', () => {
  it('a group cut short is Truncated needing the whole group', () => {
    const cases: [AnyReplicationMessage, number][] = [
      [heartbeat, HeartbeatLayout.bytes],
      [request, RequestLayout.bytes],
      [response, RESPONSE_GROUP_AT],
    ];
    for (const [message, groupAt] of cases) {
      const frame = encodeMessage(message);
      const fixed =
        message.kind === 'response' ? groupAt + ResponseQuorumLayout.runs : frame.length;
      for (let length = groupAt + 1; length < fixed; length++) {
        const error = assertWireError(() => decodeAny(frame.subarray(0, length)), 'Truncated');
        assert.deepEqual(error.detail, { kind: 'Truncated', needed: fixed, available: length });
      }
    }
  });

  it('runs the frame cannot hold are Truncated needing all of them', () => {
    const frame = encodeResponse(response);
    const error = assertWireError(
      () => decodeResponse(frame.subarray(0, frame.length - 1)),
      'Truncated',
    );
    assert.deepEqual(error.detail, {
      kind: 'Truncated',
      needed: frame.length,
      available: frame.length - 1,
    });
  });

  it('a run_count above EPOCH_RUNS_MAX is TooManyEpochRuns before any run is read', () => {
    const at = RESPONSE_GROUP_AT + ResponseQuorumLayout.runCount;
    for (const count of [EPOCH_RUNS_MAX + 1, 0xffff]) {
      const frame = withU16(encodeResponse(response), at, count);
      const error = assertWireError(() => decodeAnyMessage(frame), 'TooManyEpochRuns');
      assert.deepEqual(error.detail, { kind: 'TooManyEpochRuns', count, max: EPOCH_RUNS_MAX });
    }
  });

  it('runs that do not strictly increase are EpochRunsOutOfOrder', () => {
    const cases: [EpochRun[], string][] = [
      [[runs[0]!, { startSeq: 40, epoch: 7 }], 'run_start_seq'],
      [[runs[0]!, { startSeq: 39, epoch: 7 }], 'run_start_seq'],
      [[runs[0]!, { startSeq: 43, epoch: 5 }], 'run_epoch'],
      [[runs[0]!, { startSeq: 43, epoch: 4 }], 'run_epoch'],
    ];
    const good = encodeResponse(response);
    const second = RESPONSE_GROUP_AT + ResponseQuorumLayout.runs + 16;
    for (const [[, bad], field] of cases) {
      const frame = withU64(
        withU64(good, second, BigInt(bad!.startSeq)),
        second + 8,
        BigInt(bad!.epoch),
      );
      const error = assertWireError(() => decodeResponse(frame), 'EpochRunsOutOfOrder');
      assert.deepEqual(error.detail, { kind: 'EpochRunsOutOfOrder', index: 1, field });
    }
  });

  it('a Diverged NACK without its group (or with part of it) is Truncated', () => {
    const frame = encodeNack(diverged);
    for (let length = DIVERGED_GROUP_AT; length < frame.length; length++) {
      const error = assertWireError(() => decodeNack(frame.subarray(0, length)), 'Truncated');
      assert.deepEqual(error.detail, {
        kind: 'Truncated',
        needed: frame.length,
        available: length,
      });
    }
  });

  it('a NACK of another code ignores 16 bytes after its detail', () => {
    const frame = withByte(encodeNack(diverged), 43, NackCode.NotLeader);
    const decoded = decodeNack(frame);
    assert.equal(decoded.errorCode, NackCode.NotLeader);
    assert.ok(!('diverged' in decoded));
  });

  it('every new u64 decodes 2^53 - 1 and refuses 2^53 as SeqOutOfRange naming the field', () => {
    const group = RESPONSE_GROUP_AT;
    const runsAt = group + ResponseQuorumLayout.runs;
    const fields: [AnyReplicationMessage, number, string][] = [
      [heartbeat, HeartbeatLayout.epoch, 'epoch'],
      [heartbeat, HeartbeatLayout.lastEpoch, 'last_epoch'],
      [heartbeat, HeartbeatLayout.commitSeq, 'commit_seq'],
      [request, RequestLayout.epoch, 'epoch'],
      [request, RequestLayout.lastFetchedEpoch, 'last_fetched_epoch'],
      [response, group + ResponseQuorumLayout.epoch, 'epoch'],
      [response, group + ResponseQuorumLayout.commitSeq, 'commit_seq'],
      [response, runsAt + 16, 'run_start_seq'],
      [response, runsAt + 24, 'run_epoch'],
      [diverged, DIVERGED_GROUP_AT, 'diverging_epoch'],
      [diverged, DIVERGED_GROUP_AT + 8, 'end_seq'],
      [voteRequest, VoteRequestLayout.epoch, 'epoch'],
      [voteRequest, VoteRequestLayout.lastEpoch, 'last_epoch'],
      [voteRequest, VoteRequestLayout.nextSeq, 'next_seq'],
      [voteResponse, VoteResponseLayout.epoch, 'epoch'],
      [standNow, StandNowLayout.epoch, 'epoch'],
    ];
    for (const [message, offset, field] of fields) {
      const max = withU64(encodeMessage(message), offset, BigInt(MAX));
      assert.deepEqual(encodeMessage(decodeAnyMessage(max)), max, field);
      for (const value of [2n ** 53n, 2n ** 64n - 1n]) {
        const frame = withU64(encodeMessage(message), offset, value);
        const error = assertWireError(() => decodeAnyMessage(frame), 'SeqOutOfRange');
        assert.deepEqual(error.detail, { kind: 'SeqOutOfRange', field, value });
      }
    }
  });
});

describe('election messages', () => {
  it('VoteRequest flags: bit 0 pre-vote, bit 1 transfer, other bits BadFlags', () => {
    const frame = encodeMessage(voteRequest);
    for (const flags of [0, 1, 2, 3]) {
      const decoded = decodeVoteRequest(withByte(frame, VoteRequestLayout.flags, flags));
      assert.equal(decoded.preVote, (flags & 1) !== 0);
      assert.equal(decoded.transfer, (flags & 2) !== 0);
      assert.equal(encodeMessage(decoded)[VoteRequestLayout.flags], flags);
    }
    for (const flags of [4, 5, 0x80, 0xff]) {
      const bad = withByte(frame, VoteRequestLayout.flags, flags);
      const error = assertWireError(() => decodeAnyMessage(bad), 'BadFlags');
      assert.deepEqual(error.detail, { kind: 'BadFlags', field: 'flags', flags });
    }
  });

  it('VoteResponse flags: bit 0 pre-vote, bit 1 granted, other bits BadFlags', () => {
    const frame = encodeMessage(voteResponse);
    for (const flags of [0, 1, 2, 3]) {
      const decoded = decodeVoteResponse(withByte(frame, VoteResponseLayout.flags, flags));
      assert.equal(decoded.preVote, (flags & 1) !== 0);
      assert.equal(decoded.granted, (flags & 2) !== 0);
    }
    for (const flags of [4, 0x40, 0xfc]) {
      const bad = withByte(frame, VoteResponseLayout.flags, flags);
      assert.deepEqual(assertWireError(() => decodeVoteResponse(bad), 'BadFlags').detail, {
        kind: 'BadFlags',
        field: 'flags',
        flags,
      });
    }
  });

  it('a short election message is Truncated needing its fixed size', () => {
    for (const [message, size] of [
      [voteRequest, 60],
      [voteResponse, 44],
      [standNow, 43],
    ] as const) {
      const frame = encodeMessage(message);
      const error = assertWireError(
        () => decodeQuorumMessage(frame.subarray(0, size - 1)),
        'Truncated',
      );
      assert.deepEqual(error.detail, { kind: 'Truncated', needed: size, available: size - 1 });
      assert.deepEqual(decodeQuorumMessage(concat(frame, new Uint8Array([9, 9]))), message);
    }
  });

  it('dispatch: codes, the decoders that take them and the ones that refuse them', () => {
    const codes = { 'vote-request': 0x25, 'vote-response': 0x26, 'stand-now': 0x27 };
    assert.deepEqual(
      [DispatchCode.VoteRequest, DispatchCode.VoteResponse, DispatchCode.StandNow],
      [0x25, 0x26, 0x27],
    );
    for (const message of [voteRequest, voteResponse, standNow]) {
      const frame = encodeMessage(message);
      assert.deepEqual([...frame.subarray(0, 3)], [0x00, 0x0e, codes[message.kind]]);
      assert.deepEqual(frame.subarray(3, 35), channelId);
      assert.ok(isQuorumDispatch(frame[2]));
      assert.deepEqual(decodeQuorumMessage(frame), message);
      assert.deepEqual(assertWireError(() => decodeAny(frame), 'UnknownDispatch').detail, {
        kind: 'UnknownDispatch',
        code: codes[message.kind],
      });
    }
    for (const message of [heartbeat, request, response, diverged]) {
      const frame = encodeMessage(message);
      assert.ok(!isQuorumDispatch(frame[2]));
      assertWireError(() => decodeQuorumMessage(frame), 'UnknownDispatch');
    }
    for (const code of [0x24, 0x28, 0x2f, 0xff]) {
      const frame = withByte(encodeMessage(standNow), 2, code);
      assert.ok(!isQuorumDispatch(code));
      assertWireError(() => decodeAnyMessage(frame), 'UnknownDispatch');
    }
    assert.ok(!isQuorumDispatch(undefined));
    const mismatch = assertWireError(
      () => decodeVoteRequest(encodeMessage(standNow)),
      'DispatchMismatch',
    );
    assert.deepEqual(mismatch.detail, { kind: 'DispatchMismatch', expected: 0x25, actual: 0x27 });
    assertWireError(() => decodeStandNow(encodeMessage(voteResponse)), 'DispatchMismatch');
    assertWireError(() => decodeVoteResponse(encodeMessage(heartbeat)), 'DispatchMismatch');
  });

  it('copies the channel id out of the frame', () => {
    for (const message of [voteRequest, voteResponse, standNow]) {
      const frame = encodeMessage(message);
      const decoded = decodeAnyMessage(frame);
      assert.notEqual(decoded.channelId.buffer, frame.buffer);
      frame[3]! ^= 0xff;
      assert.deepEqual(decoded.channelId, channelId);
    }
  });
});

describe('encoder validation of the additions', () => {
  const bad = (value: unknown) => value as never;
  const cases: [string, AnyReplicationMessage, string][] = [
    ['null heartbeat group', { ...heartbeat, quorum: bad(null) }, 'quorum'],
    [
      'heartbeat epoch',
      { ...heartbeat, quorum: { ...heartbeat.quorum!, epoch: -1 } },
      'quorum.epoch',
    ],
    [
      'heartbeat lastEpoch',
      { ...heartbeat, quorum: { ...heartbeat.quorum!, lastEpoch: 2 ** 53 } },
      'quorum.lastEpoch',
    ],
    [
      'heartbeat commitSeq',
      { ...heartbeat, quorum: { ...heartbeat.quorum!, commitSeq: 1.5 } },
      'quorum.commitSeq',
    ],
    ['request group', { ...request, quorum: bad(7) }, 'quorum'],
    [
      'request lastFetchedEpoch',
      { ...request, quorum: { epoch: 1, lastFetchedEpoch: bad(1n) } },
      'quorum.lastFetchedEpoch',
    ],
    [
      'response commitSeq',
      { ...response, quorum: { ...response.quorum!, commitSeq: -2 } },
      'quorum.commitSeq',
    ],
    [
      'runs not array',
      { ...response, quorum: { ...response.quorum!, runs: bad('x') } },
      'quorum.runs',
    ],
    [
      'too many runs',
      {
        ...response,
        quorum: {
          ...response.quorum!,
          runs: Array.from({ length: EPOCH_RUNS_MAX + 1 }, (_, i) => ({ startSeq: i, epoch: i })),
        },
      },
      'quorum.runs',
    ],
    [
      'run not object',
      { ...response, quorum: { ...response.quorum!, runs: [runs[0]!, bad(null)] } },
      'quorum.runs[1]',
    ],
    [
      'run start not increasing',
      {
        ...response,
        quorum: { ...response.quorum!, runs: [runs[0]!, { startSeq: 40, epoch: 7 }] },
      },
      'quorum.runs[1].startSeq',
    ],
    [
      'run epoch not increasing',
      {
        ...response,
        quorum: { ...response.quorum!, runs: [runs[0]!, { startSeq: 41, epoch: 5 }] },
      },
      'quorum.runs[1].epoch',
    ],
    [
      'run epoch unsafe',
      { ...response, quorum: { ...response.quorum!, runs: [{ startSeq: 1, epoch: 2 ** 60 }] } },
      'quorum.runs[0].epoch',
    ],
    ['Diverged without group', { ...diverged, diverged: undefined }, 'diverged'],
    ['group on another code', { ...diverged, errorCode: NackCode.BadRange }, 'diverged'],
    [
      'divergingEpoch',
      { ...diverged, diverged: { divergingEpoch: -1, endSeq: 1 } },
      'diverged.divergingEpoch',
    ],
    [
      'endSeq',
      { ...diverged, diverged: { divergingEpoch: 1, endSeq: bad('1') } },
      'diverged.endSeq',
    ],
    ['vote epoch', { ...voteRequest, epoch: -1 }, 'epoch'],
    ['vote nextSeq', { ...voteRequest, nextSeq: 2 ** 53 }, 'nextSeq'],
    ['vote preVote', { ...voteRequest, preVote: bad(1) }, 'preVote'],
    ['vote transfer', { ...voteRequest, transfer: bad('yes') }, 'transfer'],
    ['response granted', { ...voteResponse, granted: bad(0) }, 'granted'],
    ['response epoch', { ...voteResponse, epoch: 0.5 }, 'epoch'],
    ['stand-now channel', { ...standNow, channelId: new Uint8Array(31) }, 'channelId'],
    ['stand-now epoch', { ...standNow, epoch: bad(null) }, 'epoch'],
  ];

  for (const [name, message, field] of cases) {
    it(`refuses ${name}, naming ${field}`, () => {
      assert.throws(
        () => encodeMessage(message),
        (error: unknown) =>
          error instanceof WireEncodeError &&
          error.field === field &&
          error.code === 'INVALID_ARGUMENT' &&
          error.message.includes(`.${field} must be`),
      );
    });
  }

  it('accepts the edges of every new range', () => {
    const edges: AnyReplicationMessage[] = [
      { ...heartbeat, quorum: { epoch: MAX, lastEpoch: MAX, commitSeq: MAX } },
      { ...heartbeat, quorum: { epoch: 0, lastEpoch: 0, commitSeq: 0 } },
      { ...request, quorum: { epoch: MAX, lastFetchedEpoch: 0 } },
      { ...response, events: [], quorum: { epoch: 0, commitSeq: MAX, runs: [] } },
      { ...response, quorum: { epoch: MAX, commitSeq: 0, runs: [{ startSeq: MAX, epoch: MAX }] } },
      { ...diverged, detail: '', diverged: { divergingEpoch: MAX, endSeq: 0 } },
      { ...voteRequest, epoch: MAX, lastEpoch: 0, nextSeq: MAX, preVote: false, transfer: true },
      { ...voteResponse, epoch: 0, granted: false, preVote: false },
      { ...standNow, epoch: MAX },
    ];
    for (const message of edges)
      assert.deepEqual(decodeAnyMessage(encodeMessage(message)), message);
  });
});
