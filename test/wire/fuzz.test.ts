// Property tests: random messages of all seven kinds (the four with or without their epoch group)
// round-trip exactly; random byte strings and mutations of valid frames (every truncation,
// flipped bytes, huge length and count fields) only ever give a well-formed value or a WireError.
// A value decoded from hostile bytes must still satisfy the message invariants and re-encode, so
// the layers above can trust it.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  type AnyReplicationMessage,
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
  EPOCH_RUN_BYTES,
  EPOCH_RUNS_MAX,
  encodeMessage,
  NackLayout,
  ResponseLayout,
  ResponseQuorumLayout,
  WireError,
} from '../../src/wire/index.js';
import {
  anyMessageArb,
  heartbeatArb,
  nackArb,
  requestArb,
  responseArb,
  seedForm,
  standNowArb,
  voteRequestArb,
  voteResponseArb,
} from './arbitraries.js';
import { concat, valueOrWireError, withU16, withU32 } from './helpers.js';

const decoders: Record<AnyReplicationMessage['kind'], (bytes: Uint8Array) => unknown> = {
  heartbeat: decodeHeartbeat,
  request: decodeRequest,
  response: decodeResponse,
  nack: decodeNack,
  'vote-request': decodeVoteRequest,
  'vote-response': decodeVoteResponse,
  'stand-now': decodeStandNow,
};
const allDecoders = [decodeAny, decodeQuorumMessage, decodeAnyMessage, ...Object.values(decoders)];
const isSeq = (value: number) => Number.isSafeInteger(value) && value >= 0;

/** What every decoded message must satisfy, however hostile the frame it came from. */
function assertWellFormed(message: AnyReplicationMessage, frame: Uint8Array): void {
  assert.ok(message.channelId instanceof Uint8Array && message.channelId.length === 32);
  const seqs: number[] = [];
  switch (message.kind) {
    case 'heartbeat':
      seqs.push(message.tailSeq, message.wallClockMs);
      assert.ok([0, 1, 2, 3].includes(message.role));
      if (message.quorum) {
        const { epoch, lastEpoch, commitSeq } = message.quorum;
        seqs.push(epoch, lastEpoch, commitSeq);
      }
      break;
    case 'request':
      seqs.push(message.sinceSeq);
      assert.ok([0, 1, 2].includes(message.syncClass));
      assert.ok(Number.isInteger(message.chunkMax) && message.chunkMax <= 0xffff_ffff);
      if (message.quorum) seqs.push(message.quorum.epoch, message.quorum.lastFetchedEpoch);
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
      if (message.quorum) {
        seqs.push(message.quorum.epoch, message.quorum.commitSeq);
        const runs = message.quorum.runs;
        assert.ok(runs.length <= EPOCH_RUNS_MAX);
        for (const [i, run] of runs.entries()) {
          seqs.push(run.startSeq, run.epoch);
          if (i > 0)
            assert.ok(run.startSeq > runs[i - 1]!.startSeq && run.epoch > runs[i - 1]!.epoch);
        }
      }
      break;
    case 'nack':
      seqs.push(message.sinceSeq, message.leaderFirstRetainedSeq);
      assert.ok([1, 2, 3, 4, 5].includes(message.errorCode));
      assert.ok(Buffer.byteLength(message.detail, 'utf8') <= 0xffff);
      assert.equal(message.diverged !== undefined, message.errorCode === 5);
      if (message.diverged) seqs.push(message.diverged.divergingEpoch, message.diverged.endSeq);
      break;
    case 'vote-request':
      seqs.push(message.epoch, message.lastEpoch, message.nextSeq);
      assert.equal(typeof message.preVote, 'boolean');
      assert.equal(typeof message.transfer, 'boolean');
      break;
    case 'vote-response':
      seqs.push(message.epoch);
      assert.equal(typeof message.granted, 'boolean');
      assert.equal(typeof message.preVote, 'boolean');
      break;
    case 'stand-now':
      seqs.push(message.epoch);
      break;
  }
  for (const seq of seqs) assert.ok(isSeq(seq), `seq ${seq}`);
  if ('requestId' in message) {
    assert.ok(message.requestId >= 0n && message.requestId < 2n ** 64n);
  }
  // Whatever decodes must re-encode, and the canonical form decodes to the same value.
  assert.deepEqual(decodeAnyMessage(encodeMessage(message)), message);
}

