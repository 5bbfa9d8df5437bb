// Property tests: random messages of all four kinds round-trip exactly; random byte strings and
// mutations of valid frames (every truncation, flipped bytes, huge length fields) only ever give
// a well-formed value or a WireError. A value decoded from hostile bytes must still satisfy the
// message invariants and re-encode, so the layers above can trust it.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  decodeAny,
  decodeHeartbeat,
  decodeNack,
  decodeRequest,
  decodeResponse,
  encodeMessage,
  NackLayout,
  type ReplicationMessage,
  ResponseLayout,
  WireError,
} from '../../src/wire/index.js';
import { heartbeatArb, messageArb, nackArb, requestArb, responseArb } from './arbitraries.js';
import { concat, valueOrWireError, withU16, withU32 } from './helpers.js';

const decoders = {
  heartbeat: decodeHeartbeat,
  request: decodeRequest,
  response: decodeResponse,
  nack: decodeNack,
} as const;
const allDecoders = [decodeAny, ...Object.values(decoders)];

/** What every decoded message must satisfy, however hostile the frame it came from. */
function assertWellFormed(message: ReplicationMessage, frame: Uint8Array): void {
  assert.ok(message.channelId instanceof Uint8Array && message.channelId.length === 32);
  const seqs: number[] = [];
  switch (message.kind) {
    case 'heartbeat':
      seqs.push(message.tailSeq, message.wallClockMs);
      assert.ok([0, 1, 2, 3].includes(message.role));
      break;
    case 'request':
      seqs.push(message.sinceSeq);
      assert.ok([0, 1, 2].includes(message.syncClass));
      assert.ok(Number.isInteger(message.chunkMax) && message.chunkMax <= 0xffff_ffff);
      break;
    case 'response':
      seqs.push(message.firstSeq, message.leaderFirstRetainedSeq);
      for (const event of message.events) {
        seqs.push(event.seq);
        assert.equal(event.payload.buffer, frame.buffer);
        assert.ok(
          event.payload.byteOffset + event.payload.length <= frame.byteOffset + frame.length,
        );
      }
      break;
    case 'nack':
      seqs.push(message.sinceSeq, message.leaderFirstRetainedSeq);
      assert.ok([1, 2, 3, 4].includes(message.errorCode));
      assert.ok(Buffer.byteLength(message.detail, 'utf8') <= 0xffff);
      break;
  }
  for (const seq of seqs) assert.ok(Number.isSafeInteger(seq) && seq >= 0, `seq ${seq}`);
  if ('requestId' in message) {
    assert.ok(message.requestId >= 0n && message.requestId < 2n ** 64n);
  }
  // Whatever decodes must re-encode, and the canonical form decodes to the same value.
  assert.deepEqual(decodeAny(encodeMessage(message)), message);
}

/** Runs every decoder on `frame`: each gives a well-formed value or a WireError. */
function decodeAll(frame: Uint8Array): void {
  for (const decode of allDecoders) {
    const result = valueOrWireError(() => decode(frame));
    if (!(result instanceof WireError)) assertWellFormed(result, frame);
  }
}

describe('round trips', () => {
  const kinds = { heartbeatArb, requestArb, responseArb, nackArb };
  for (const [name, arb] of Object.entries(kinds)) {
    it(`${name}: decode(encode(m)) = m and re-encoding is byte-identical`, () => {
      fc.assert(
        fc.property(arb as fc.Arbitrary<ReplicationMessage>, (message) => {
          const frame = encodeMessage(message);
          const decoded = decoders[message.kind](frame);
          assert.deepEqual(decoded, message);
          assert.deepEqual(decodeAny(frame), message);
          assert.deepEqual(encodeMessage(decoded), frame);
        }),
        { numRuns: 300 },
      );
    });
  }

  it('any message with random trailing bytes decodes to the same value', () => {
    fc.assert(
      fc.property(messageArb, fc.uint8Array({ minLength: 1, maxLength: 40 }), (message, tail) => {
        const frame = concat(encodeMessage(message), tail);
        assert.deepEqual(decodeAny(frame), message);
        assert.deepEqual(decoders[message.kind](frame), message);
      }),
      { numRuns: 300 },
    );
  });
});

