// A tail from 0 over a million events, in memory and on disk: every event arrives once, in order,
// and the memory the tail costs stays flat (one page), whatever the length of the history.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { RedexFile } from '../../src/log/redex-file.js';
import { openPersistent, tempDir } from './disk/helpers.js';
import { openMemoryFile } from './helpers.js';

const EVENTS = 1_000_000;
const BATCH = 10_000;
const PAYLOAD_BYTES = 16;
/** Generous: the tail holds one 1 MiB page; the rest is the test's own garbage between collections. */
const GROWTH_BYTES_MAX = 48 * 1024 * 1024;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function used(): number {
  gc();
  const memory = process.memoryUsage();
  return memory.heapUsed + memory.arrayBuffers;
}

async function fill(file: RedexFile): Promise<void> {
  // Appends copy their payloads, so one set of buffers is rewritten for every batch.
  const batch = Array.from({ length: BATCH }, () => new Uint8Array(PAYLOAD_BYTES));
  const views = batch.map((payload) => new DataView(payload.buffer));
  for (let start = 0; start < EVENTS; start += BATCH) {
    for (let index = 0; index < BATCH; index++) views[index]!.setUint32(0, start + index);
    await file.appendBatch(batch);
  }
}

async function tailAll(file: RedexFile): Promise<void> {
  const baseline = used();
  let peak = 0;
  let expected = 0;
  const tail = file.tail({ fromSeq: 0 });
  for await (const event of tail) {
    if (event.seq !== expected) assert.fail(`seq ${event.seq} arrived where ${expected} was due`);
    if (new DataView(event.payload.buffer, event.payload.byteOffset).getUint32(0) !== expected)
      assert.fail(`payload of seq ${expected} is wrong`);
    expected++;
    if (expected % 200_000 === 0) peak = Math.max(peak, used() - baseline);
    if (expected === EVENTS) break;
  }
  assert.equal(expected, EVENTS);
  assert.ok(peak < GROWTH_BYTES_MAX, `memory grew by ${peak} bytes while tailing`);
}

describe('a tail over 1,000,000 events', () => {
  test('in memory: all in order, flat memory', async () => {
    const { file } = await openMemoryFile();
    await fill(file);
    await tailAll(file);
    await file.close();
  });

  test('on disk: all in order, flat memory', async () => {
    const { file, redex } = await openPersistent(tempDir(), { cacheBytes: 1 << 20 });
    await fill(file);
    await tailAll(file);
    await redex.close();
  });
});
