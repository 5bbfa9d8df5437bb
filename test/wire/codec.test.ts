// Example-based tests of the codec: each decoding rule of docs/PROTOCOL.md (lengths, trailing
// bytes, the 55-byte request, unknown class, every error kind), the safe-seq boundary, NACK
// detail truncation, payloads as views, and encoder input validation naming the field. The epoch
// groups and the election messages are in quorum.test.ts.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  channelIdFromName,
  decodeAny,
  decodeHeartbeat,
  decodeNack,
  decodeRequest,
  decodeResponse,
  encodeHeartbeat,
  encodeMessage,
  encodeNack,
  encodeRequest,
  encodeResponse,
  HeartbeatLayout,
  NackLayout,
  type ReplicationMessage,
  RequestLayout,
  ResponseLayout,
  responseEncodedBytes,
  type SyncHeartbeat,
  type SyncNack,
  type SyncRequest,
  type SyncResponse,
  WireEncodeError,
} from '../../src/wire/index.js';
import { assertWireError, concat, withByte, withU16, withU32, withU64 } from './helpers.js';

const channelId = channelIdFromName('orders/audit');
const heartbeat: SyncHeartbeat = {
  kind: 'heartbeat',
  channelId,
  tailSeq: 1000,
  role: 1,
  wallClockMs: 1_764_115_200_000,
};
const request: SyncRequest = {
  kind: 'request',
  channelId,
  sinceSeq: 42,
  chunkMax: 262_144,
  requestId: 0x0123_4567_89ab_cdefn,
  syncClass: 2,
};
const response: SyncResponse = {
  kind: 'response',
  channelId,
  firstSeq: 42,
  leaderFirstRetainedSeq: 10,
  requestId: 7n,
  events: [
    { seq: 42, payload: new Uint8Array([1, 2, 3]) },
    { seq: 43, payload: new Uint8Array(0) },
    { seq: 44, payload: new Uint8Array([9]) },
  ],
};
const nack: SyncNack = {
  kind: 'nack',
  channelId,
  sinceSeq: 5,
  errorCode: 2,
  leaderFirstRetainedSeq: 10,
  requestId: 9n,
  detail: 'trimmed → 10',
};
const samples: ReplicationMessage[] = [heartbeat, request, response, nack];
const decoders = {
  heartbeat: decodeHeartbeat,
  request: decodeRequest,
  response: decodeResponse,
  nack: decodeNack,
} as const;

describe('sizes and round trips', () => {
  it('fixed sizes match docs/PROTOCOL.md', () => {
    assert.equal(encodeHeartbeat(heartbeat).length, 52);
    assert.equal(encodeRequest(request).length, 56);
    assert.equal(encodeResponse({ ...response, events: [] }).length, 63);
    assert.equal(encodeNack({ ...nack, detail: '' }).length, 62);
    assert.equal(encodeNack(nack).length, 62 + 14);
    assert.equal(encodeResponse(response).length, 63 + 3 * 12 + 4);
    assert.equal(responseEncodedBytes(response.events), 63 + 3 * 12 + 4);
  });

  it('every message round-trips through its decoder and decodeAny', () => {
    for (const message of samples) {
      const frame = encodeMessage(message);
      assert.deepEqual(decodeAny(frame), message);
      assert.deepEqual(decoders[message.kind](frame), message);
    }
  });

  it('starts every frame with 00 0e and the dispatch code', () => {
    const codes = { request: 0x20, response: 0x21, heartbeat: 0x22, nack: 0x23 };
    for (const message of samples) {
      const frame = encodeMessage(message);
      assert.deepEqual([...frame.subarray(0, 3)], [0x00, 0x0e, codes[message.kind]]);
      assert.deepEqual(frame.subarray(3, 35), channelId);
    }
  });
});

