// RedexClient.read, tail and admin calls against scripted nodes: pages walked with `next` up to
// `to` (or the tail as of the first page), a failing node left for the next; a tail that loses
// its connection resumes with Last-Event-ID (on another node when the first is gone), drops the
// duplicates a node replays, ends its stream on a node shutting down and goes elsewhere, and
// reports a gap or LAGGED as typed errors; deleteChannel and createChannel send what the API
// expects.

import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { afterEach, describe, test } from 'node:test';
import { type ClientEvent, RedexClient, RedexClientError } from '../../src/client/index.js';
import { VirtualClock } from '../../src/time/virtual-clock.js';
import {
  deadUrl,
  type FakeNode,
  type Recorded,
  sendError,
  sendJson,
  sseEvent,
  sseStart,
  startFakeNode,
} from './fake-node.js';

const CHANNEL = 'orders/audit';
const FAST_RETRY = { backoffMs: 1, backoffMaxMs: 2 };
const decoder = new TextDecoder();

const open: { nodes: FakeNode[]; clients: RedexClient[] } = { nodes: [], clients: [] };
afterEach(async () => {
  await Promise.all(open.clients.splice(0).map((client) => client.close()));
  await Promise.all(open.nodes.splice(0).map((node) => node.close()));
});

async function node(handler: FakeNode['handler']): Promise<FakeNode> {
  const fake = await startFakeNode(handler);
  open.nodes.push(fake);
  return fake;
}

function client(options: ConstructorParameters<typeof RedexClient>[0]): RedexClient {
  const made = new RedexClient({ retry: FAST_RETRY, ...options });
  open.clients.push(made);
  return made;
}

function text(events: readonly ClientEvent[]): string[] {
  return events.map((event) => `${event.seq}:${decoder.decode(event.payload)}`);
}

/** A node holding `count` events `e<seq>`, answering pages of at most `limit`. */
function pages(count: number, firstSeq = 0): FakeNode['handler'] {
  return (request, res) => {
    const from = Math.max(Number(request.query.get('from') ?? 0), firstSeq);
    const to = Math.min(Number(request.query.get('to') ?? count), count);
    const limit = Math.min(Number(request.query.get('limit') ?? 1000), 3);
    const events = [];
    for (let seq = from; seq < to && events.length < limit; seq++) {
      events.push({ seq, timestampNs: '5', payload: Buffer.from(`e${seq}`).toString('base64') });
    }
    const next = events.length > 0 ? events.at(-1)!.seq + 1 : from;
    sendJson(res, 200, {
      channel: CHANNEL,
      encoding: 'base64',
      events,
      next,
      firstSeq,
      nextSeq: count,
    });
  };
}

async function collect(iterator: AsyncIterable<ClientEvent>, max = 1_000): Promise<ClientEvent[]> {
  const out: ClientEvent[] = [];
  for await (const event of iterator) {
    out.push(event);
    if (out.length >= max) break;
  }
  return out;
}

describe('RedexClient.read', () => {
  test('walks pages to the tail as of the first page; from, to and limit', async () => {
    const fake = await node(pages(8));
    const redex = client({ nodes: fake.url });
    const all = await collect(redex.read(CHANNEL));
    assert.deepEqual(text(all), ['0:e0', '1:e1', '2:e2', '3:e3', '4:e4', '5:e5', '6:e6', '7:e7']);
    assert.equal(all[0]!.timestampNs, 5n);
    assert.equal(fake.requests.length, 3, 'pages of 3');
    assert.deepEqual(text(await collect(redex.read(CHANNEL, { from: 2, to: 5 }))), [
      '2:e2',
      '3:e3',
      '4:e4',
    ]);
    assert.deepEqual(text(await collect(redex.read(CHANNEL, { from: 6, limit: 1 }))), ['6:e6']);
    assert.deepEqual(await collect(redex.read(CHANNEL, { from: 8 })), []);
  });

  test('evicted history: the read starts at the first retained seq', async () => {
    const fake = await node(pages(5, 3));
    assert.deepEqual(text(await collect(client({ nodes: fake.url }).read(CHANNEL))), [
      '3:e3',
      '4:e4',
    ]);
  });

  test('a node that fails is left for the next; a 404 is final', async () => {
    const broken = await node((_, res) => sendError(res, 500, 'IO'));
    const good = await node(pages(4));
    const redex = client({ nodes: [await deadUrl(), broken.url, good.url] });
    assert.equal((await collect(redex.read(CHANNEL))).length, 4);
    assert.equal(redex.currentNode, good.url, 'later reads stay on the node that answered');
    const missing = await node((_, res) => sendError(res, 404, 'CHANNEL_NOT_FOUND'));
    await assert.rejects(
      collect(client({ nodes: [missing.url, good.url] }).read(CHANNEL)),
      (error) => error instanceof RedexClientError && error.code === 'CHANNEL_NOT_FOUND',
    );
    assert.equal(missing.requests.length, 1);
  });
});

