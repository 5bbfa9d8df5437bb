// ChainTag (0x24): the codec (round trip, trailing bytes, every truncation, every bad byte, random
// garbage never escaping as anything but ChainTagError, encoder validation) and the holder table
// (announce, withdraw, heartbeat refresh never creating, peer loss, limits, ordering).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  CHAIN_TAG_DISPATCH,
  CHAIN_TAG_HOLDERS_PER_ORIGIN_MAX,
  CHAIN_TAG_ORIGINS_MAX,
  type ChainHolder,
  ChainHolderTable,
  type ChainTag,
  ChainTagError,
  ChainTagLayout,
  compareHolders,
  decodeChainTag,
  encodeChainTag,
  isChainTagFrame,
  MeshError,
} from '../../src/mesh/index.js';
import { DispatchCode, Role } from '../../src/wire/types.js';

const tagArbitrary: fc.Arbitrary<ChainTag> = fc.record({
  kind: fc.constantFrom('announce' as const, 'withdraw' as const),
  originHash: fc.bigInt({ min: 0n, max: 0xffff_ffff_ffff_ffffn }),
  tipSeq: fc.maxSafeNat(),
  role: fc.constantFrom(Role.Leader, Role.Replica, Role.Candidate, Role.Idle),
});

function kindOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof ChainTagError, `expected ChainTagError, got ${String(error)}`);
    return error.kind;
  }
  return 'ok';
}

const sample: ChainTag = {
  kind: 'announce',
  originHash: 0x0102_0304_0506_0708n,
  tipSeq: 2 ** 40 + 5,
  role: Role.Replica,
};

describe('ChainTag codec', () => {
  it('uses the first reserved code, which no replication message uses', () => {
    assert.equal(CHAIN_TAG_DISPATCH, 0x24);
    assert.ok(!(Object.values(DispatchCode) as number[]).includes(CHAIN_TAG_DISPATCH));
  });

  it('encodes 21 bytes at the documented offsets', () => {
    const bytes = encodeChainTag(sample);
    assert.equal(bytes.length, ChainTagLayout.bytes);
    assert.equal(
      Buffer.from(bytes).toString('hex'),
      `000e24${'0807060504030201'}${'0500000000010000'}0101`,
    );
    assert.ok(isChainTagFrame(bytes));
  });

  it('round-trips every valid tag, with or without trailing bytes', () => {
    fc.assert(
      fc.property(tagArbitrary, fc.uint8Array({ maxLength: 16 }), (tag, trailing) => {
        const bytes = encodeChainTag(tag);
        assert.deepEqual(decodeChainTag(bytes), { ...tag });
        const longer = new Uint8Array(bytes.length + trailing.length);
        longer.set(bytes);
        longer.set(trailing, bytes.length);
        assert.deepEqual(decodeChainTag(longer), { ...tag });
      }),
    );
  });

  it('decodes from a view at an offset inside a larger buffer', () => {
    const bytes = encodeChainTag(sample);
    const host = new Uint8Array(bytes.length + 7);
    host.set(bytes, 7);
    assert.deepEqual(decodeChainTag(host.subarray(7)), sample);
  });

  it('refuses every truncation with Truncated', () => {
    const bytes = encodeChainTag(sample);
    for (let length = 0; length < bytes.length; length++) {
      assert.equal(
        kindOf(() => decodeChainTag(bytes.subarray(0, length))),
        'Truncated',
        `${length}`,
      );
    }
  });

  it('refuses a bad header, role, kind or tip with a typed error', () => {
    const good = encodeChainTag(sample);
    const patched = (offset: number, value: number) => {
      const copy = good.slice();
      copy[offset] = value;
      return copy;
    };
    assert.equal(
      kindOf(() => decodeChainTag(patched(1, 0xfe))),
      'SubprotocolMismatch',
    );
    assert.equal(
      kindOf(() => decodeChainTag(patched(2, 0x22))),
      'DispatchMismatch',
    );
    for (let role = 4; role < 256; role++) {
      assert.equal(
        kindOf(() => decodeChainTag(patched(ChainTagLayout.role, role))),
        'BadRole',
      );
    }
    for (const kind of [0, 3, 0x7f, 0xff]) {
      assert.equal(
        kindOf(() => decodeChainTag(patched(ChainTagLayout.kind, kind))),
        'BadKind',
      );
    }
    // tip_seq = 2^53: one past the safe range.
    assert.equal(
      kindOf(() => decodeChainTag(patched(ChainTagLayout.tipSeq + 6, 0x20))),
      'SeqOutOfRange',
    );
    assert.equal(
      kindOf(() => decodeChainTag('nope' as unknown as Uint8Array)),
      'BadInput',
    );
  });

  it('never throws anything but ChainTagError on arbitrary bytes after the header', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (body) => {
        const frame = new Uint8Array(3 + body.length);
        frame.set([0x00, 0x0e, 0x24]);
        frame.set(body, 3);
        // kindOf fails the property on anything thrown that is not a ChainTagError.
        kindOf(() => decodeChainTag(frame));
      }),
      { numRuns: 2000 },
    );
  });

  it('the encoder names the bad field with a BAD_FRAME MeshError', () => {
    const bad: Array<[Partial<ChainTag>, string]> = [
      [{ kind: 'nope' as never }, 'kind'],
      [{ originHash: -1n }, 'originHash'],
      [{ originHash: 1n << 64n }, 'originHash'],
      [{ tipSeq: -1 }, 'tipSeq'],
      [{ tipSeq: 1.5 }, 'tipSeq'],
      [{ tipSeq: 2 ** 53 }, 'tipSeq'],
      [{ role: 4 as never }, 'role'],
    ];
    for (const [patch, field] of bad) {
      assert.throws(
        () => encodeChainTag({ ...sample, ...patch }),
        (error: unknown) =>
          error instanceof MeshError &&
          error.reason === 'BAD_FRAME' &&
          error.message.includes(field),
        field,
      );
    }
  });
});