describe('decoding rules', () => {
  it('accepts trailing bytes after the last field it knows', () => {
    // Bytes after a seed-form heartbeat, request or response are its epoch group
    // (test/wire/quorum.test.ts); after the group, or after a NACK other than Diverged, they
    // are a later version's fields.
    const complete: ReplicationMessage[] = [
      { ...heartbeat, quorum: { epoch: 3, lastEpoch: 2, commitSeq: 990 } },
      { ...request, quorum: { epoch: 3, lastFetchedEpoch: 2 } },
      { ...response, quorum: { epoch: 3, commitSeq: 40, runs: [{ startSeq: 40, epoch: 3 }] } },
      nack,
    ];
    for (const message of complete) {
      const frame = concat(encodeMessage(message), new Uint8Array([1, 2, 3, 0xff]));
      assert.deepEqual(decodeAny(frame), message);
      assert.deepEqual(decoders[message.kind](frame), message);
    }
  });

  it('accepts a 55-byte request as Foreground', () => {
    const short = encodeRequest(request).subarray(0, 55);
    assert.deepEqual(decodeRequest(short), { ...request, syncClass: 0 });
    assert.deepEqual(decodeAny(short), { ...request, syncClass: 0 });
    assertWireError(() => decodeRequest(short.subarray(0, 54)), 'Truncated');
  });

  it('decodes an unknown class as Foreground and keeps known ones', () => {
    const frame = encodeRequest(request);
    for (const [byte, expected] of [
      [0, 0],
      [1, 1],
      [2, 2],
      [3, 0],
      [0xff, 0],
    ] as const) {
      const decoded = decodeRequest(withByte(frame, RequestLayout.syncClass, byte));
      assert.equal(decoded.syncClass, expected, `class byte ${byte}`);
    }
  });

  it('fewer than 3 bytes is Truncated needing 3', () => {
    for (const length of [0, 1, 2]) {
      const error = assertWireError(() => decodeAny(new Uint8Array(length)), 'Truncated');
      assert.deepEqual(error.detail, { kind: 'Truncated', needed: 3, available: length });
    }
  });

  it('a short fixed part is Truncated needing the minimum length', () => {
    const minimums = { heartbeat: 52, request: 55, response: 63, nack: 62 };
    for (const message of samples) {
      const frame = encodeMessage(message);
      const min = minimums[message.kind];
      const error = assertWireError(() => decodeAny(frame.subarray(0, min - 1)), 'Truncated');
      assert.deepEqual(error.detail, { kind: 'Truncated', needed: min, available: min - 1 });
    }
  });

  it('a wrong subprotocol is SubprotocolMismatch', () => {
    for (const message of samples) {
      const frame = withByte(encodeMessage(message), 1, 0x0f);
      const error = assertWireError(() => decodeAny(frame), 'SubprotocolMismatch');
      assert.deepEqual(error.detail, { kind: 'SubprotocolMismatch', subprotocol: 0x0f00 });
      assertWireError(() => decoders[message.kind](frame), 'SubprotocolMismatch');
    }
    // Big-endian 0x0E00 is not the same thing.
    assertWireError(
      () => decodeAny(concat(new Uint8Array([0x0e, 0x00]), encodeHeartbeat(heartbeat).subarray(2))),
      'SubprotocolMismatch',
    );
  });

  it('a per-message decoder refuses another message as DispatchMismatch', () => {
    const frame = encodeHeartbeat(heartbeat);
    const error = assertWireError(() => decodeRequest(frame), 'DispatchMismatch');
    assert.deepEqual(error.detail, { kind: 'DispatchMismatch', expected: 0x20, actual: 0x22 });
    assertWireError(() => decodeResponse(frame), 'DispatchMismatch');
    assertWireError(() => decodeNack(frame), 'DispatchMismatch');
    assertWireError(() => decodeHeartbeat(encodeNack(nack)), 'DispatchMismatch');
  });

  it('decodeAny refuses unknown and reserved codes (election ones too) as UnknownDispatch', () => {
    const frame = encodeHeartbeat(heartbeat);
    for (const code of [0x00, 0x1f, 0x24, 0x25, 0x26, 0x27, 0x28, 0x2f, 0x30, 0xff]) {
      const error = assertWireError(() => decodeAny(withByte(frame, 2, code)), 'UnknownDispatch');
      assert.deepEqual(error.detail, { kind: 'UnknownDispatch', code });
    }
  });

  it('a role outside 0..3 is BadRole', () => {
    const frame = encodeHeartbeat(heartbeat);
    for (const role of [0, 1, 2, 3]) {
      assert.equal(decodeHeartbeat(withByte(frame, HeartbeatLayout.role, role)).role, role);
    }
    for (const role of [4, 0x80, 0xff]) {
      const error = assertWireError(
        () => decodeAny(withByte(frame, HeartbeatLayout.role, role)),
        'BadRole',
      );
      assert.deepEqual(error.detail, { kind: 'BadRole', role });
    }
  });

  it('an error code outside 1..5 is BadErrorCode', () => {
    const frame = encodeNack(nack);
    for (const code of [1, 2, 3, 4]) {
      assert.equal(decodeNack(withByte(frame, NackLayout.errorCode, code)).errorCode, code);
    }
    // 5 (Diverged) is known, and needs its group (test/wire/quorum.test.ts).
    const diverged = concat(withByte(frame, NackLayout.errorCode, 5), new Uint8Array(16));
    assert.equal(decodeNack(diverged).errorCode, 5);
    for (const errorCode of [0, 6, 0xff]) {
      const error = assertWireError(
        () => decodeAny(withByte(frame, NackLayout.errorCode, errorCode)),
        'BadErrorCode',
      );
      assert.deepEqual(error.detail, { kind: 'BadErrorCode', errorCode });
    }
  });

  it('malformed UTF-8 in a NACK detail is InvalidUtf8', () => {
    const base = encodeNack({ ...nack, detail: '' });
    for (const bad of [[0xff], [0xc3], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xc0, 0xaf]]) {
      const frame = withU16(concat(base, new Uint8Array(bad)), NackLayout.detailLen, bad.length);
      const error = assertWireError(() => decodeAny(frame), 'InvalidUtf8');
      assert.deepEqual(error.detail, { kind: 'InvalidUtf8', field: 'detail' });
    }
  });

  it('keeps a leading U+FEFF in a NACK detail', () => {
    const message = { ...nack, detail: '\ufeffbom first' };
    assert.deepEqual(decodeNack(encodeNack(message)), message);
  });

  it('a NACK detail cut short is Truncated needing the full detail', () => {
    const frame = encodeNack(nack);
    const error = assertWireError(() => decodeNack(frame.subarray(0, 70)), 'Truncated');
    assert.deepEqual(error.detail, { kind: 'Truncated', needed: 76, available: 70 });
    const huge = withU16(frame, NackLayout.detailLen, 0xffff);
    assert.deepEqual(assertWireError(() => decodeNack(huge), 'Truncated').detail, {
      kind: 'Truncated',
      needed: 62 + 0xffff,
      available: frame.length,
    });
  });

  it('a response event cut short reports the bytes it needed', () => {
    const frame = encodeResponse(response); // events at 63 (12+3), 78 (12+0), 90 (12+1); ends 103
    const cases: [number, number][] = [
      [64, 63 + 36], // too short to hold 3 event headers at all
      [100, 102], // third event's header is there (90..102), its payload byte is not
      [102, 103],
    ];
    for (const [length, needed] of cases) {
      const error = assertWireError(() => decodeResponse(frame.subarray(0, length)), 'Truncated');
      assert.deepEqual(error.detail, { kind: 'Truncated', needed, available: length });
    }
    const twoEvents = withU32(frame.subarray(0, 90), ResponseLayout.eventCount, 3);
    assert.deepEqual(assertWireError(() => decodeResponse(twoEvents), 'Truncated').detail, {
      kind: 'Truncated',
      needed: 99,
      available: 90,
    });
  });

  it('huge event_count and payload_len are refused as Truncated without allocating', () => {
    const frame = encodeResponse(response);
    const count = withU32(frame, ResponseLayout.eventCount, 0xffff_ffff);
    assert.deepEqual(assertWireError(() => decodeResponse(count), 'Truncated').detail, {
      kind: 'Truncated',
      needed: 63 + 12 * 0xffff_ffff,
      available: frame.length,
    });
    const length = withU32(frame, ResponseLayout.events + 8, 0xffff_ffff);
    assert.deepEqual(assertWireError(() => decodeResponse(length), 'Truncated').detail, {
      kind: 'Truncated',
      needed: 63 + 12 + 0xffff_ffff,
      available: frame.length,
    });
  });

  it('reads the bytes after event_count events as the epoch group', () => {
    // A count of 1 in a 3-event frame: the 25 bytes of events 2 and 3 are read as the group
    // (epoch = event 2's seq 43, commit_seq from the next 8 bytes, run_count 0); the 7 bytes
    // after it are trailing.
    const frame = withU32(encodeResponse(response), ResponseLayout.eventCount, 1);
    const decoded = decodeResponse(frame);
    assert.deepEqual(decoded.events, response.events.slice(0, 1));
    assert.deepEqual(decoded.quorum, { epoch: 43, commitSeq: 44 * 2 ** 32, runs: [] });
  });
});

