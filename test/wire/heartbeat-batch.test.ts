// HeartbeatBatch (0x28): round trips against the single-heartbeat codec, the byte-copy assembly
// the coalescing dispatcher uses, and typed rejection of malformed or oversized batches.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  batchFromHeartbeatFrames,
  decodeAnyMessage,
  decodeHeartbeatBatch,
  encodeHeartbeat,
  encodeHeartbeatBatch,
  isHeartbeatBatch,
} from '../../src/wire/codec.js';
import { channelIdFromName } from '../../src/wire/ids.js';
import {
  DispatchCode,
  HEARTBEAT_BATCH_MAX,
  HeartbeatBatchLayout,
  Role,
  type SyncHeartbeat,
  WireEncodeError,
} from '../../src/wire/index.js';
import { heartbeatArb } from './arbitraries.js';
import { assertWireError, valueOrWireError } from './helpers.js';

const batchArb = fc.array(heartbeatArb, { minLength: 1, maxLength: 40 });

function heartbeat(index: number, quorum: boolean): SyncHeartbeat {
  const channelId = new Uint8Array(32).fill(index % 256);
  const base = {
    kind: 'heartbeat' as const,
    channelId,
    tailSeq: index,
    role: Role.Replica,
    wallClockMs: 1_000 + index,
  };
  return quorum ? { ...base, quorum: { epoch: 3, lastEpoch: 2, commitSeq: index } } : base;
}

describe('HeartbeatBatch codec', () => {
  it('round-trips any batch, entry for entry equal to the single heartbeats', () => {
    fc.assert(
      fc.property(batchArb, (messages) => {
        const frame = encodeHeartbeatBatch(messages);
        assert.equal(frame[2], DispatchCode.HeartbeatBatch);
        assert.ok(isHeartbeatBatch(frame));
        assert.deepEqual(decodeHeartbeatBatch(frame), messages);
      }),
      { numRuns: 200 },
    );
  });

  it('assembling encoded single heartbeats yields the same bytes as encoding the batch', () => {
    fc.assert(
      fc.property(batchArb, (messages) => {
        const assembled = batchFromHeartbeatFrames(messages.map(encodeHeartbeat));
        assert.deepEqual(assembled, encodeHeartbeatBatch(messages));
      }),
      { numRuns: 200 },
    );
  });

  it('lays out the documented sizes: 5-byte head, 50-byte entries, 74 with the epoch group', () => {
    const frame = encodeHeartbeatBatch([heartbeat(1, false), heartbeat(2, true)]);
    assert.equal(HeartbeatBatchLayout.entries, 5);
    assert.equal(frame.length, 5 + 50 + 74);
    assert.equal(frame[3], 2); // count, little-endian
    assert.equal(frame[4], 0);
  });

  it('ignores bytes after the last entry', () => {
    const frame = encodeHeartbeatBatch([heartbeat(7, true)]);
    const longer = new Uint8Array(frame.length + 9);
    longer.set(frame);
    assert.deepEqual(decodeHeartbeatBatch(longer), [heartbeat(7, true)]);
  });

  it('is not one of the per-channel messages', () => {
    const frame = encodeHeartbeatBatch([heartbeat(1, false)]);
    assertWireError(() => decodeAnyMessage(frame), 'UnknownDispatch');
  });

  it('refuses a count of 0 or above the limit, before reading any entry', () => {
    const frame = encodeHeartbeatBatch([heartbeat(1, false)]);
    const zero = frame.slice();
    zero[3] = 0;
    const error = assertWireError(() => decodeHeartbeatBatch(zero), 'BadBatchCount');
    assert.deepEqual(error.detail, { kind: 'BadBatchCount', count: 0, max: HEARTBEAT_BATCH_MAX });
    const huge = frame.slice();
    new DataView(huge.buffer).setUint16(3, HEARTBEAT_BATCH_MAX + 1, true);
    assertWireError(() => decodeHeartbeatBatch(huge), 'BadBatchCount');
  });

  it('refuses a count the frame cannot hold as Truncated (no allocation from the count)', () => {
    const frame = encodeHeartbeatBatch([heartbeat(1, false), heartbeat(2, false)]);
    new DataView(frame.buffer).setUint16(3, 1000, true);
    const error = assertWireError(() => decodeHeartbeatBatch(frame), 'Truncated');
    assert.deepEqual(error.detail, {
      kind: 'Truncated',
      needed: 5 + 1000 * 50,
      available: frame.length,
    });
  });

  it('refuses a cut epoch group, a bad role, undefined flags and unsafe seqs', () => {
    const withGroup = encodeHeartbeatBatch([heartbeat(1, false), heartbeat(2, true)]);
    assertWireError(
      () => decodeHeartbeatBatch(withGroup.subarray(0, withGroup.length - 1)),
      'Truncated',
    );
    const role = encodeHeartbeatBatch([heartbeat(1, false)]);
    role[5 + 40] = 4;
    assertWireError(() => decodeHeartbeatBatch(role), 'BadRole');
    const flags = encodeHeartbeatBatch([heartbeat(1, false)]);
    flags[5 + 49] = 0b10;
    assertWireError(() => decodeHeartbeatBatch(flags), 'BadFlags');
    const unsafe = encodeHeartbeatBatch([heartbeat(1, false)]);
    new DataView(unsafe.buffer).setBigUint64(5 + 32, 2n ** 60n, true);
    assertWireError(() => decodeHeartbeatBatch(unsafe), 'SeqOutOfRange');
    assertWireError(() => decodeHeartbeatBatch(withGroup.subarray(0, 4)), 'Truncated');
    const other = encodeHeartbeat(heartbeat(1, false));
    assertWireError(() => decodeHeartbeatBatch(other), 'DispatchMismatch');
  });

  it('decodes hostile bytes to a value or a WireError, never anything else', () => {
    fc.assert(
      fc.property(batchArb, fc.array(fc.tuple(fc.nat(), fc.nat(255))), (messages, edits) => {
        const frame = encodeHeartbeatBatch(messages);
        for (const [at, value] of edits) frame[at % frame.length] = value;
        const cut = frame.subarray(0, (edits[0]?.[0] ?? frame.length) % (frame.length + 1));
        valueOrWireError(() => decodeHeartbeatBatch(frame));
        valueOrWireError(() => decodeHeartbeatBatch(cut));
      }),
      { numRuns: 300 },
    );
  });

  it('the encoder refuses an empty or oversized batch and names a bad entry', () => {
    assert.throws(() => encodeHeartbeatBatch([]), WireEncodeError);
    const many = Array.from({ length: HEARTBEAT_BATCH_MAX + 1 }, () => heartbeat(1, false));
    assert.throws(() => encodeHeartbeatBatch(many), WireEncodeError);
    assert.throws(
      () => encodeHeartbeatBatch([heartbeat(1, false), { ...heartbeat(2, false), tailSeq: -1 }]),
      (error: unknown) =>
        error instanceof WireEncodeError && error.field === 'heartbeats[1].tailSeq',
    );
    assert.throws(() => batchFromHeartbeatFrames([]), WireEncodeError);
    assert.throws(() => batchFromHeartbeatFrames([new Uint8Array(52)]), WireEncodeError);
  });
});