/** Runs every decoder on `frame`: each gives a well-formed value or a WireError. */
function decodeAll(frame: Uint8Array): void {
  for (const decode of allDecoders) {
    const result = valueOrWireError(() => decode(frame));
    if (!(result instanceof WireError)) assertWellFormed(result as AnyReplicationMessage, frame);
  }
}

/** Whether the frame ends with everything this version knows (its epoch group, if any). */
function complete(message: AnyReplicationMessage): boolean {
  return (
    'quorum' in message ||
    message.kind === 'nack' ||
    message.kind === 'vote-request' ||
    message.kind === 'vote-response' ||
    message.kind === 'stand-now'
  );
}

/** The old four are also decoded by decodeAny; the election messages by decodeQuorumMessage. */
function groupDecoder(message: AnyReplicationMessage): (bytes: Uint8Array) => unknown {
  return ['vote-request', 'vote-response', 'stand-now'].includes(message.kind)
    ? decodeQuorumMessage
    : decodeAny;
}

describe('round trips', () => {
  const kinds = {
    heartbeatArb,
    requestArb,
    responseArb,
    nackArb,
    voteRequestArb,
    voteResponseArb,
    standNowArb,
  };
  for (const [name, arb] of Object.entries(kinds)) {
    it(`${name}: decode(encode(m)) = m and re-encoding is byte-identical`, () => {
      fc.assert(
        fc.property(arb as fc.Arbitrary<AnyReplicationMessage>, (message) => {
          const frame = encodeMessage(message);
          const decoded = decoders[message.kind](frame) as AnyReplicationMessage;
          assert.deepEqual(decoded, message);
          assert.deepEqual(decodeAnyMessage(frame), message);
          assert.deepEqual(groupDecoder(message)(frame), message);
          assert.deepEqual(encodeMessage(decoded), frame);
        }),
        { numRuns: 300 },
      );
    });
  }

  it('the seed form of any message decodes without an epoch group', () => {
    fc.assert(
      fc.property(anyMessageArb, (message) => {
        const seed = seedForm(message);
        const decoded = decodeAnyMessage(encodeMessage(seed));
        assert.deepEqual(decoded, seed);
        assert.ok(!('quorum' in decoded), 'no quorum key at all');
      }),
      { numRuns: 300 },
    );
  });

  it('random bytes after everything a frame knows are ignored', () => {
    const arb = anyMessageArb.filter(complete);
    fc.assert(
      fc.property(arb, fc.uint8Array({ minLength: 1, maxLength: 40 }), (message, tail) => {
        const frame = concat(encodeMessage(message), tail);
        assert.deepEqual(decodeAnyMessage(frame), message);
        assert.deepEqual(decoders[message.kind](frame), message);
      }),
      { numRuns: 300 },
    );
  });

  it('a seed-form frame followed by part of an epoch group is Truncated', () => {
    const groupBytes = { heartbeat: 24, request: 16, response: 18 } as const;
    const arb = anyMessageArb.filter(
      (m) => m.kind === 'heartbeat' || m.kind === 'request' || m.kind === 'response',
    );
    fc.assert(
      fc.property(arb, fc.uint8Array({ minLength: 1, maxLength: 17 }), (message, tail) => {
        const kind = message.kind as keyof typeof groupBytes;
        const part = tail.subarray(0, Math.min(tail.length, groupBytes[kind] - 1));
        const seed = encodeMessage(seedForm(message));
        const frame = concat(seed, part);
        const result = valueOrWireError(() => decodeAnyMessage(frame));
        assert.ok(result instanceof WireError && result.detail.kind === 'Truncated');
        assert.deepEqual(result.detail, {
          kind: 'Truncated',
          needed: seed.length + groupBytes[kind],
          available: frame.length,
        });
      }),
      { numRuns: 300 },
    );
  });
});

