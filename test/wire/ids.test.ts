// Identities (docs/PROTOCOL.md#identities) against independent vectors, plus the refusal
// rules (key length, NodeId 0) and the hex helpers.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { nodeIdFromDigest } from '../../src/wire/ids.js';
import {
  bytesToHex,
  channelIdEquals,
  channelIdFromHex,
  channelIdFromName,
  channelIdToHex,
  hexToBytes,
  isNodeId,
  NodeIdError,
  nodeIdFromPublicKey,
  nodeIdToHex,
  WireEncodeError,
} from '../../src/wire/index.js';

// Computed independently of this code (keyed BLAKE2s outside this code base).
const RFC8032_TEST1_PUBLIC_KEY = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a';

describe('ChannelId', () => {
  it('matches the independent vectors', () => {
    assert.equal(
      channelIdToHex(channelIdFromName('orders/audit')),
      'cccc2eeca696f391b304dd2f6b15345f0015676c56f68d3f36d3eeaade64dd36',
    );
    assert.equal(
      channelIdToHex(channelIdFromName('test/runtime')),
      'fbcb108dfc2d542e2daf8219cbd1641770fa46e70d4ff01152e9e756ec58ac17',
    );
  });

  it('is 32 bytes, deterministic, and differs between names', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        const idA = channelIdFromName(a);
        assert.equal(idA.length, 32);
        assert.ok(channelIdEquals(idA, channelIdFromName(a)));
        if (a !== b) assert.ok(!channelIdEquals(idA, channelIdFromName(b)));
      }),
    );
  });

  it('hashes the UTF-8 bytes of the name', () => {
    // 'é' precomposed and decomposed are different UTF-8, so different ids.
    assert.ok(!channelIdEquals(channelIdFromName('caf\u00e9'), channelIdFromName('cafe\u0301')));
  });

  it('round-trips through hex and refuses the wrong length', () => {
    const id = channelIdFromName('orders/audit');
    assert.deepEqual(channelIdFromHex(channelIdToHex(id)), id);
    assert.throws(() => channelIdFromHex('abcd'), WireEncodeError);
    assert.throws(() => channelIdToHex(new Uint8Array(31)), WireEncodeError);
    assert.throws(() => channelIdFromName(42 as unknown as string), WireEncodeError);
  });

  it('channelIdEquals compares every byte', () => {
    const id = channelIdFromName('a');
    for (let i = 0; i < 32; i++) {
      const other = id.slice();
      other[i]! ^= 1;
      assert.equal(channelIdEquals(id, other), false, `byte ${i}`);
    }
    assert.equal(channelIdEquals(id, id.subarray(0, 31)), false);
  });
});

describe('NodeId', () => {
  it('matches the independent vector (RFC 8032 test 1 key)', () => {
    const id = nodeIdFromPublicKey(hexToBytes(RFC8032_TEST1_PUBLIC_KEY));
    assert.equal(id, 7291050420889050627n);
    assert.equal(nodeIdToHex(id), '652f03ba688dde03');
  });

  it('refuses a public key that is not 32 bytes', () => {
    for (const length of [0, 31, 33, 64]) {
      assert.throws(
        () => nodeIdFromPublicKey(new Uint8Array(length)),
        (error: unknown) =>
          error instanceof NodeIdError &&
          error.problem === 'public-key-length' &&
          error.code === 'INVALID_ARGUMENT' &&
          error.message.includes(`${length} bytes`),
      );
    }
    assert.throws(() => nodeIdFromPublicKey('key' as unknown as Uint8Array), NodeIdError);
  });

  it('refuses a digest whose first 8 bytes are 0, and reads the rest little-endian', () => {
    const digest = new Uint8Array(32).fill(0xff, 8);
    assert.throws(
      () => nodeIdFromDigest(digest),
      (error: unknown) => error instanceof NodeIdError && error.problem === 'zero',
    );
    digest[0] = 1;
    assert.equal(nodeIdFromDigest(digest), 1n);
    digest[7] = 0x80;
    assert.equal(nodeIdFromDigest(digest), 0x8000_0000_0000_0001n);
  });

  it('isNodeId and nodeIdToHex accept exactly the u64 range without 0', () => {
    assert.equal(isNodeId(0n), false);
    assert.equal(isNodeId(1n), true);
    assert.equal(isNodeId(2n ** 64n - 1n), true);
    assert.equal(isNodeId(2n ** 64n), false);
    assert.equal(isNodeId(5), false);
    assert.equal(nodeIdToHex(1n), '0000000000000001');
    assert.throws(() => nodeIdToHex(0n), WireEncodeError);
  });
});

describe('hex helpers', () => {
  it('round-trip any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array(), (bytes) => {
        const text = bytesToHex(bytes);
        assert.equal(text, Buffer.from(bytes).toString('hex'));
        assert.deepEqual(hexToBytes(text), bytes);
        assert.deepEqual(hexToBytes(text.toUpperCase()), bytes);
      }),
    );
  });

  it('refuse odd lengths and non-hex characters', () => {
    for (const bad of ['a', 'zz', '0g', '00 11', '0x00']) {
      assert.throws(() => hexToBytes(bad), /not an even-length hex string/);
    }
  });
});