describe('seq range', () => {
  const seqFields: [ReplicationMessage, number, string][] = [
    [heartbeat, HeartbeatLayout.tailSeq, 'tail_seq'],
    [heartbeat, HeartbeatLayout.wallClockMs, 'wall_clock_ms'],
    [request, RequestLayout.sinceSeq, 'since_seq'],
    [response, ResponseLayout.firstSeq, 'first_seq'],
    [response, ResponseLayout.leaderFirstRetainedSeq, 'leader_first_retained_seq'],
    [response, ResponseLayout.events, 'event_seq'],
    [response, ResponseLayout.events + 12 + 3 + 12, 'event_seq'],
    [nack, NackLayout.sinceSeq, 'since_seq'],
    [nack, NackLayout.leaderFirstRetainedSeq, 'leader_first_retained_seq'],
  ];

  it('2^53 - 1 decodes exactly in every seq field', () => {
    for (const [message, offset, field] of seqFields) {
      const frame = withU64(encodeMessage(message), offset, 2n ** 53n - 1n);
      const decoded = decodeAny(frame) as unknown as Record<string, unknown>;
      const again = encodeMessage(decoded as unknown as ReplicationMessage);
      assert.deepEqual(again, frame, field);
    }
  });

  it('a seq beyond 2^53 - 1 is SeqOutOfRange naming the field', () => {
    for (const [message, offset, field] of seqFields) {
      for (const value of [2n ** 53n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n]) {
        const frame = withU64(encodeMessage(message), offset, value);
        const error = assertWireError(() => decodeAny(frame), 'SeqOutOfRange');
        assert.deepEqual(error.detail, { kind: 'SeqOutOfRange', field, value });
      }
    }
  });

  it('request_id keeps the full u64 range', () => {
    const max = { ...request, requestId: 2n ** 64n - 1n };
    assert.deepEqual(decodeRequest(encodeRequest(max)), max);
    const frame = withU64(encodeRequest(request), RequestLayout.requestId, 2n ** 64n - 1n);
    assert.equal(decodeRequest(frame).requestId, 2n ** 64n - 1n);
  });
});

