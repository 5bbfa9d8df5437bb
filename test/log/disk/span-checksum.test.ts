// Reads past the cache check a whole read chunk's records with one checksum call (the span's
// checksum combined from the stored ones, format.ts): it must accept exactly what the check of
// each record accepts, and a damaged bit anywhere in a record must still be CORRUPT naming that
// record's seq.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crc32c } from '@node-rs/crc32';
import fc from 'fast-check';
import { crc32cShift } from '../../../src/log/disk/crc.js';
import { type DiskReadPlan, readDisk } from '../../../src/log/disk/disk-read.js';
import {
  encodeUnsealedRecords,
  INDEX_ENTRY_BYTES,
  RECORD_HEADER_BYTES,
  sealRecords,
} from '../../../src/log/disk/format.js';
import type { Generation } from '../../../src/log/disk/generation.js';
import { CorruptError, RedexErrorCode } from '../../../src/log/errors.js';

/** Records of `payloads` from seq `firstSeq`, as they lie in a data file from offset 0. */
function records(payloads: readonly Uint8Array[], firstSeq: number): Buffer {
  const bytes = encodeUnsealedRecords(payloads, 123_456_789n);
  sealRecords(bytes, firstSeq, 0, new Uint8Array(payloads.length * INDEX_ENTRY_BYTES), 0);
  return bytes;
}

function planOf(payloads: readonly Uint8Array[], firstSeq: number): DiskReadPlan {
  const offsets = new Float64Array(payloads.length);
  let at = 0;
  payloads.forEach((payload, i) => {
    offsets[i] = at;
    at += RECORD_HEADER_BYTES + payload.byteLength;
  });
  return { start: firstSeq, offsets, endOffset: at };
}

/** A generation whose data file is `file` (only what `readDisk` uses). */
function generationOf(file: Uint8Array): Generation {
  const data = {
    async read(into: Uint8Array, position: number): Promise<number> {
      const available = Math.max(0, Math.min(into.byteLength, file.byteLength - position));
      into.set(file.subarray(position, position + available));
      return available;
    },
  };
  return { data, dataPath: '/x/0000000001.dat' } as unknown as Generation;
}

const payloads = fc.array(
  fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ minLength: 100, maxLength: 700 })),
  { minLength: 1, maxLength: 40 },
);

describe('span checksum', () => {
  it('crc32cShift combines: crc(A‖B) = shift(crc(A), |B|) ⊕ crc(B)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.uint8Array({ maxLength: 600 }), (a, b) => {
        const joint = crc32c(Buffer.concat([a, b]));
        const combined =
          (crc32cShift(crc32c(Buffer.from(a)), b.length) ^ crc32c(Buffer.from(b))) >>> 0;
        assert.equal(combined, joint);
      }),
      { numRuns: 300 },
    );
  });

  it('intact records read back as they were written', async () => {
    await fc.assert(
      fc.asyncProperty(payloads, fc.nat(1 << 30), async (list, firstSeq) => {
        const file = records(list, firstSeq);
        const events = await readDisk(generationOf(file), planOf(list, firstSeq));
        assert.deepEqual(
          events.map((event) => [event.seq, Buffer.from(event.payload).toString('hex')]),
          list.map((payload, i) => [firstSeq + i, Buffer.from(payload).toString('hex')]),
        );
        for (const event of events) assert.equal(event.timestampNs, 123_456_789n);
      }),
      { numRuns: 200 },
    );
  });

  it('one flipped bit anywhere is CORRUPT, naming the record that holds it', async () => {
    await fc.assert(
      fc.asyncProperty(payloads, fc.nat(), fc.nat(7), async (list, where, bit) => {
        const file = records(list, 5);
        const plan = planOf(list, 5);
        const position = where % file.byteLength;
        file[position]! ^= 1 << bit;
        let holder = 0;
        while (holder + 1 < list.length && plan.offsets[holder + 1]! <= position) holder++;
        await assert.rejects(readDisk(generationOf(file), plan), (error: CorruptError) => {
          return (
            error instanceof CorruptError &&
            error.code === RedexErrorCode.Corrupt &&
            error.seq === 5 + holder
          );
        });
      }),
      { numRuns: 300 },
    );
  });

  it('records of batches with different timestamps keep their own', async () => {
    const stamps = [1n, 1n + (1n << 32n), -5n, 1n];
    const list = Array.from({ length: 4 }, (_, i) => new Uint8Array(40).fill(i));
    const file = Buffer.concat(
      stamps.map((stamp, i) => {
        const bytes = encodeUnsealedRecords([list[i]!], stamp);
        sealRecords(bytes, i, 0, new Uint8Array(INDEX_ENTRY_BYTES), 0);
        return bytes;
      }),
    );
    const events = await readDisk(generationOf(file), planOf(list, 0));
    assert.deepEqual(
      events.map((event) => event.timestampNs),
      stamps,
    );
  });

  it('two damaged records: the first is named', async () => {
    const list = Array.from({ length: 10 }, (_, i) => new Uint8Array(50).fill(i));
    const file = records(list, 0);
    const plan = planOf(list, 0);
    file[plan.offsets[7]! + RECORD_HEADER_BYTES + 3]! ^= 0x10;
    file[plan.offsets[2]! + RECORD_HEADER_BYTES + 9]! ^= 0x01;
    await assert.rejects(readDisk(generationOf(file), plan), (error: CorruptError) => {
      return error.seq === 2;
    });
  });

  it('records that do not lie back to back are checked one by one', async () => {
    // A gap of stray bytes between records 1 and 2 (as if the plan skipped one): still read.
    const list = [new Uint8Array(30).fill(1), new Uint8Array(200).fill(2)];
    const first = records([list[0]!, list[1]!], 0);
    const second = records([new Uint8Array(10).fill(3)], 2);
    const file = Buffer.concat([first, Buffer.from([9, 9, 9]), second]);
    const plan: DiskReadPlan = {
      start: 0,
      offsets: new Float64Array([0, RECORD_HEADER_BYTES + 30, first.byteLength + 3]),
      endOffset: file.byteLength,
    };
    const events = await readDisk(generationOf(file), plan);
    assert.deepEqual(
      events.map((event) => event.payload[0]),
      [1, 2, 3],
    );
  });
});
