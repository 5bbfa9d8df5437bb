// LocalNodeService: the single-node NodeService. Channel creation (idempotent, conflicting,
// concurrent, remembered in the registry), appends and reads, tails, status, the retention
// sweep in virtual time, change notifications, and shutdown (writes in flight finish, new ones
// are refused, persistent data survives).

import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Redex } from '../../src/log/redex.js';
import { ChannelRegistry, REGISTRY_FILE } from '../../src/node/channel-registry.js';
import type { ChannelSpec } from '../../src/node/channel-spec.js';
import { NodeError, NodeErrorCode } from '../../src/node/errors.js';
import { LocalNodeService } from '../../src/node/local-service.js';
import { PID_FILE, PidLock } from '../../src/node/pid-lock.js';
import { settle, VirtualClock } from '../../src/time/virtual-clock.js';
import { memorySpec, tempDir, withTimeout } from './helpers.js';

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (payload: Uint8Array) => new TextDecoder().decode(payload);

function memoryService(options: { clock?: VirtualClock; retentionSweepMs?: number } = {}) {
  const redex = new Redex(options.clock ? { clock: options.clock } : {});
  const service = new LocalNodeService({
    name: 'node-a',
    redex,
    ...(options.retentionSweepMs ? { retentionSweepMs: options.retentionSweepMs } : {}),
  });
  return { redex, service };
}