describe('NACK detail truncation', () => {
  const utf8 = (text: string) => Buffer.byteLength(text, 'utf8');

  it('cuts before a 4-byte emoji that would straddle 65535 bytes', () => {
    // 1 + 4k bytes: 65533 fits, 65537 does not, so the last emoji must be dropped whole.
    const detail = `a${'😀'.repeat(16_384)}`;
    assert.equal(utf8(detail), 65_537);
    const frame = encodeNack({ ...nack, detail });
    assert.equal(new DataView(frame.buffer, frame.byteOffset).getUint16(60, true), 65_533);
    assert.equal(frame.length, 62 + 65_533);
    const decoded = decodeNack(frame);
    assert.equal(decoded.detail, `a${'😀'.repeat(16_383)}`);
  });

  it('cuts before a 3-byte character and keeps an exact 65535-byte detail whole', () => {
    const cut = decodeNack(encodeNack({ ...nack, detail: `${'€'.repeat(21_845)}x€` })).detail;
    assert.equal(cut, `${'€'.repeat(21_845)}`); // 65535 bytes exactly; 'x' would be 65536
    const exact = `${'€'.repeat(21_844)}abc`; // 65532 + 3
    assert.equal(utf8(exact), 65_535);
    assert.equal(decodeNack(encodeNack({ ...nack, detail: exact })).detail, exact);
    const over = `${exact}d`;
    assert.equal(decodeNack(encodeNack({ ...nack, detail: over })).detail, exact);
  });

  it('writes lone surrogates as U+FFFD', () => {
    const decoded = decodeNack(encodeNack({ ...nack, detail: 'a\ud800b\udc00' }));
    assert.equal(decoded.detail, 'a\ufffdb\ufffd');
  });
});