describe('docs/PROTOCOL.md HeartbeatBatch', () => {
  const doc = readFileSync(new URL('../../docs/PROTOCOL.md', import.meta.url), 'utf8');

  it('the example is the encoding of the two heartbeats it describes', () => {
    const block = /^```hexbatch heartbeat-batch\n([\s\S]*?)^```$/m.exec(doc)?.[1];
    assert.ok(block !== undefined, 'no ```hexbatch heartbeat-batch block');
    const bytes = block
      .split('\n')
      .map((line) => line.split('#')[0]!.trim())
      .filter((code) => code !== '')
      .join(' ');
    const messages: SyncHeartbeat[] = [
      {
        kind: 'heartbeat',
        channelId: channelIdFromName('orders/audit'),
        tailSeq: 1000,
        role: Role.Leader,
        wallClockMs: 1_764_115_200_000,
        quorum: { epoch: 7, lastEpoch: 7, commitSeq: 998 },
      },
      {
        kind: 'heartbeat',
        channelId: channelIdFromName('orders/audit-2'),
        tailSeq: 5,
        role: Role.Replica,
        wallClockMs: 1_764_115_200_000,
      },
    ];
    const encoded = encodeHeartbeatBatch(messages);
    assert.equal(bytes, Buffer.from(encoded).toString('hex').match(/../g)!.join(' '));
    assert.deepEqual(decodeHeartbeatBatch(encoded), messages);
  });

  it('the entry table matches the layout', () => {
    const section = doc.split(/^## /m).find((part) => part.startsWith('HeartbeatBatch'));
    assert.ok(section !== undefined);
    const offsets = new Map<string, number>();
    for (const line of section.split('\n')) {
      const cells = line.split('|').map((cell) => cell.trim());
      if (/^\d+$/.test(cells[1] ?? '')) offsets.set(cells[3]!, Number(cells[1]));
    }
    assert.equal(offsets.get('count'), HeartbeatBatchLayout.count);
    assert.equal(offsets.get('tail_seq'), HeartbeatBatchLayout.tailSeq);
    assert.equal(offsets.get('role'), HeartbeatBatchLayout.role);
    assert.equal(offsets.get('wall_clock_ms'), HeartbeatBatchLayout.wallClockMs);
    assert.equal(offsets.get('flags'), HeartbeatBatchLayout.flags);
    assert.equal(offsets.get('epoch'), HeartbeatBatchLayout.epoch);
    assert.equal(offsets.get('commit_seq'), HeartbeatBatchLayout.commitSeq);
    assert.equal(offsets.get('_end_'), HeartbeatBatchLayout.quorumEntryBytes);
    assert.match(doc, /^\| `0x28` +\| HeartbeatBatch/m);
  });
});
