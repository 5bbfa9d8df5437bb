// Server-Sent-Event streams: the channel tail (backfill, live, Last-Event-ID, LAGGED as an error
// event, heartbeats, a client that goes away, the end at shutdown, the stream limit) and the
// status stream (at once, after changes, periodically).

import assert from 'node:assert/strict';
import http from 'node:http';
import { describe, test } from 'node:test';
import { CLOSE_TIMEOUT_MS } from '../../src/node/http/limits.js';
import { FakeService } from './fake-service.js';
import {
  api,
  eventually,
  memorySpec,
  startTestNode,
  TestSse,
  utf8Body,
  withTimeout,
} from './helpers.js';

const CHANNEL = 'orders/audit';
const EVENTS = '/channels/orders%2Faudit/events';
const TAIL = '/channels/orders%2Faudit/tail';
/** Events of 1 MiB a stalled reader is sent: more than loopback socket buffers absorb. */
const SLOW_EVENTS = 16;

async function appendText(url: string, ...payloads: string[]): Promise<void> {
  const answer = await api(url, 'POST', EVENTS, { json: { events: payloads, encoding: 'utf8' } });
  assert.equal(answer.status, 201);
}

describe('tail', () => {
  test('backfill from a seq, then live events, each with its seq as id', async () => {
    const node = await startTestNode({ channels: [memorySpec(CHANNEL)] });
    try {
      await appendText(node.url, 'zero', 'one', 'two');
      const sse = await TestSse.open(`${node.url}${TAIL}?from=1&encoding=utf8`);
      assert.equal(sse.status, 200);
      assert.match(sse.response.headers['content-type']!, /^text\/event-stream/);
      const first = await sse.next();
      assert.equal(first!.id, '1');
      assert.equal(first!.event, 'message');
      assert.deepEqual(
        { ...JSON.parse(first!.data), timestampNs: 'x' },
        { seq: 1, payload: 'one', timestampNs: 'x' },
      );
      assert.equal(JSON.parse((await sse.next())!.data).payload, 'two');
      await appendText(node.url, 'three');
      const live = await sse.next('the live event');
      assert.equal(live!.id, '3');
      assert.equal(JSON.parse(live!.data).payload, 'three');
      assert.match(sse.raw, /^: tail orders\/audit from 1\n\n/);
      sse.close();
    } finally {
      await node.close();
    }
  });

  test('with to, the stream is a bounded read ending with reason "to"', async () => {
    const node = await startTestNode({ channels: [memorySpec(CHANNEL)] });
    try {
      await appendText(node.url, 'zero', 'one', 'two', 'three');
      const sse = await TestSse.open(`${node.url}${TAIL}?from=1&to=3&encoding=utf8`);
      assert.equal((await sse.next())!.id, '1');
      assert.equal((await sse.next())!.id, '2');
      const end = await sse.next('the end event');
      assert.equal(end!.event, 'end');
      assert.deepEqual(JSON.parse(end!.data), { reason: 'to' });
      await withTimeout(sse.ended, 'the stream closes');
      const empty = await TestSse.open(`${node.url}${TAIL}?from=2&to=2`);
      assert.equal((await empty.next())!.event, 'end');
      assert.equal((await api(node.url, 'GET', `${TAIL}?from=3&to=2`)).status, 400);
    } finally {
      await node.close();
    }
  });

  test('payloads are base64 by default', async () => {
    const node = await startTestNode({ channels: [memorySpec(CHANNEL)] });
    try {
      await api(node.url, 'POST', EVENTS, {
        body: Buffer.from([1, 2, 3]),
        headers: { 'content-type': 'application/octet-stream' },
      });
      const sse = await TestSse.open(`${node.url}${TAIL}`);
      assert.equal(JSON.parse((await sse.next())!.data).payload, 'AQID');
      sse.close();
    } finally {
      await node.close();
    }
  });

  test('Last-Event-ID resumes after the given seq (what EventSource sends on reconnect)', async () => {
    const node = await startTestNode({ channels: [memorySpec(CHANNEL)] });
    try {
      await appendText(node.url, 'a', 'b', 'c', 'd');
      const sse = await TestSse.open(`${node.url}${TAIL}?from=0&encoding=utf8`, {
        'last-event-id': '1',
      });
      assert.equal((await sse.next())!.id, '2');
      sse.close();
      const bad = await api(node.url, 'GET', TAIL, { headers: { 'last-event-id': 'x' } });
      assert.equal(bad.status, 400);
    } finally {
      await node.close();
    }
  });

  test('a client that disconnects frees its tail and its stream slot', async () => {
    const node = await startTestNode({ channels: [memorySpec(CHANNEL)] });
    try {
      const sse = await TestSse.open(`${node.url}${TAIL}`);
      await sse.waitForRaw(': tail');
      assert.equal((await node.service.channel(CHANNEL)).tails, 1);
      assert.equal(node.http.streamCount, 1);
      sse.close();
      await eventually(
        async () => (await node.service.channel(CHANNEL)).tails === 0,
        'the tail is freed',
      );
      await eventually(() => node.http.streamCount === 0, 'the stream slot is freed');
      await appendText(node.url, 'after');
    } finally {
      await node.close();
    }
  });

  test('history that is gone arrives as an error event with LAGGED and resumeSeq, then the stream ends', async () => {
    const node = await startTestNode({
      channels: [
        {
          name: CHANNEL,
          file: { persistent: false, retention: { maxEvents: 2 } },
          replication: null,
        },
      ],
    });
    try {
      await appendText(node.url, 'a', 'b', 'c', 'd', 'e');
      await node.redex!.sweepRetention();
      const sse = await TestSse.open(`${node.url}${TAIL}?from=0`);
      const error = await sse.next('the LAGGED error');
      assert.equal(error!.event, 'error');
      const body = JSON.parse(error!.data);
      assert.equal(body.error.code, 'LAGGED');
      assert.equal(body.error.lostSeq, 0);
      assert.equal(body.error.resumeSeq, 3, 'the first seq still retained');
      assert.match(body.error.message, /^redex: tail of "orders\/audit" lagged/);
      await withTimeout(sse.ended, 'the stream ends after LAGGED');
      assert.equal(await sse.next(), null);
      const resumed = await TestSse.open(`${node.url}${TAIL}?from=3&encoding=utf8`);
      assert.equal(JSON.parse((await resumed.next())!.data).payload, 'd');
      resumed.close();
    } finally {
      await node.close();
    }
  });

  test("a tail from 0 reads a long history at the reader's pace; Last-Event-ID resumes after a cut", async () => {
    const node = await startTestNode({ channels: [memorySpec(CHANNEL)] });
    try {
      for (let start = 0; start < 5000; start += 1000)
        await appendText(node.url, ...Array.from({ length: 1000 }, (_, i) => `e${start + i}`));
      const sse = await TestSse.open(`${node.url}${TAIL}?from=0&encoding=utf8`);
      for (let seq = 0; seq < 3000; seq++) {
        const message = await sse.next(`event ${seq}`);
        assert.equal(message!.event, 'message');
        assert.equal(message!.id, String(seq));
      }
      sse.close();
      // What an EventSource does on reconnect: send the last id it saw.
      const resumed = await TestSse.open(`${node.url}${TAIL}?encoding=utf8`, {
        'last-event-id': '2999',
      });
      for (let seq = 3000; seq < 5000; seq++) {
        const message = await resumed.next(`event ${seq}`);
        assert.equal(message!.id, String(seq));
        assert.equal(JSON.parse(message!.data).payload, `e${seq}`);
      }
      resumed.close();
    } finally {
      await node.close();
    }
  });

  test('a reader that stops reading never slows appends and then gets every event in order', async () => {
    const node = await startTestNode({ channels: [memorySpec(CHANNEL)] });
    try {
      const sse = await TestSse.open(`${node.url}${TAIL}`, {}, { paused: true });
      // 16 MiB (21 MiB of base64) is more than the socket buffers hold: the node's writes block.
      for (let i = 0; i < SLOW_EVENTS; i++) {
        const answer = await api(node.url, 'POST', EVENTS, {
          body: Buffer.alloc(1024 * 1024, i),
          headers: { 'content-type': 'application/octet-stream' },
        });
        assert.equal(answer.status, 201, 'the append is answered while the reader sleeps');
      }
      sse.resume();
      for (let seq = 0; seq < SLOW_EVENTS; seq++) {
        const message = await sse.next(`event ${seq}`);
        assert.equal(message!.event, 'message');
        assert.equal(JSON.parse(message!.data).seq, seq);
      }
      sse.close();
    } finally {
      await node.close();
    }
  });

  test('retention that evicts what a stalled reader has not read → LAGGED naming the first retained seq', async () => {
    const node = await startTestNode({
      channels: [
        {
          name: CHANNEL,
          file: { persistent: false, retention: { maxEvents: 2 }, tailBufferSize: 1 },
          replication: null,
        },
      ],
    });
    try {
      const sse = await TestSse.open(`${node.url}${TAIL}`, {}, { paused: true });
      for (let i = 0; i < SLOW_EVENTS; i++) {
        await api(node.url, 'POST', EVENTS, {
          body: Buffer.alloc(1024 * 1024, i),
          headers: { 'content-type': 'application/octet-stream' },
        });
      }
      await node.redex!.sweepRetention();
      sse.resume();
      let delivered = 0;
      for (;;) {
        const message = await sse.next('events, then LAGGED');
        assert.ok(message !== null, 'the stream ends with an error, not silently');
        if (message.event === 'message') {
          assert.equal(JSON.parse(message.data).seq, delivered++);
          continue;
        }
        assert.equal(message.event, 'error');
        const { error } = JSON.parse(message.data);
        assert.equal(error.code, 'LAGGED');
        assert.equal(error.lostSeq, delivered, 'lost exactly after the last delivered event');
        assert.equal(error.resumeSeq, SLOW_EVENTS - 2, 'the first seq still retained');
        break;
      }
      assert.ok(delivered < SLOW_EVENTS - 2);
      await withTimeout(sse.ended, 'the stream ends after LAGGED');
    } finally {
      await node.close();
    }
  });

  test('a write that cannot drain within the write timeout ends the stream, counted', async () => {
    const node = await startTestNode({
      channels: [memorySpec(CHANNEL)],
      http: { sseWriteTimeoutMs: 100 },
    });
    try {
      const sse = await TestSse.open(`${node.url}${TAIL}`, {}, { paused: true });
      for (let i = 0; i < SLOW_EVENTS; i++) {
        await api(node.url, 'POST', EVENTS, {
          body: Buffer.alloc(1024 * 1024, i),
          headers: { 'content-type': 'application/octet-stream' },
        });
      }
      await eventually(() => node.http.streamCount === 0, 'the stalled stream is cut');
      await eventually(
        async () => (await node.service.channel(CHANNEL)).tails === 0,
        'its tail is freed',
      );
      const metrics = (await api(node.url, 'GET', '/metrics')).text;
      assert.match(metrics, /redex_http_sse_stalled_total\{kind="tail"\} 1/);
      sse.close();
    } finally {
      await node.close();
    }
  });

  test('past the per-address stream limit a new stream is 503 TOO_MANY_STREAMS', async () => {
    const node = await startTestNode({
      channels: [memorySpec(CHANNEL)],
      http: { streamsPerAddressMax: 2 },
    });
    try {
      const first = await TestSse.open(`${node.url}${TAIL}`);
      const second = await TestSse.open(`${node.url}/events/status`);
      await first.waitForRaw(': tail');
      const third = await api(node.url, 'GET', TAIL);
      assert.equal(third.status, 503);
      assert.equal(third.json.error.code, 'TOO_MANY_STREAMS');
      first.close();
      await eventually(() => node.http.streamCount === 1, 'the slot is free again');
      const fourth = await TestSse.open(`${node.url}${TAIL}`);
      assert.equal(fourth.status, 200);
      fourth.close();
      second.close();
    } finally {
      await node.close();
    }
  });

  test('shutdown does not wait for a reader that stopped reading', async () => {
    const node = await startTestNode({
      channels: [{ name: CHANNEL, file: { persistent: false }, replication: null }],
    });
    const sse = await TestSse.open(`${node.url}${TAIL}`, {}, { paused: true });
    for (let i = 0; i < SLOW_EVENTS; i++) {
      await api(node.url, 'POST', EVENTS, {
        body: Buffer.alloc(1024 * 1024, i),
        headers: { 'content-type': 'application/octet-stream' },
      });
    }
    try {
      // Well below CLOSE_TIMEOUT_MS: streams are cut, not waited for.
      await withTimeout(node.close(), 'closing with a stuck reader', CLOSE_TIMEOUT_MS / 2);
    } finally {
      sse.close();
    }
  });

  test('a client that leaves while its tail is being opened leaves nothing behind', async () => {
    const service = new FakeService();
    await service.createChannel(memorySpec(CHANNEL));
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let opened = false;
    let handedOut = false;
    service.overrides.tail = async (channel, fromSeq) => {
      opened = true;
      await gate;
      const stream = await service.inner.tail(channel, fromSeq);
      handedOut = true;
      return stream;
    };
    const node = await startTestNode({ service });
    try {
      const request = http.get(`${node.url}${TAIL}`);
      request.on('error', () => {});
      await eventually(() => opened, 'the node is opening the tail');
      request.destroy();
      // The node counts a request when its response closes: then it has seen the client go.
      await eventually(
        async () =>
          /redex_http_requests_total\{route="tail"/.test(
            (await api(node.url, 'GET', '/metrics')).text,
          ),
        'the node saw the client leave',
      );
      release();
      await eventually(() => handedOut, 'the tail was handed to the HTTP layer');
      await eventually(
        async () => (await service.channel(CHANNEL)).tails === 0 && node.http.streamCount === 0,
        'the tail is closed and no stream is tracked',
      );
    } finally {
      await node.close();
    }
  });

  test('heartbeat comments keep an idle stream alive', async () => {
    const node = await startTestNode({
      channels: [memorySpec(CHANNEL)],
      http: { heartbeatMs: 20 },
    });
    try {
      const sse = await TestSse.open(`${node.url}${TAIL}`);
      await sse.waitForRaw(': keep-alive\n\n');
      sse.close();
    } finally {
      await node.close();
    }
  });

  test('a node that shuts down ends the stream with an end event', async () => {
    const node = await startTestNode({ channels: [memorySpec(CHANNEL)] });
    const sse = await TestSse.open(`${node.url}${TAIL}`);
    await sse.waitForRaw(': tail');
    await node.close();
    const end = await sse.next('the end event');
    assert.equal(end!.event, 'end');
    assert.deepEqual(JSON.parse(end!.data), { reason: 'shutdown' });
    await withTimeout(sse.ended, 'the stream closes');
  });

  test('errors before the stream starts are plain JSON answers', async () => {
    const node = await startTestNode({ channels: [memorySpec(CHANNEL)] });
    try {
      const missing = await api(node.url, 'GET', '/channels/nope/tail');
      assert.equal(missing.status, 404);
      assert.equal(missing.json.error.code, 'CHANNEL_NOT_FOUND');
      assert.equal(node.http.streamCount, 0);
      const bad = await api(node.url, 'GET', `${TAIL}?from=x`);
      assert.equal(bad.status, 400);
      assert.equal((await api(node.url, 'GET', `${TAIL}?encoding=hex`)).status, 400);
      assert.equal((await api(node.url, 'POST', TAIL)).status, 405);
    } finally {
      await node.close();
    }
  });

  test('past the stream limit a new stream is 503 TOO_MANY_STREAMS', async () => {
    const node = await startTestNode({ channels: [memorySpec(CHANNEL)], http: { streamsMax: 1 } });
    try {
      const first = await TestSse.open(`${node.url}${TAIL}`);
      await first.waitForRaw(': tail');
      const second = await api(node.url, 'GET', TAIL);
      assert.equal(second.status, 503);
      assert.equal(second.json.error.code, 'TOO_MANY_STREAMS');
      assert.equal(
        (await node.service.channel(CHANNEL)).tails,
        1,
        'the refused stream opened no tail',
      );
      first.close();
      await eventually(() => node.http.streamCount === 0, 'the slot is free again');
      const third = await TestSse.open(`${node.url}${TAIL}`);
      assert.equal(third.status, 200);
      third.close();
    } finally {
      await node.close();
    }
  });
});

describe('status stream', () => {
  test('a status event at once, and another after an append (not waiting for the period)', async () => {
    const node = await startTestNode({
      channels: [memorySpec(CHANNEL)],
      http: { statusIntervalMs: 60_000, statusPushMinMs: 10 },
    });
    try {
      const sse = await TestSse.open(`${node.url}/events/status`);
      const first = await sse.next('the first status');
      assert.equal(first!.event, 'status');
      const status = JSON.parse(first!.data);
      assert.equal(status.node.name, 'node-a');
      assert.equal(status.channels[0].nextSeq, 0);
      await api(node.url, 'POST', EVENTS, { json: utf8Body('x') });
      const second = await sse.next('the status after the append');
      assert.equal(JSON.parse(second!.data).channels[0].nextSeq, 1);
      sse.close();
    } finally {
      await node.close();
    }
  });

  test('a burst of appends is coalesced into few pushes', async () => {
    const node = await startTestNode({
      channels: [memorySpec(CHANNEL)],
      http: { statusIntervalMs: 60_000, statusPushMinMs: 200 },
    });
    try {
      const sse = await TestSse.open(`${node.url}/events/status`);
      await sse.next('the first status');
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          api(node.url, 'POST', EVENTS, { json: utf8Body(String(i)) }),
        ),
      );
      let last = JSON.parse((await sse.next('a coalesced status'))!.data);
      let pushes = 1;
      while (last.channels[0].nextSeq < 20) {
        last = JSON.parse((await sse.next('the status reaching 20'))!.data);
        pushes++;
      }
      assert.ok(pushes <= 3, `20 appends gave ${pushes} pushes`);
      sse.close();
    } finally {
      await node.close();
    }
  });

  test('pushes periodically without changes', async () => {
    const node = await startTestNode({ http: { statusIntervalMs: 20 } });
    try {
      const sse = await TestSse.open(`${node.url}/events/status`);
      const atMs: number[] = [];
      for (let i = 0; i < 3; i++)
        atMs.push(JSON.parse((await sse.next('a periodic status'))!.data).atMs);
      assert.ok(atMs[2]! > atMs[0]!, 'fresh snapshots');
      sse.close();
      await eventually(() => node.http.streamCount === 0, 'the status stream is freed');
    } finally {
      await node.close();
    }
  });
});