describe('views and copies', () => {
  it('response payloads are views into the input buffer, not copies', () => {
    const frame = encodeResponse(response);
    const decoded = decodeResponse(frame);
    let offset = ResponseLayout.events;
    for (const event of decoded.events) {
      offset += 12;
      assert.equal(event.payload.buffer, frame.buffer);
      assert.equal(event.payload.byteOffset, frame.byteOffset + offset);
      offset += event.payload.length;
    }
    frame[ResponseLayout.events + 12] = 0xaa;
    assert.equal(decoded.events[0]!.payload[0], 0xaa);
  });

  it('decodes a frame that sits at an offset inside a larger buffer (pooled Buffer)', () => {
    for (const message of samples) {
      const frame = encodeMessage(message);
      const backing = new Uint8Array(frame.length + 13);
      backing.set(frame, 7);
      const view = backing.subarray(7, 7 + frame.length);
      assert.deepEqual(decodeAny(view), message);
      assert.deepEqual(decodeAny(Buffer.from(frame)), message);
    }
    const decoded = decodeResponse(Buffer.from(encodeResponse(response)));
    assert.equal(Object.getPrototypeOf(decoded.events[0]!.payload), Uint8Array.prototype);
  });

  it('decodes from a SharedArrayBuffer', () => {
    for (const message of samples) {
      const frame = encodeMessage(message);
      const shared = new Uint8Array(new SharedArrayBuffer(frame.length));
      shared.set(frame);
      assert.deepEqual(
        JSON.stringify(decodeAny(shared), (_k, v) => (typeof v === 'bigint' ? `${v}` : v)),
        JSON.stringify(message, (_k, v) => (typeof v === 'bigint' ? `${v}` : v)),
      );
    }
  });

  it('copies the channel id so it does not pin or alias the frame', () => {
    for (const message of samples) {
      for (const frame of [encodeMessage(message), Buffer.from(encodeMessage(message))]) {
        const decoded = decodeAny(frame);
        assert.notEqual(decoded.channelId.buffer, frame.buffer);
        frame[3]! ^= 0xff;
        assert.deepEqual(decoded.channelId, channelId);
      }
    }
  });
});

describe('hostile input types', () => {
  it('non-bytes and detached buffers are BadInput, never another exception', () => {
    for (const input of ['abc', null, undefined, 42, {}, [0, 14, 0x22], new Uint16Array(40)]) {
      assertWireError(() => decodeAny(input as unknown as Uint8Array), 'BadInput');
      assertWireError(() => decodeHeartbeat(input as unknown as Uint8Array), 'BadInput');
    }
    const frame = encodeHeartbeat(heartbeat);
    const buffer = frame.buffer as ArrayBuffer;
    structuredClone(buffer, { transfer: [buffer] });
    assert.equal(buffer.byteLength, 0, 'the buffer is detached');
    assertWireError(() => decodeAny(frame), 'BadInput');
    assertWireError(() => decodeResponse(frame), 'BadInput');
  });
});