const P = 0x10n;
const Q = 0x20n;
const tag = (kind: ChainTag['kind'], originHash: bigint, tipSeq: number, role: Role): ChainTag => ({
  kind,
  originHash,
  tipSeq,
  role,
});

describe('ChainHolderTable', () => {
  it('announce adds or replaces, withdraw removes, and an empty channel disappears', () => {
    const table = new ChainHolderTable();
    assert.equal(table.apply(P, tag('announce', 7n, 10, Role.Replica), 1), 'added');
    assert.equal(table.apply(Q, tag('announce', 7n, 12, Role.Leader), 2), 'added');
    assert.equal(table.apply(P, tag('announce', 7n, 11, Role.Leader), 3), 'updated');
    assert.deepEqual(table.holders(7n).sort(compareHolders), [
      { nodeId: Q, role: Role.Leader, tipSeq: 12, seenAtMs: 2, local: false },
      { nodeId: P, role: Role.Leader, tipSeq: 11, seenAtMs: 3, local: false },
    ]);
    assert.equal(table.apply(P, tag('withdraw', 7n, 11, Role.Idle), 4), 'removed');
    assert.equal(table.apply(P, tag('withdraw', 7n, 11, Role.Idle), 5), 'unchanged');
    assert.equal(table.apply(Q, tag('withdraw', 7n, 12, Role.Idle), 6), 'removed');
    assert.equal(table.size, 0);
    table.assertInvariants();
  });

  it('a heartbeat refreshes an announced holder but never creates one', () => {
    const table = new ChainHolderTable();
    assert.equal(table.refresh(P, 7n, Role.Leader, 5, 1), false);
    assert.deepEqual(table.holders(7n), []);
    table.apply(P, tag('announce', 7n, 5, Role.Replica), 1);
    assert.equal(table.refresh(P, 7n, Role.Leader, 9, 2), true);
    assert.deepEqual(table.holders(7n), [
      { nodeId: P, role: Role.Leader, tipSeq: 9, seenAtMs: 2, local: false },
    ]);
  });

  it('forgetPeer drops every entry of one peer', () => {
    const table = new ChainHolderTable();
    for (let origin = 0n; origin < 5n; origin++) {
      table.apply(P, tag('announce', origin, 1, Role.Replica), 1);
    }
    table.apply(Q, tag('announce', 0n, 1, Role.Replica), 1);
    assert.equal(table.forgetPeer(P), 5);
    assert.equal(table.size, 1);
    assert.deepEqual(
      table.holders(0n).map((h) => h.nodeId),
      [Q],
    );
    table.assertInvariants();
  });

  it('is bounded: channels and holders per channel', () => {
    const table = new ChainHolderTable();
    for (let n = 1; n <= CHAIN_TAG_HOLDERS_PER_ORIGIN_MAX; n++) {
      assert.equal(table.apply(BigInt(n), tag('announce', 1n, 0, Role.Replica), 0), 'added');
    }
    assert.equal(table.apply(0xffffn, tag('announce', 1n, 0, Role.Replica), 0), 'table-full');
    for (let origin = 2; origin <= CHAIN_TAG_ORIGINS_MAX; origin++) {
      table.apply(P, tag('announce', BigInt(origin), 0, Role.Replica), 0);
    }
    assert.equal(table.size, CHAIN_TAG_ORIGINS_MAX);
    assert.equal(table.apply(P, tag('announce', 1n << 40n, 0, Role.Replica), 0), 'table-full');
    // An existing channel still takes updates.
    assert.equal(table.apply(P, tag('announce', 2n, 9, Role.Leader), 0), 'updated');
    table.assertInvariants();
  });

  it('orders holders by tip, then recency, then NodeId', () => {
    const holder = (nodeId: bigint, tipSeq: number, seenAtMs: number): ChainHolder => ({
      nodeId,
      role: Role.Replica,
      tipSeq,
      seenAtMs,
      local: false,
    });
    const sorted = [holder(3n, 5, 1), holder(2n, 9, 1), holder(4n, 5, 7), holder(1n, 5, 7)].sort(
      compareHolders,
    );
    assert.deepEqual(
      sorted.map((h) => h.nodeId),
      [2n, 1n, 4n, 3n],
    );
  });
});
