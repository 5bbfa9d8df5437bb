// The backup file on its own: any events round-trip through a file byte for byte, and a flipped
// bit anywhere in the file is refused, never read back as other data.

import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { BackupFormatError, BackupWriter, openBackup } from '../../src/cli/backup/file.js';
import type { BackupEvent } from '../../src/cli/backup/format.js';
import { tempDir } from '../node/helpers.js';
import { redex } from './helpers.js';

async function writeBackup(path: string, channel: string, events: BackupEvent[]): Promise<void> {
  const writer = await BackupWriter.create(path, { channel, firstSeq: events[0]?.seq ?? 0 });
  for (const event of events) await writer.add(event);
  await writer.finish();
}

async function readBackup(path: string): Promise<{ channel: string; events: BackupEvent[] }> {
  const backup = await openBackup(path);
  try {
    const events: BackupEvent[] = [];
    for await (const event of backup.events) events.push(event);
    assert.equal(backup.trailer().count, events.length);
    return { channel: backup.header.channel, events };
  } finally {
    await backup.close();
  }
}

const eventsArbitrary = fc
  .tuple(
    fc.integer({ min: 0, max: 2 ** 40 }),
    fc.array(
      fc.record({
        timestampNs: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
        payload: fc.uint8Array({ maxLength: 3000 }),
      }),
      { maxLength: 40 },
    ),
  )
  .map(([firstSeq, items]) => items.map((item, index) => ({ seq: firstSeq + index, ...item })));

describe('backup file', () => {
  let dir: { path: string; remove: () => Promise<void> };
  before(async () => {
    dir = await tempDir('backup-format');
  });
  after(() => dir.remove());

  test('any events round-trip byte for byte', async () => {
    const path = join(dir.path, 'round-trip.rdxbak');
    await fc.assert(
      fc.asyncProperty(
        eventsArbitrary,
        fc.constantFrom('a', 'orders/audit', 'x'.repeat(255)),
        async (events, channel) => {
          await writeBackup(path, channel, events);
          const read = await readBackup(path);
          assert.equal(read.channel, channel);
          assert.deepEqual(
            read.events.map((event) => ({ ...event, payload: Buffer.from(event.payload) })),
            events.map((event) => ({ ...event, payload: Buffer.from(event.payload) })),
          );
        },
      ),
      { numRuns: 40 },
    );
  });

  test('a flipped bit anywhere is refused', async () => {
    const good = join(dir.path, 'good.rdxbak');
    const bad = join(dir.path, 'flipped.rdxbak');
    await fc.assert(
      fc.asyncProperty(
        eventsArbitrary,
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        async (events, position, bit) => {
          await writeBackup(good, 'orders/audit', events);
          const bytes = await readFile(good);
          const at = position % bytes.byteLength;
          bytes[at] = (bytes[at] ?? 0) ^ (1 << bit);
          await writeFile(bad, bytes);
          await assert.rejects(readBackup(bad), BackupFormatError, `byte ${at} bit ${bit}`);
        },
      ),
      { numRuns: 60 },
    );
  });

  test('backup and restore have help', async () => {
    for (const command of ['backup', 'restore']) {
      const result = await redex([command, '--help']);
      assert.equal(result.code, 0);
      assert.match(result.stdout, new RegExp(`^Usage: redex ${command} `));
    }
  });
});