describe('hostile bytes', () => {
  it('every truncation of a valid frame is Truncated (or a legal shorter form)', () => {
    fc.assert(
      fc.property(anyMessageArb, (message) => {
        const frame = encodeMessage(message);
        const seed = seedForm(message);
        const seedLength = encodeMessage(seed).length;
        for (let length = 0; length < frame.length; length++) {
          const prefix = frame.subarray(0, length);
          const result = valueOrWireError(() => decodeAnyMessage(prefix));
          // Cut right before the epoch group: the same message as an older peer sends it.
          if (length === seedLength && seed !== message) {
            assert.deepEqual(result, seed);
            continue;
          }
          if (message.kind === 'request' && length === 55) {
            assert.deepEqual(result, { ...seed, syncClass: 0 });
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
        fc.integer({ min: 0x1f, max: 0x28 }),
        fc.uint8Array({ maxLength: 300 }),
        (code, body) => decodeAll(concat(new Uint8Array([0x00, 0x0e, code]), body)),
      ),
      { numRuns: 2000 },
    );
  });

  it('flipped bytes in valid frames give a well-formed value or a WireError', () => {
    fc.assert(
      fc.property(
        anyMessageArb,
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
        // The epoch group's bytes can pass for a few more event headers; past that, Truncated.
        if (ResponseLayout.events + count * 12 > frame.length) {
          assert.ok(result instanceof WireError && result.kind === 'Truncated');
        }
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

describe('hostile epoch groups', () => {
  const withQuorum = responseArb.filter((m) => m.quorum !== undefined);

  /** Offset of the response's epoch group: the end of its events. */
  function groupAt(message: typeof withQuorum extends fc.Arbitrary<infer T> ? T : never): number {
    let offset = ResponseLayout.events;
    for (const event of message.events) offset += 12 + event.payload.length;
    return offset;
  }

  it('a run_count above the limit is TooManyEpochRuns, one the frame cannot hold Truncated', () => {
    fc.assert(
      fc.property(withQuorum, fc.integer({ min: 1, max: 0xffff }), (message, count) => {
        const frame = encodeMessage(message);
        const at = groupAt(message) + ResponseQuorumLayout.runCount;
        fc.pre(count !== message.quorum!.runs.length);
        const result = valueOrWireError(() => decodeResponse(withU16(frame, at, count)));
        const runs = message.quorum!.runs;
        if (count < runs.length) {
          // Fewer runs than written: the rest is trailing bytes, ignored.
          assert.ok(!(result instanceof WireError));
          assert.deepEqual(result.quorum!.runs, runs.slice(0, count));
          return;
        }
        assert.ok(result instanceof WireError);
        if (count > EPOCH_RUNS_MAX) {
          assert.deepEqual(result.detail, { kind: 'TooManyEpochRuns', count, max: EPOCH_RUNS_MAX });
        } else {
          assert.equal(result.kind, 'Truncated');
          if (result.detail.kind === 'Truncated') {
            assert.equal(result.detail.needed, at + 2 + count * EPOCH_RUN_BYTES);
          }
        }
        decodeAll(withU16(frame, at, count));
      }),
      { numRuns: 300 },
    );
  });

  it('runs that do not strictly increase are EpochRunsOutOfOrder naming the run', () => {
    const withTwo = withQuorum.filter((m) => m.quorum!.runs.length >= 2);
    fc.assert(
      fc.property(withTwo, fc.nat(), fc.boolean(), (message, pick, whichField) => {
        const runs = message.quorum!.runs;
        const index = 1 + (pick % (runs.length - 1));
        const frame = encodeMessage(message).slice();
        const view = new DataView(frame.buffer);
        const runAt = groupAt(message) + ResponseQuorumLayout.runs + index * EPOCH_RUN_BYTES;
        // Copy the previous run's field over this one: equal is not increasing.
        const field = whichField ? 0 : 8;
        view.setBigUint64(
          runAt + field,
          view.getBigUint64(runAt - EPOCH_RUN_BYTES + field, true),
          true,
        );
        const result = valueOrWireError(() => decodeResponse(frame));
        assert.ok(result instanceof WireError);
        assert.deepEqual(result.detail, {
          kind: 'EpochRunsOutOfOrder',
          index,
          field: whichField ? 'run_start_seq' : 'run_epoch',
        });
      }),
      { numRuns: 300 },
    );
  });

  it('undefined flag bits of a vote message are BadFlags', () => {
    fc.assert(
      fc.property(
        fc.oneof(voteRequestArb, voteResponseArb),
        fc.integer({ min: 0b100, max: 0xff }),
        (message, bits) => {
          const frame = encodeMessage(message).slice();
          frame[frame.length - 1]! |= bits;
          const result = valueOrWireError(() => decodeAnyMessage(frame));
          assert.ok(result instanceof WireError && result.kind === 'BadFlags');
        },
      ),
      { numRuns: 200 },
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
