// Decoded SyncResponses carry their events as columns over the frame (`run`) and build `events`
// only when read; the helpers the replication step uses must agree with the events array.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  decodeResponse,
  encodeResponse,
  responseEventCount,
  responsePayloadBytes,
  type SyncResponse,
  skipResponseEvents,
} from '../../src/wire/index.js';
import { responseArb } from './arbitraries.js';

const plain = (message: SyncResponse) => ({
  ...message,
  events: message.events.map((event) => ({ seq: event.seq, payload: [...event.payload] })),
});

describe('decoded SyncResponse runs', () => {
  it('the run describes exactly the encoded events, and events read back equal', () => {
    fc.assert(
      fc.property(responseArb, (message) => {
        const frame = encodeResponse(message);
        const decoded = decodeResponse(frame);
        const run = decoded.run;
        assert.ok(run !== undefined);
        assert.equal(run.bytes.buffer, frame.buffer);
        assert.equal(run.count, message.events.length);
        let bytes = 0;
        message.events.forEach((event, i) => {
          assert.equal(run.seqs[i], event.seq);
          assert.deepEqual(
            run.bytes.subarray(run.offsets[i]!, run.offsets[i]! + run.lengths[i]!),
            event.payload,
          );
          bytes += event.payload.byteLength;
        });
        assert.equal(run.payloadBytes, bytes);
        assert.equal(responseEventCount(decoded), message.events.length);
        assert.equal(responsePayloadBytes(decoded), bytes);
        assert.deepEqual(plain(decoded), plain(message));
        // Read twice: the same array, built once.
        assert.equal(decoded.events, decoded.events);
      }),
    );
  });

  it('a spread copy drops the run but keeps the events', () => {
    const message = fc.sample(responseArb, { numRuns: 1, seed: 7 })[0]!;
    const decoded = decodeResponse(encodeResponse(message));
    const copy = { ...decoded };
    assert.equal(copy.run, undefined);
    assert.equal(Object.keys(decoded).includes('run'), false);
    assert.deepEqual(plain(copy), plain(message));
  });

  it('skipResponseEvents cuts a prefix, decoded or not, the same way', () => {
    fc.assert(
      fc.property(responseArb, fc.nat(), (message, raw) => {
        const skip = message.events.length === 0 ? 0 : raw % (message.events.length + 1);
        const firstSeq = message.firstSeq + skip;
        const decoded = decodeResponse(encodeResponse(message));
        const fromRun = skipResponseEvents(decoded, skip, firstSeq);
        const fromArray = skipResponseEvents(message, skip, firstSeq);
        assert.equal(fromRun.run?.count, message.events.length - skip);
        assert.equal(fromArray.run, undefined);
        assert.equal(fromRun.firstSeq, firstSeq);
        assert.deepEqual(plain(fromRun), plain(fromArray));
        assert.equal(responseEventCount(fromRun), responseEventCount(fromArray));
        assert.equal(responsePayloadBytes(fromRun), responsePayloadBytes(fromArray));
        // The original is untouched.
        assert.equal(decoded.run?.count, message.events.length);
      }),
    );
  });
});
