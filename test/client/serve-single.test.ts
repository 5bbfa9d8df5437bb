// RedexClient against one real `redex serve` process: create a channel, append one event and a
// batch (text and binary), read the range back in pages, and tail it: history first, then an
// event appended while the tail waits. The process is stopped whatever happens.

import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RedexClient, RedexClientError } from '../../src/client/index.js';
import { RedexProcess } from '../cli/helpers.js';
import { tempDir } from '../node/helpers.js';

const SERVING = /serving (http:\/\/127\.0\.0\.1:\d+)/;
const CHANNEL = 'client/solo';
const text = new TextDecoder();

describe('RedexClient against redex serve (one node)', { timeout: 60_000 }, () => {
  let dir: { path: string; remove: () => Promise<void> };
  let node: RedexProcess;
  let client: RedexClient;

  before(async () => {
    dir = await tempDir('client-solo');
    const config = join(dir.path, 'node.json');
    await writeFile(
      config,
      JSON.stringify({
        node: 'solo',
        dataDir: 'data',
        http: { listen: '127.0.0.1:0' },
        logLevel: 'warn',
      }),
    );
    node = new RedexProcess(['serve', '--config', config]);
    const [, url] = await node.waitForStdout(SERVING, 'the node serving');
    client = new RedexClient({ nodes: url! });
  });
  after(async () => {
    await client?.close();
    node?.kill();
    await node?.exited;
    await dir?.remove();
  });

  test('create, append, read in pages', async () => {
    const created = await client.createChannel(CHANNEL, { file: { fsync: 'always' } });
    assert.equal(created.created, true);
    assert.equal(
      (await client.createChannel(CHANNEL, { file: { fsync: 'always' } })).created,
      false,
    );
    assert.equal(await client.append(CHANNEL, 'zero'), 0);
    const binary = new Uint8Array([0, 255, 128, 10]);
    assert.deepEqual(await client.append(CHANNEL, ['one', binary, 'three']), [1, 2, 3]);
    const batch = Array.from({ length: 20 }, (_, i) => `b${i}`);
    assert.deepEqual(await client.append(CHANNEL, batch), [
      ...Array.from({ length: 20 }, (_, i) => 4 + i),
    ]);
    const events = [];
    for await (const event of client.read(CHANNEL, { pageSize: 7 })) events.push(event);
    assert.deepEqual(
      events.map((event) => event.seq),
      Array.from({ length: 24 }, (_, i) => i),
    );
    assert.equal(text.decode(events[0]!.payload), 'zero');
    assert.deepEqual([...events[2]!.payload], [...binary]);
    assert.equal(text.decode(events[23]!.payload), 'b19');
    assert.ok(events[0]!.timestampNs > 0n);
    const page = await client.readPage(CHANNEL, { from: 22 });
    assert.deepEqual(
      { seqs: page.events.map((event) => event.seq), next: page.next, nextSeq: page.nextSeq },
      { seqs: [22, 23], next: 24, nextSeq: 24 },
    );
    assert.equal((await client.channel(CHANNEL)).nextSeq, 24);
    assert.equal((await client.status()).node.name, 'solo');
  });

  test('tail: history, then a live event', async () => {
    const tail = client.tail(CHANNEL, { from: 22 });
    const seen: string[] = [];
    for await (const event of tail) {
      seen.push(`${event.seq}:${text.decode(event.payload)}`);
      if (event.seq === 23) {
        // The tail is open and caught up: the next event arrives live.
        await client.append(CHANNEL, 'live');
      }
      if (event.seq === 24) break;
    }
    assert.deepEqual(seen, ['22:b18', '23:b19', '24:live']);
  });

  test('guarded appends and deleting a channel, against the real routes', async () => {
    const guarded = 'client/guarded';
    await client.createChannel(guarded);
    assert.equal(await client.append(guarded, 'first', { ifNextSeq: 0 }), 0);
    await assert.rejects(client.append(guarded, 'stale', { ifNextSeq: 0 }), (error: unknown) => {
      assert.ok(error instanceof RedexClientError);
      assert.equal(error.code, 'SEQ_MISMATCH');
      assert.equal(error.status, 409);
      assert.equal(error.outcome, 'none', 'a refused guard wrote nothing');
      return true;
    });
    assert.equal(await client.append(guarded, 'second', { ifNextSeq: 1 }), 1);
    await client.deleteChannel(guarded);
    await assert.rejects(client.channel(guarded), (error: unknown) => {
      assert.ok(error instanceof RedexClientError);
      assert.equal(error.code, 'CHANNEL_NOT_FOUND');
      return true;
    });
    await assert.rejects(client.deleteChannel(guarded), { code: 'CHANNEL_NOT_FOUND' });
  });
});
