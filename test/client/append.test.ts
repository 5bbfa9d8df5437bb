// RedexClient.append against scripted nodes: the request it sends (binary batch, acks, waitMs,
// ifNextSeq, token), NOT_LEADER followed to the named leader and remembered, a refused
// connection and SHUTTING_DOWN retried on the next node, and every answer that leaves the
// outcome open (LEADERSHIP_LOST, a connection cut after sending, a timeout) thrown at once
// with outcome 'unknown' and never sent again.

import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { RedexClient, RedexClientError, type RetryNotice } from '../../src/client/index.js';
import { VirtualClock } from '../../src/time/virtual-clock.js';
import {
  batchPayloads,
  deadUrl,
  type FakeNode,
  sendError,
  sendJson,
  startFakeNode,
} from './fake-node.js';

const CHANNEL = 'orders/audit';
const EVENTS_PATH = '/channels/orders%2Faudit/events';
const FAST_RETRY = { backoffMs: 1, backoffMaxMs: 2 };

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

/** A leader that numbers what it stores from `next`. */
function leader(start = 0): FakeNode['handler'] {
  let next = start;
  return (request, res) => {
    const count = batchPayloads(request.body).length;
    sendJson(res, 201, { firstSeq: next, lastSeq: next + count - 1, count });
    next += count;
  };
}

async function rejection(promise: Promise<unknown>): Promise<RedexClientError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof RedexClientError, String(error));
    return error;
  }
  assert.fail('expected a rejection');
}

