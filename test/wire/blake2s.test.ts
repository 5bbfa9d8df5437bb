// The keyed BLAKE2s of the ids and placement scores must give exactly what @noble/hashes gives
// (every node of a cluster must derive the same ids and replica sets, whatever version it runs).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { blake2s as nobleBlake2s } from '@noble/hashes/blake2.js';
import fc from 'fast-check';
import { blake2s } from '../../src/wire/blake2s.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('blake2s', () => {
  it('gives the RFC 7693 digest of "abc" and the reference keyed digest of the empty input', () => {
    assert.equal(
      hex(blake2s(new TextEncoder().encode('abc'), new Uint8Array(0), 32)),
      '508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982',
    );
    // The reference implementation's keyed test vector 0 (key 00..1f, empty message).
    const key = Uint8Array.from({ length: 32 }, (_, i) => i);
    assert.equal(
      hex(blake2s(new Uint8Array(0), key, 32)),
      '48a8997da407876b3d79c0d92325ad3b89cbb754d86ab71aee047ad345fd2c49',
    );
  });

  it('matches @noble/hashes for any input, key and output length', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.uint8Array({ maxLength: 32 }),
        fc.integer({ min: 1, max: 32 }),
        (input, key, outBytes) => {
          const ours = blake2s(input, key, outBytes);
          // @noble/hashes takes no key as "no key", and refuses an empty one.
          const theirs = nobleBlake2s(
            input,
            key.byteLength === 0 ? { dkLen: outBytes } : { key, dkLen: outBytes },
          );
          assert.equal(hex(ours), hex(theirs));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('refuses a key or an output length out of range', () => {
    assert.throws(() => blake2s(new Uint8Array(1), new Uint8Array(33), 32), RangeError);
    assert.throws(() => blake2s(new Uint8Array(1), new Uint8Array(0), 0), RangeError);
    assert.throws(() => blake2s(new Uint8Array(1), new Uint8Array(0), 33), RangeError);
  });
});
