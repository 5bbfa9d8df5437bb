import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { blake2s } from '@noble/hashes/blake2.js';
import fc from 'fast-check';
import { channelId, ids } from './helpers.js';
import {
  type NodeId,
  placeReplicas,
  RedexError,
  rendezvousScore,
  resolveReplicationConfig,
  standardPlacement,
} from './imports.js';

/** Reference score written from the description: keyed BLAKE2s(channel ‖ u64le(node)), first 8 bytes LE. */
function referenceScore(channel: Uint8Array, node: bigint): bigint {
  const bytes = new Uint8Array(40);
  bytes.set(channel);
  for (let i = 0; i < 8; i++) bytes[32 + i] = Number((node >> BigInt(8 * i)) & 0xffn);
  const digest = blake2s(bytes, { key: new TextEncoder().encode('redex-placement-v1'), dkLen: 32 });
  let value = 0n;
  for (let i = 7; i >= 0; i--) value = (value << 8n) | BigInt(digest[i]!);
  return value;
}

function referencePlacement(channel: Uint8Array, members: bigint[], factor: number): bigint[] {
  return [...new Set(members)]
    .map((id) => ({ id, score: referenceScore(channel, id) }))
    .sort((a, b) => (a.score === b.score ? (a.id < b.id ? -1 : 1) : a.score > b.score ? -1 : 1))
    .slice(0, factor)
    .map((x) => x.id);
}

const members = fc.uniqueArray(fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }), { maxLength: 20 });
const channel = fc.uint8Array({ minLength: 32, maxLength: 32 });

describe('placement', () => {
  it('scores with keyed BLAKE2s of (channel id, node id)', () => {
    const cid = channelId(9);
    for (const node of [1n, 2n, 0xffff_ffff_ffff_ffffn, 7291050420889050627n]) {
      assert.equal(rendezvousScore(cid, node), referenceScore(cid, node));
    }
    assert.notEqual(rendezvousScore(channelId(1), 5n), rendezvousScore(channelId(2), 5n));
  });

  it('pinned placement is the configured list, whatever the membership', () => {
    const config = resolveReplicationConfig({ placement: { pinned: [9n, 4n] } });
    assert.deepEqual(placeReplicas(channelId(1), ids(1, 2, 3), config), [9n, 4n]);
  });

  it('standard placement takes the top-factor members by score', () => {
    const cid = channelId(3);
    const all = ids(11, 22, 33, 44, 55, 66, 77);
    const config = resolveReplicationConfig({ factor: 3 });
    const placed = placeReplicas(cid, all, config);
    assert.equal(placed.length, 3);
    assert.deepEqual(placed, referencePlacement(cid, all, 3));
    const scores = placed.map((id) => rendezvousScore(cid, id));
    const others = all.filter((id) => !placed.includes(id)).map((id) => rendezvousScore(cid, id));
    assert.ok(Math.min(...scores.map(Number)) >= Math.max(...others.map(Number)));
  });

  it('fewer members than factor places all of them; duplicates collapse', () => {
    const placed = standardPlacement(channelId(4), ids(5, 6, 5), 3);
    assert.deepEqual([...placed].sort(), ids(5, 6));
  });

  it('rejects NodeId 0 and non-u64 members', () => {
    assert.throws(() => standardPlacement(channelId(4), [1n, 0n], 3), RedexError);
    assert.throws(() => standardPlacement(channelId(4), [1n << 64n], 3), RedexError);
  });

  it('property: every node computes the same set whatever order it lists the membership in', () => {
    fc.assert(
      fc.property(
        channel,
        members,
        fc.integer({ min: 1, max: 16 }),
        fc.nat(),
        (cid, list, factor, seed) => {
          const shuffled = [...list].sort((a, b) =>
            Number(((a ^ BigInt(seed)) % 97n) - ((b ^ BigInt(seed)) % 97n)),
          );
          const a = standardPlacement(cid, list, factor);
          const b = standardPlacement(cid, shuffled, factor);
          assert.deepEqual(a, b);
          assert.deepEqual(a, referencePlacement(cid, list, factor));
          assert.equal(a.length, Math.min(factor, list.length));
        },
      ),
    );
  });

  it('property: removing a member that was not placed changes nothing', () => {
    fc.assert(
      fc.property(channel, members, fc.integer({ min: 1, max: 5 }), (cid, list, factor) => {
        const placed = standardPlacement(cid, list, factor);
        const outsider = list.find((id) => !placed.includes(id));
        fc.pre(outsider !== undefined);
        const without = list.filter((id: NodeId) => id !== outsider);
        assert.deepEqual(standardPlacement(cid, without, factor), placed);
      }),
    );
  });
});