/** A tail node serving `events` (seq → payload) from the resume point, then `after(res)`. */
function tailNode(
  events: readonly string[],
  after: (res: ServerResponse, request: Recorded) => void,
  replayFrom?: (from: number) => number,
): FakeNode['handler'] {
  return (request, res) => {
    const lastId = request.headers['last-event-id'];
    let from =
      typeof lastId === 'string' ? Number(lastId) + 1 : Number(request.query.get('from') ?? 0);
    if (replayFrom) from = replayFrom(from);
    sseStart(res);
    for (let seq = from; seq < events.length; seq++) res.write(sseEvent(seq, events[seq]!));
    after(res, request);
  };
}

describe('RedexClient.tail', () => {
  test('a dropped connection resumes with Last-Event-ID on the next node; replays are dropped', async () => {
    const events = ['a', 'b', 'c', 'd', 'e'];
    // The first node knows three events and then dies (its sockets cut, new connections refused).
    let first: FakeNode | null = null;
    first = await node(
      tailNode(events.slice(0, 3), (res) => {
        setImmediate(() => {
          res.socket?.destroy();
          void first?.close();
        });
      }),
    );
    // The second replays from one seq earlier than asked: the client must drop the duplicate.
    const second = await node(
      tailNode(
        events,
        () => {},
        (from) => Math.max(0, from - 1),
      ),
    );
    const redex = client({ nodes: [first.url, second.url] });
    const got = await collect(redex.tail(CHANNEL, { from: 0 }), 5);
    assert.deepEqual(text(got), ['0:a', '1:b', '2:c', '3:d', '4:e']);
    assert.equal(second.requests[0]!.headers['last-event-id'], '2');
    assert.equal(second.requests[0]!.query.get('from'), '3');
  });

  test('event: end (the node shuts down) moves the tail to the next node', async () => {
    const events = ['a', 'b', 'c'];
    const stopping = await node(
      tailNode(events.slice(0, 1), (res) => {
        res.end('event: end\ndata: {"reason":"shutdown"}\n\n');
      }),
    );
    const other = await node(tailNode(events, () => {}));
    const got = await collect(client({ nodes: [stopping.url, other.url] }).tail(CHANNEL), 3);
    assert.deepEqual(text(got), ['0:a', '1:b', '2:c']);
    assert.equal(other.requests[0]!.headers['last-event-id'], '0');
  });

  test('a node that ends every stream at once spends the retry budget: the tail gives up', async () => {
    const closing = await node((_, res) => {
      sseStart(res);
      res.end('event: end\ndata: {"reason":"closed"}\n\n');
    });
    await assert.rejects(
      collect(
        client({
          nodes: closing.url,
          // A long backoffMaxMs: no stream counts as having stayed open a while.
          retry: { attempts: 4, backoffMs: 1, backoffMaxMs: 60_000 },
        }).tail(CHANNEL),
      ),
      (error) => error instanceof RedexClientError && error.code === 'CONNECTION_LOST',
    );
    assert.equal(closing.requests.length, 4);
  });

  test('with `to` the tail ends after seq to − 1', async () => {
    const fake = await node(tailNode(['a', 'b', 'c', 'd'], () => {}));
    const got = await collect(client({ nodes: fake.url }).tail(CHANNEL, { from: 1, to: 3 }));
    assert.deepEqual(text(got), ['1:b', '2:c']);
    assert.equal(fake.requests[0]!.query.get('to'), '3');
  });

  test('a skipped seq is TAIL_GAP, never a silent skip', async () => {
    const fake = await node((_, res) => {
      sseStart(res);
      res.write(sseEvent(0, 'a'));
      res.write(sseEvent(2, 'c'));
    });
    const seen: ClientEvent[] = [];
    await assert.rejects(
      (async () => {
        for await (const event of client({ nodes: fake.url }).tail(CHANNEL)) seen.push(event);
      })(),
      (error) =>
        error instanceof RedexClientError && error.code === 'TAIL_GAP' && error.details.seq === 2,
    );
    assert.deepEqual(text(seen), ['0:a']);
  });

  test('LAGGED is a typed error with resumeSeq; not retried', async () => {
    const fake = await node((_, res) => {
      sseStart(res);
      res.end(
        'event: error\ndata: {"error":{"code":"LAGGED","message":"redex: lagged","lostSeq":0,"resumeSeq":4}}\n\n',
      );
    });
    await assert.rejects(
      collect(client({ nodes: fake.url }).tail(CHANNEL)),
      (error) =>
        error instanceof RedexClientError &&
        error.code === 'LAGGED' &&
        error.status === 410 &&
        error.details.resumeSeq === 4,
    );
    assert.equal(fake.requests.length, 1);
  });

  test('a stream silent for idleMs is dropped and resumed elsewhere (virtual time)', async () => {
    const clock = new VirtualClock();
    const silent = await node((_, res) => {
      sseStart(res);
      res.write(sseEvent(0, 'a'));
    });
    const other = await node(tailNode(['a', 'b'], () => {}));
    const tail = client({ nodes: [silent.url, other.url], clock }).tail(CHANNEL, { idleMs: 1_000 });
    assert.equal((await tail.next()).value?.seq, 0);
    const second = tail.next();
    await clock.advance(999);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(other.requests.length, 0, 'not idle yet');
    while (other.requests.length === 0) {
      await clock.advance(1);
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal((await second).value?.seq, 1);
    assert.equal(other.requests[0]!.headers['last-event-id'], '0');
    await tail.return();
  });

  test('an abort ends the tail with the signal reason and closes the stream', async () => {
    let closed = false;
    const fake = await node((_, res) => {
      sseStart(res);
      res.write(sseEvent(0, 'a'));
      res.on('close', () => {
        closed = true;
      });
    });
    const abort = new AbortController();
    const reason = new Error('stop');
    const tail = client({ nodes: fake.url }).tail(CHANNEL, { signal: abort.signal });
    assert.equal((await tail.next()).value?.seq, 0);
    const pending = tail.next();
    abort.abort(reason);
    await assert.rejects(pending, (error) => error === reason);
    while (!closed) await new Promise((resolve) => setImmediate(resolve));
  });
});

describe('admin calls', () => {
  test('deleteChannel sends DELETE /channels/{name}; createChannel posts the spec', async () => {
    const fake = await node((request, res) => {
      if (request.method === 'DELETE') sendJson(res, 200, { deleted: true });
      else sendJson(res, 201, { created: true, channel: { name: CHANNEL } });
    });
    const redex = client({ nodes: fake.url });
    assert.deepEqual(await redex.deleteChannel(CHANNEL), { deleted: true });
    const created = await redex.createChannel(CHANNEL, { file: { persistent: false } });
    assert.equal(created.created, true);
    const [del, post] = fake.requests;
    assert.equal(del!.method, 'DELETE');
    assert.equal(del!.path, '/channels/orders%2Faudit');
    assert.equal(post!.path, '/channels');
    assert.deepEqual(JSON.parse(post!.body.toString()), {
      file: { persistent: false },
      name: CHANNEL,
    });
  });

  test('deleteChannel: a 404 is CHANNEL_NOT_FOUND; a 204 resolves to undefined', async () => {
    const fake = await node((request, res) => {
      if (request.path.endsWith('gone')) sendError(res, 404, 'CHANNEL_NOT_FOUND');
      else {
        res.writeHead(204);
        res.end();
      }
    });
    const redex = client({ nodes: fake.url });
    assert.equal(await redex.deleteChannel('here'), undefined);
    await assert.rejects(
      redex.deleteChannel('gone'),
      (error) =>
        error instanceof RedexClientError &&
        error.code === 'CHANNEL_NOT_FOUND' &&
        error.status === 404 &&
        error.node === fake.url,
    );
  });

  test('status and channel go to the current node, failing over when it is down', async () => {
    const fake = await node((request, res) =>
      request.path === '/status'
        ? sendJson(res, 200, { node: { name: 'n' }, peers: [], channels: [] })
        : sendJson(res, 200, { name: CHANNEL, nextSeq: 3 }),
    );
    const redex = client({ nodes: [await deadUrl(), fake.url] });
    assert.equal((await redex.status()).node.name, 'n');
    assert.equal((await redex.channel(CHANNEL)).nextSeq, 3);
  });
});