describe('RedexClient.append', () => {
  test('one event and a batch: binary body, seqs back, options in the query, the token', async () => {
    const fake = await node(leader(7));
    const redex = client({ nodes: fake.url, token: 'secret' });
    assert.equal(await redex.append(CHANNEL, 'one'), 7);
    assert.deepEqual(
      await redex.append(CHANNEL, ['a', new TextEncoder().encode('b'), ''], {
        acks: 'leader',
        waitMs: 900,
        ifNextSeq: 8,
      }),
      [8, 9, 10],
    );
    assert.deepEqual(await redex.append(CHANNEL, []), []);
    const [first, second] = fake.requests;
    assert.equal(first!.method, 'POST');
    assert.equal(first!.path, EVENTS_PATH);
    assert.equal(first!.headers['content-type'], 'application/vnd.redex.batch');
    assert.equal(first!.headers.authorization, 'Bearer secret');
    assert.deepEqual(batchPayloads(first!.body), ['one']);
    assert.equal(first!.query.toString(), '');
    assert.deepEqual(batchPayloads(second!.body), ['a', 'b', '']);
    assert.equal(second!.query.get('acks'), 'leader');
    assert.equal(second!.query.get('timeoutMs'), '900');
    assert.equal(second!.query.get('ifNextSeq'), '8');
  });

  test('SEQ_MISMATCH is a typed error with the status, the node and outcome none; not retried', async () => {
    const fake = await node((_, res) =>
      sendError(res, 409, 'SEQ_MISMATCH', { expectedSeq: 3, nextSeq: 5 }),
    );
    const error = await rejection(
      client({ nodes: fake.url }).append(CHANNEL, 'x', { ifNextSeq: 3 }),
    );
    assert.equal(error.code, 'SEQ_MISMATCH');
    assert.equal(error.status, 409);
    assert.equal(error.node, fake.url);
    assert.equal(error.outcome, 'none');
    assert.equal(error.details.nextSeq, 5);
    assert.match(error.message, /^redex: /);
    assert.equal(fake.requests.length, 1);
  });

  test('NOT_LEADER is followed to the leader at once, and the leader is remembered', async () => {
    const real = await node(leader());
    const follower = await node((_, res) =>
      sendError(res, 421, 'NOT_LEADER', { leader: { name: 'b', nodeId: null, http: real.url } }),
    );
    const notices: RetryNotice[] = [];
    const redex = client({ nodes: [follower.url], onRetry: (notice) => notices.push(notice) });
    assert.equal(await redex.append(CHANNEL, 'x'), 0);
    assert.equal(await redex.append(CHANNEL, 'y'), 1);
    assert.equal(follower.requests.length, 1, 'the second append went straight to the leader');
    assert.equal(real.requests.length, 2);
    assert.equal(notices.length, 1);
    assert.equal(notices[0]!.error.code, 'NOT_LEADER');
    assert.equal(notices[0]!.to, real.url);
    assert.equal(notices[0]!.delayMs, 0);
    assert.deepEqual(redex.nodes, [follower.url, real.url]);
  });

  test('a refused connection and SHUTTING_DOWN move on to the next node', async () => {
    const stopping = await node((_, res) => sendError(res, 503, 'SHUTTING_DOWN'));
    const real = await node(leader());
    const redex = client({ nodes: [await deadUrl(), stopping.url, real.url] });
    assert.equal(await redex.append(CHANNEL, 'x'), 0);
    assert.equal(stopping.requests.length, 1);
    assert.deepEqual(batchPayloads(real.requests[0]!.body), ['x']);
  });

  test('NOT_LEADER without a leader: retried with pauses until the budget runs out', async () => {
    const lost = await node((_, res) => sendError(res, 421, 'NOT_LEADER', { leader: null }));
    const error = await rejection(
      client({ nodes: lost.url, retry: { attempts: 3, backoffMs: 1 } }).append(CHANNEL, 'x'),
    );
    assert.equal(error.code, 'NOT_LEADER');
    assert.equal(error.outcome, 'none');
    assert.equal(lost.requests.length, 3);
  });

  test('every node unreachable: UNREACHABLE with the address, outcome none', async () => {
    const dead = await deadUrl();
    const error = await rejection(
      client({ nodes: dead, retry: { attempts: 2 } }).append(CHANNEL, 'x'),
    );
    assert.equal(error.code, 'UNREACHABLE');
    assert.equal(error.outcome, 'none');
    assert.equal(error.status, null);
    assert.match(error.message, /cannot reach the node at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
  });

  test('LEADERSHIP_LOST and REPLICATION_TIMEOUT: outcome unknown, never sent again', async () => {
    for (const [status, code] of [
      [503, 'LEADERSHIP_LOST'],
      [504, 'REPLICATION_TIMEOUT'],
    ] as const) {
      const fake = await node((_, res) => sendError(res, status, code));
      const other = await node(leader());
      const error = await rejection(client({ nodes: [fake.url, other.url] }).append(CHANNEL, 'x'));
      assert.equal(error.code, code);
      assert.equal(error.outcome, 'unknown');
      assert.equal(fake.requests.length, 1);
      assert.equal(other.requests.length, 0);
    }
  });

  test('the seq of an unknown outcome when the node names it; "not-written" is retried', async () => {
    const cut = await node((_, res) =>
      sendError(res, 503, 'LEADERSHIP_LOST', { outcome: 'unknown', seq: 41 }),
    );
    const error = await rejection(client({ nodes: cut.url }).append(CHANNEL, 'x'));
    assert.equal(error.outcome, 'unknown');
    assert.equal(error.seq, 41);
    const queued = await node((_, res) =>
      sendError(res, 503, 'LEADERSHIP_LOST', { outcome: 'not-written' }),
    );
    const other = await node(leader(9));
    assert.equal(await client({ nodes: [queued.url, other.url] }).append(CHANNEL, 'y'), 9);
  });

  test('a connection cut after the request arrived: CONNECTION_LOST, outcome unknown', async () => {
    const fake = await node((_, res) => {
      res.socket?.destroy();
    });
    const other = await node(leader());
    const error = await rejection(client({ nodes: [fake.url, other.url] }).append(CHANNEL, 'x'));
    assert.equal(error.code, 'CONNECTION_LOST');
    assert.equal(error.outcome, 'unknown');
    assert.equal(other.requests.length, 0);
  });

  test('no answer within timeoutMs (virtual time): TIMEOUT, outcome unknown', async () => {
    const clock = new VirtualClock();
    const fake = await node(() => {});
    const redex = client({ nodes: fake.url, timeoutMs: 5_000, clock });
    const pending = rejection(redex.append(CHANNEL, 'x'));
    while (fake.requests.length === 0) await new Promise((resolve) => setImmediate(resolve));
    await clock.advance(5_000);
    const error = await pending;
    assert.equal(error.code, 'TIMEOUT');
    assert.equal(error.outcome, 'unknown');
  });

  test('an abort rejects with the signal reason', async () => {
    const fake = await node(() => {});
    const abort = new AbortController();
    const pending = client({ nodes: fake.url }).append(CHANNEL, 'x', { signal: abort.signal });
    while (fake.requests.length === 0) await new Promise((resolve) => setImmediate(resolve));
    const reason = new Error('stop');
    abort.abort(reason);
    await assert.rejects(pending, (error) => error === reason);
  });

  test('an answer that is not the API JSON: HTTP_<status>; a 5xx on a write is unknown', async () => {
    const proxy = await node((_, res) => {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html>bad gateway</html>');
    });
    const error = await rejection(client({ nodes: proxy.url }).append(CHANNEL, 'x'));
    assert.equal(error.code, 'HTTP_502');
    assert.equal(error.status, 502);
    assert.equal(error.outcome, 'unknown');
  });

  test('a bad node URL is an INVALID_ARGUMENT error at construction', () => {
    assert.throws(
      () => new RedexClient({ nodes: 'ftp://x' }),
      (error) => error instanceof RedexClientError && error.code === 'INVALID_ARGUMENT',
    );
    assert.throws(() => new RedexClient({ nodes: [] }), RedexClientError);
  });
});