function isNodeError(code: string) {
  return (error: unknown) => {
    assert.ok(error instanceof NodeError, `expected NodeError ${code}, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  };
}

describe('channels', () => {
  test('create is idempotent for the same spec and CHANNEL_EXISTS for another', async () => {
    const { service } = memoryService();
    const first = await service.createChannel(memorySpec('orders/audit'));
    assert.equal(first.created, true);
    assert.equal(first.channel.name, 'orders/audit');
    assert.equal(first.channel.role, 'standalone');
    assert.deepEqual(first.channel.leader, { name: 'node-a', nodeId: null });
    const again = await service.createChannel(memorySpec('orders/audit'));
    assert.equal(again.created, false);
    await assert.rejects(
      service.createChannel({
        ...memorySpec('orders/audit'),
        file: { persistent: false, tailBufferSize: 5 },
      }),
      isNodeError(NodeErrorCode.ChannelExists),
    );
    await assert.rejects(
      service.createChannel({ ...memorySpec('orders/audit'), replication: { factor: 3 } }),
      isNodeError(NodeErrorCode.ChannelExists),
    );
    await service.shutdown();
  });

  test('concurrent creates of one name open it once', async () => {
    const { service } = memoryService();
    const results = await Promise.all([1, 2, 3].map(() => service.createChannel(memorySpec('a'))));
    assert.deepEqual(results.map((result) => result.created).sort(), [false, false, true]);
    await service.shutdown();
  });

  test('an unknown channel is CHANNEL_NOT_FOUND everywhere', async () => {
    const { service } = memoryService();
    const notFound = isNodeError(NodeErrorCode.ChannelNotFound);
    await assert.rejects(service.channel('nope'), notFound);
    await assert.rejects(service.append('nope', [bytes('x')]), notFound);
    await assert.rejects(
      service.read('nope', { fromSeq: 0, toSeq: null, maxEvents: 1, maxBytes: 1 }),
      notFound,
    );
    await assert.rejects(service.tail('nope', 0), notFound);
    await service.shutdown();
  });

  test('replicas > 0 is UNAVAILABLE on a single node', async () => {
    const { service } = memoryService();
    await service.createChannel(memorySpec('a'));
    await assert.rejects(
      service.append('a', [bytes('x')], { acks: 1 }),
      isNodeError(NodeErrorCode.Unavailable),
    );
    assert.equal((await service.channel('a')).nextSeq, 0, 'the refused append wrote nothing');
    await service.shutdown();
  });
});

describe('append, read, tail, status', () => {
  test('one event and a batch get consecutive seqs; counters and status follow', async () => {
    const { service } = memoryService();
    await service.createChannel(memorySpec('a'));
    assert.deepEqual(await service.append('a', [bytes('one')]), { firstSeq: 0, count: 1 });
    assert.deepEqual(await service.append('a', [bytes('b1'), bytes('b2')]), {
      firstSeq: 1,
      count: 2,
    });
    assert.deepEqual(await service.append('a', []), { firstSeq: null, count: 0 });
    const status = await service.channel('a');
    assert.equal(status.nextSeq, 3);
    assert.equal(status.firstSeq, 0);
    assert.equal(status.retainedEvents, 3);
    assert.equal(status.appendedEvents, 3);
    assert.equal(status.appendedBytes, 7);
    assert.deepEqual(status.replicas, [
      { name: 'node-a', nodeId: null, self: true, role: 'standalone', tailSeq: 3, lagEvents: 0 },
    ]);
    const metrics = await service.metrics();
    assert.match(metrics, /redex_channel_appends_total\{channel="a"\} 3/);
    assert.match(metrics, /redex_channel_append_bytes_total\{channel="a"\} 7/);
    assert.match(metrics, /redex_channel_tail_seq\{channel="a"\} 3/);
    await service.shutdown();
  });

  test('read pages by events and bytes and says where the next page starts', async () => {
    const { service } = memoryService();
    await service.createChannel(memorySpec('a'));
    await service.append('a', ['aaaa', 'bbbb', 'cccc', 'dddd'].map(bytes));
    const page = await service.read('a', { fromSeq: 0, toSeq: null, maxEvents: 2, maxBytes: 100 });
    assert.deepEqual(
      page.events.map((event) => text(event.payload)),
      ['aaaa', 'bbbb'],
    );
    assert.equal(page.nextFromSeq, 2);
    const byBytes = await service.read('a', {
      fromSeq: 1,
      toSeq: null,
      maxEvents: 10,
      maxBytes: 8,
    });
    assert.deepEqual(
      byBytes.events.map((event) => event.seq),
      [1, 2],
    );
    const oneBig = await service.read('a', { fromSeq: 3, toSeq: null, maxEvents: 10, maxBytes: 1 });
    assert.deepEqual(
      oneBig.events.map((event) => event.seq),
      [3],
      'one event always fits',
    );
    const bounded = await service.read('a', { fromSeq: 0, toSeq: 1, maxEvents: 10, maxBytes: 100 });
    assert.deepEqual(
      bounded.events.map((event) => event.seq),
      [0],
    );
    assert.equal(bounded.nextFromSeq, 1);
    const past = await service.read('a', { fromSeq: 9, toSeq: null, maxEvents: 10, maxBytes: 100 });
    assert.deepEqual([past.events.length, past.nextFromSeq, past.nextSeq], [0, 9, 4]);
    await service.shutdown();
  });

  test('tail backfills then delivers live appends', async () => {
    const { service } = memoryService();
    await service.createChannel(memorySpec('a'));
    await service.append('a', [bytes('old')]);
    const stream = await service.tail('a', 0);
    assert.equal(text((await stream.next()).value!.payload), 'old');
    const live = stream.next();
    await service.append('a', [bytes('new')]);
    assert.equal(text((await withTimeout(live, 'live event')).value!.payload), 'new');
    assert.equal((await service.channel('a')).tails, 1);
    await stream.return();
    assert.equal((await service.channel('a')).tails, 0);
    await service.shutdown();
  });

  test('watchers hear about appends and new channels once per turn, never synchronously', async () => {
    const { service } = memoryService();
    let calls = 0;
    const unwatch = service.watch(() => calls++);
    await service.createChannel(memorySpec('a'));
    await settle();
    assert.equal(calls, 1);
    const appends = [service.append('a', [bytes('1')]), service.append('a', [bytes('2')])];
    assert.equal(calls, 1, 'not inside the caller');
    await Promise.all(appends);
    await settle();
    assert.equal(calls, 2, 'two appends in one turn are one notification');
    unwatch();
    await service.append('a', [bytes('3')]);
    await settle();
    assert.equal(calls, 2);
    await service.shutdown();
  });

  test('status lists channels by name with the node facts', async () => {
    const clock = new VirtualClock(1_800_000_000_000);
    const { service } = memoryService({ clock });
    await service.createChannel(memorySpec('b'));
    await service.createChannel(memorySpec('a'));
    await clock.advance(1500);
    const status = await service.status();
    assert.deepEqual(
      status.channels.map((channel) => channel.name),
      ['a', 'b'],
    );
    assert.equal(status.node.name, 'node-a');
    assert.equal(status.node.mode, 'single');
    assert.equal(status.node.uptimeMs, 1500);
    assert.equal(status.atMs, 1_800_000_001_500);
    assert.equal(status.node.accepting, true);
    assert.deepEqual(status.peers, []);
    await service.shutdown();
  });
});

describe('retention sweep', () => {
  test('runs every retentionSweepMs on the injected clock and stops at shutdown', async () => {
    const clock = new VirtualClock(1_800_000_000_000);
    const { service } = memoryService({ clock, retentionSweepMs: 1000 });
    await service.createChannel({
      name: 'a',
      file: { persistent: false, retention: { maxEvents: 2 } },
      replication: null,
    });
    await service.append('a', ['0', '1', '2', '3', '4'].map(bytes));
    await clock.advance(999);
    await settle();
    assert.equal((await service.channel('a')).firstSeq, 0);
    await clock.advance(1);
    await settle();
    assert.equal((await service.channel('a')).firstSeq, 3);
    const page = await service.read('a', { fromSeq: 0, toSeq: null, maxEvents: 10, maxBytes: 100 });
    assert.deepEqual(
      page.events.map((event) => event.seq),
      [3, 4],
      'reads skip the evicted prefix',
    );
    await service.shutdown();
    assert.equal(clock.pendingTimers, 0, 'no sweep is armed after shutdown');
  });
});

describe('shutdown', () => {
  test('refuses new writes and tails, lets writes in flight finish, ends tails, is idempotent', async () => {
    const { service } = memoryService();
    await service.createChannel(memorySpec('a'));
    const stream = await service.tail('a', 0);
    const pendingTail = stream.next();
    const inflight = service.append('a', [bytes('last')]);
    const stopping = service.shutdown();
    assert.equal(service.accepting, false);
    assert.equal(service.shutdown(), stopping, 'the same promise');
    await assert.rejects(
      service.append('a', [bytes('late')]),
      isNodeError(NodeErrorCode.ShuttingDown),
    );
    await assert.rejects(service.tail('a', 0), isNodeError(NodeErrorCode.ShuttingDown));
    await assert.rejects(
      service.createChannel(memorySpec('b')),
      isNodeError(NodeErrorCode.ShuttingDown),
    );
    assert.deepEqual(await inflight, { firstSeq: 0, count: 1 });
    await withTimeout(stopping, 'shutdown');
    const first = await withTimeout(pendingTail, 'tail after shutdown');
    assert.equal(first.done, false, 'the event appended before shutdown is delivered');
    assert.equal((await withTimeout(stream.next(), 'tail end')).done, true);
    assert.equal((await service.status()).node.accepting, false);
  });

  test('persistent channels are durable after shutdown and reopen with their events', async () => {
    const dir = await tempDir('service');
    try {
      const spec: ChannelSpec = {
        name: 'orders/audit',
        file: { persistent: true },
        replication: null,
      };
      const first = new LocalNodeService({ name: 'node-a', redex: new Redex({ dir: dir.path }) });
      await first.createChannel(spec);
      await first.append('orders/audit', ['a', 'b', 'c'].map(bytes));
      await first.shutdown();
      const second = new LocalNodeService({ name: 'node-a', redex: new Redex({ dir: dir.path }) });
      await second.createChannel(spec);
      const page = await second.read('orders/audit', {
        fromSeq: 0,
        toSeq: null,
        maxEvents: 10,
        maxBytes: 100,
      });
      assert.deepEqual(
        page.events.map((event) => text(event.payload)),
        ['a', 'b', 'c'],
      );
      await second.shutdown();
    } finally {
      await dir.remove();
    }
  });
});

describe('channel registry', () => {
  const defaults = { defaultPersistent: true, members: new Set<string>() };

  test('channels created over the API are remembered; config channels are not', async () => {
    const dir = await tempDir('registry');
    try {
      const registry = await ChannelRegistry.open(dir.path, defaults);
      const service = new LocalNodeService({ name: 'node-a', redex: new Redex(), registry });
      await service.createChannel(memorySpec('from/api'));
      await service.createChannel(memorySpec('from/config'), { persist: false });
      await service.shutdown();
      const reopened = await ChannelRegistry.open(dir.path, defaults);
      assert.deepEqual(
        reopened.specs.map((spec) => spec.name),
        ['from/api'],
      );
      assert.deepEqual(reopened.specs[0], memorySpec('from/api'));
      const body = JSON.parse(await readFile(join(dir.path, REGISTRY_FILE), 'utf8'));
      assert.equal(body.version, 1);
    } finally {
      await dir.remove();
    }
  });

  test('a registry file that does not parse is CORRUPT, naming the file', async () => {
    const dir = await tempDir('registry-bad');
    try {
      await writeFile(join(dir.path, REGISTRY_FILE), '{"version":1,"channels":[{"name":"BAD"}]}');
      await assert.rejects(
        ChannelRegistry.open(dir.path, defaults),
        (error: Error & { code?: string }) => {
          assert.equal(error.code, 'CORRUPT');
          assert.match(error.message, /channels\.json/);
          assert.match(error.message, /channels\[0\]\.name/);
          return true;
        },
      );
      await writeFile(join(dir.path, REGISTRY_FILE), 'not json');
      await assert.rejects(ChannelRegistry.open(dir.path, defaults), /CORRUPT|not a valid/);
    } finally {
      await dir.remove();
    }
  });

  test('a failed registry write leaves no half-created channel', async () => {
    const dir = await tempDir('registry-fail');
    try {
      const registry = await ChannelRegistry.open(join(dir.path, 'missing-dir'), defaults);
      const service = new LocalNodeService({ name: 'node-a', redex: new Redex(), registry });
      await assert.rejects(service.createChannel(memorySpec('a')), /IO|writing/);
      await assert.rejects(service.channel('a'), isNodeError(NodeErrorCode.ChannelNotFound));
      await service.shutdown();
    } finally {
      await dir.remove();
    }
  });
});

describe('pid lock', () => {
  test('a live owner locks the directory; a dead owner is taken over; release removes the file', async () => {
    const dir = await tempDir('pid');
    try {
      const lock = await PidLock.acquire(dir.path);
      assert.equal((await readFile(join(dir.path, PID_FILE), 'utf8')).trim(), String(process.pid));
      // The parent of this process is alive and is not us: the directory is in use.
      await writeFile(join(dir.path, PID_FILE), `${process.ppid}\n`);
      await assert.rejects(PidLock.acquire(dir.path), isNodeError(NodeErrorCode.DataDirLocked));
      // No process has pid 2^22+1 on Linux (pid_max is at most 2^22).
      await writeFile(join(dir.path, PID_FILE), '4194305\n');
      const taken = await PidLock.acquire(dir.path);
      await taken.release();
      await assert.rejects(readFile(join(dir.path, PID_FILE)), /ENOENT/);
      await lock.release();
    } finally {
      await dir.remove();
    }
  });
});
