// The view-free CRC-32C agrees with the native one on every range, short (JavaScript) and long
// (native), at any alignment.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32c } from '@node-rs/crc32';
import fc from 'fast-check';
import { crc32cRange, crc32cRangeOf } from '../../../src/log/disk/crc.js';

test('crc32cRange equals crc32c of the subarray', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 0, maxLength: 1500 }),
      fc.nat(),
      fc.nat(),
      (bytes, a, b) => {
        const start = bytes.length === 0 ? 0 : a % (bytes.length + 1);
        const end = start + (bytes.length - start === 0 ? 0 : b % (bytes.length - start + 1));
        assert.equal(
          crc32cRange(bytes, start, end),
          crc32c(Buffer.from(bytes.subarray(start, end))),
        );
      },
    ),
    { numRuns: 500 },
  );
});

test('crc32cRange on a view into a larger buffer reads only its range', () => {
  const backing = new Uint8Array(4096).map((_, i) => (i * 13) & 0xff);
  const view = backing.subarray(100, 2000);
  for (const [start, end] of [
    [0, 0],
    [0, 20],
    [3, 280],
    [7, 1900],
  ] as const) {
    assert.equal(crc32cRange(view, start, end), crc32c(Buffer.from(view.subarray(start, end))));
  }
});

test('crc32cRangeOf (four bytes at a time through a DataView) equals crc32c of the subarray', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 0, maxLength: 1500 }),
      fc.nat(64),
      fc.nat(),
      fc.nat(),
      (content, shift, a, b) => {
        // The bytes sit at an arbitrary offset of a larger buffer, so words are unaligned.
        const backing = new Uint8Array(shift + content.length + 7).fill(0xa5);
        backing.set(content, shift);
        const bytes = backing.subarray(shift, shift + content.length);
        const data = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        const start = bytes.length === 0 ? 0 : a % (bytes.length + 1);
        const end = start + (bytes.length - start === 0 ? 0 : b % (bytes.length - start + 1));
        assert.equal(
          crc32cRangeOf(bytes, data, start, end),
          crc32c(Buffer.from(bytes.subarray(start, end))),
        );
      },
    ),
    { numRuns: 500 },
  );
});