describe('encoder validation', () => {
  type Case = [string, ReplicationMessage, string];
  const bad = (value: unknown) => value as never;
  const cases: Case[] = [
    ['channel id 31 bytes', { ...heartbeat, channelId: new Uint8Array(31) }, 'channelId'],
    ['channel id 33 bytes', { ...request, channelId: new Uint8Array(33) }, 'channelId'],
    ['channel id not bytes', { ...nack, channelId: bad('x'.repeat(32)) }, 'channelId'],
    ['negative tail', { ...heartbeat, tailSeq: -1 }, 'tailSeq'],
    ['fractional tail', { ...heartbeat, tailSeq: 1.5 }, 'tailSeq'],
    ['NaN tail', { ...heartbeat, tailSeq: Number.NaN }, 'tailSeq'],
    ['unsafe tail', { ...heartbeat, tailSeq: 2 ** 53 }, 'tailSeq'],
    ['bigint tail', { ...heartbeat, tailSeq: bad(5n) }, 'tailSeq'],
    ['role 4', { ...heartbeat, role: bad(4) }, 'role'],
    ['negative wall clock', { ...heartbeat, wallClockMs: -5 }, 'wallClockMs'],
    ['since unsafe', { ...request, sinceSeq: Number.MAX_SAFE_INTEGER + 2 }, 'sinceSeq'],
    ['chunkMax 2^32', { ...request, chunkMax: 2 ** 32 }, 'chunkMax'],
    ['chunkMax negative', { ...request, chunkMax: -1 }, 'chunkMax'],
    ['chunkMax fractional', { ...request, chunkMax: 0.5 }, 'chunkMax'],
    ['requestId negative', { ...request, requestId: -1n }, 'requestId'],
    ['requestId 2^64', { ...request, requestId: 2n ** 64n }, 'requestId'],
    ['requestId number', { ...request, requestId: bad(7) }, 'requestId'],
    ['class 3', { ...request, syncClass: bad(3) }, 'syncClass'],
    ['firstSeq negative', { ...response, firstSeq: -1 }, 'firstSeq'],
    ['floor unsafe', { ...response, leaderFirstRetainedSeq: 2 ** 60 }, 'leaderFirstRetainedSeq'],
    ['response requestId', { ...response, requestId: 2n ** 64n }, 'requestId'],
    ['events not array', { ...response, events: bad('nope') }, 'events'],
    [
      'event seq',
      { ...response, events: [response.events[0]!, { seq: -3, payload: new Uint8Array() }] },
      'events[1].seq',
    ],
    [
      'event payload',
      { ...response, events: [{ seq: 1, payload: bad([1, 2]) }] },
      'events[0].payload',
    ],
    ['nack code 0', { ...nack, errorCode: bad(0) }, 'errorCode'],
    ['nack code 6', { ...nack, errorCode: bad(6) }, 'errorCode'],
    ['nack since', { ...nack, sinceSeq: -1 }, 'sinceSeq'],
    ['nack floor', { ...nack, leaderFirstRetainedSeq: 1.25 }, 'leaderFirstRetainedSeq'],
    ['nack requestId', { ...nack, requestId: -2n }, 'requestId'],
    ['nack detail', { ...nack, detail: bad(12) }, 'detail'],
    ['kind', bad({ ...heartbeat, kind: 'ping' }), 'kind'],
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

  it('accepts the edges of every range', () => {
    const max = Number.MAX_SAFE_INTEGER;
    const edges: ReplicationMessage[] = [
      { ...heartbeat, tailSeq: max, wallClockMs: max, role: 3 },
      { ...heartbeat, tailSeq: 0, wallClockMs: 0, role: 0 },
      { ...request, sinceSeq: max, chunkMax: 2 ** 32 - 1, requestId: 2n ** 64n - 1n },
      { ...request, sinceSeq: 0, chunkMax: 0, requestId: 0n, syncClass: 0 },
      {
        ...response,
        firstSeq: max,
        leaderFirstRetainedSeq: max,
        events: [{ seq: max, payload: new Uint8Array() }],
      },
      { ...nack, errorCode: 1, detail: '' },
      { ...nack, errorCode: 4, sinceSeq: max, leaderFirstRetainedSeq: max },
    ];
    for (const message of edges) assert.deepEqual(decodeAny(encodeMessage(message)), message);
  });
});