describe('hostile bytes', () => {
  it('every truncation of a valid frame is Truncated (or the legal 55-byte request)', () => {
    fc.assert(
      fc.property(messageArb, (message) => {
        const frame = encodeMessage(message);
        for (let length = 0; length < frame.length; length++) {
          const prefix = frame.subarray(0, length);
          const result = valueOrWireError(() => decodeAny(prefix));
          if (message.kind === 'request' && length === 55) {
            assert.deepEqual(result, { ...message, syncClass: 0 });
            continue;
          }
          assert.ok(result instanceof WireError, `length ${length} of ${frame.length} decoded`);
          assert.equal(result.detail.kind, 'Truncated');
          if (result.detail.kind === 'Truncated') {
            assert.equal(result.detail.available, length);
            assert.ok(result.detail.needed > length, 'needed must exceed what is there');
            // Never more than the real frame, except the early event_count bound, which can
            // only over-ask when the frame is too short for the count anyway.
            if (message.kind !== 'response') assert.ok(result.detail.needed <= frame.length);
          }
          decodeAll(prefix);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('random byte strings give a value or a WireError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => decodeAll(bytes)),
      { numRuns: 2000 },
    );
  });

  it('random bytes behind a valid header give a value or a WireError', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0x1f, max: 0x25 }),
        fc.uint8Array({ maxLength: 300 }),
        (code, body) => decodeAll(concat(new Uint8Array([0x00, 0x0e, code]), body)),
      ),
      { numRuns: 2000 },
    );
  });

  it('flipped bytes in valid frames give a well-formed value or a WireError', () => {
    fc.assert(
      fc.property(
        messageArb,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), {
          minLength: 1,
          maxLength: 4,
        }),
        (message, flips) => {
          const frame = encodeMessage(message).slice();
          for (const [at, mask] of flips) frame[at % frame.length]! ^= mask;
          decodeAll(frame);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('a huge event_count is Truncated when the frame cannot hold that many events', () => {
    fc.assert(
      fc.property(responseArb, fc.integer({ min: 1, max: 0x7fff_ffff }), (message, extra) => {
        const count = Math.min(message.events.length + extra, 0xffff_ffff);
        const frame = withU32(encodeMessage(message), ResponseLayout.eventCount, count);
        const result = valueOrWireError(() => decodeResponse(frame));
        assert.ok(result instanceof WireError && result.kind === 'Truncated');
        decodeAll(frame);
      }),
      { numRuns: 300 },
    );
  });

  it('a huge payload_len gives a WireError or a well-formed value, never a big allocation', () => {
    const withEvents = responseArb.filter((m) => m.events.length > 0);
    fc.assert(
      fc.property(
        withEvents,
        fc.nat(),
        fc.oneof(fc.constant(0xffff_ffff), fc.integer({ min: 0, max: 0x7fff_ffff })),
        (message, pick, length) => {
          const frame = encodeMessage(message);
          let offset = ResponseLayout.events;
          const target = pick % message.events.length;
          for (let i = 0; i < target; i++) offset += 12 + message.events[i]!.payload.length;
          const mutated = withU32(frame, offset + 8, length);
          const result = valueOrWireError(() => decodeResponse(mutated));
          if (length > frame.length) assert.ok(result instanceof WireError);
          decodeAll(mutated);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a detail_len past the end of a NACK is Truncated', () => {
    fc.assert(
      fc.property(nackArb, fc.integer({ min: 1, max: 0xffff }), (message, extra) => {
        const frame = encodeMessage(message);
        const actual = frame.length - NackLayout.detail;
        const claimed = Math.min(actual + extra, 0xffff);
        fc.pre(claimed > actual);
        const mutated = withU16(frame, NackLayout.detailLen, claimed);
        const result = valueOrWireError(() => decodeNack(mutated));
        assert.ok(result instanceof WireError && result.kind === 'Truncated');
        if (result.detail.kind === 'Truncated') {
          assert.equal(result.detail.needed, NackLayout.detail + claimed);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('NACK detail truncation (property)', () => {
  it('keeps the longest code-point prefix that fits 65535 bytes', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', minLength: 1, maxLength: 6 }),
        fc.string({ unit: 'binary', maxLength: 3 }),
        (unit, lead) => {
          const detail = lead + unit.repeat(Math.ceil(70_000 / unit.length));
          const decoded = decodeNack(
            encodeMessage({
              kind: 'nack',
              channelId: new Uint8Array(32),
              sinceSeq: 0,
              errorCode: 1,
              leaderFirstRetainedSeq: 0,
              requestId: 0n,
              detail,
            }),
          ).detail;
          const keptBytes = Buffer.byteLength(decoded, 'utf8');
          assert.ok(detail.startsWith(decoded), 'kept text must be a prefix of the original');
          assert.ok(keptBytes <= 0xffff);
          const next = String.fromCodePoint(detail.codePointAt(decoded.length)!);
          assert.ok(keptBytes + Buffer.byteLength(next, 'utf8') > 0xffff, 'cut too early');
        },
      ),
      { numRuns: 60 },
    );
  });
});
