// The cache's view-free pushes: `pushFrom` copies a range of a larger buffer, `adoptArena` +
// `pushAdopted` keep a sealed batch as an arena without copying. Both mix with `push`, eviction
// and truncation, and hand out plain Uint8Array views.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryStore } from '../../src/log/memory-store.js';

const bytesOf = (seed: number, length: number) =>
  Uint8Array.from({ length }, (_, i) => (seed * 31 + i) & 0xff);

test('pushFrom copies the range (short and long payloads); the source may change afterwards', () => {
  const store = new MemoryStore(10);
  const source = new Uint8Array(1000).map((_, i) => i & 0xff);
  assert.equal(store.pushFrom(source, 5, 10, 1n), 10);
  assert.equal(store.pushFrom(source, 100, 700, 2n), 11);
  assert.equal(store.pushFrom(source, 0, 0, 3n), 12);
  const expected = [source.slice(5, 15), source.slice(100, 800), new Uint8Array(0)];
  source.fill(0);
  store.assertInvariants();
  assert.deepEqual(
    store.readEvents(10, 13).map((event) => event.payload),
    expected,
  );
  assert.equal(store.timestampAt(11), 2n);
});

test('adopted arenas hold payloads in place, mixed with copies, through eviction and truncation', () => {
  const store = new MemoryStore();
  const model: Uint8Array[] = [];
  store.push(bytesOf(1, 40), 0n);
  model.push(bytesOf(1, 40));
  const batch = Buffer.alloc(3 * 50);
  for (let i = 0; i < 3; i++) batch.set(bytesOf(10 + i, 30), i * 50 + 20);
  store.adoptArena(batch);
  for (let i = 0; i < 3; i++) {
    store.pushAdopted(i * 50 + 20, 30, BigInt(i));
    model.push(bytesOf(10 + i, 30));
  }
  store.push(bytesOf(2, 25), 0n);
  model.push(bytesOf(2, 25));
  store.assertInvariants();
  const events = store.readEvents(0, store.nextSeq);
  assert.deepEqual(
    events.map((event) => event.payload),
    model,
  );
  for (const event of events)
    assert.equal(Object.getPrototypeOf(event.payload), Uint8Array.prototype, 'no Buffer views');
  assert.equal(store.payloadAt(2).buffer, batch.buffer, 'adopted, not copied');

  store.evictPrefix(2);
  store.assertInvariants();
  assert.deepEqual(
    store.readEvents(2, store.nextSeq).map((event) => event.payload),
    model.slice(2),
  );
  store.truncateFrom(3);
  store.assertInvariants();
  assert.deepEqual(store.readEvents(2, 3)[0]!.payload, model[2]);
  store.truncateFrom(2);
  store.adoptArena(Buffer.from(bytesOf(7, 16)));
  store.pushAdopted(0, 16, 0n);
  store.assertInvariants();
  assert.deepEqual(store.payloadAt(2), bytesOf(7, 16));
});

test('readEvents gives each event its own timestamp across runs of equal ones, after eviction too', () => {
  const store = new MemoryStore(0);
  // Equal low words, different high words, and a negative one: none may be taken for another.
  const stamps = [5n, 5n, 5n, 5n + (1n << 32n), 5n + (1n << 32n), -1n, -1n, 7n, 5n, 0n];
  for (let i = 0; i < 200; i++) store.push(bytesOf(i, 3), stamps[Math.floor(i / 20)]!);
  store.evictPrefix(13);
  const events = store.readEvents(0, 200);
  assert.equal(events.length, 187);
  for (const event of events) assert.equal(event.timestampNs, stamps[Math.floor(event.seq / 20)]);
});
