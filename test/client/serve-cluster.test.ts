// RedexClient against three real `redex serve` processes (the demo's DemoCluster: mutual TLS
// between nodes, HTTP on loopback). A writer appends through the client, one event per call,
// while a tail that started on the leader follows the channel; the leader is SIGKILLed half-way.
// Every append the client acknowledged must be read back at its seq with its payload, appends
// with an unknown outcome are allowed either way, and the tail must show the log exactly: no
// gap, no duplicate, the same payloads as the read.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DemoCluster } from '../../src/cli/demo/cluster.js';
import { type ClientEvent, RedexClient, RedexClientError } from '../../src/client/index.js';
import { redex } from '../cli/helpers.js';
import { eventually } from '../e2e/harness.js';

const CHANNEL = 'client/failover';
const SPEC = { file: { fsync: 'always' }, replication: { factor: 3, heartbeatMs: 100 } };
/** Acknowledged appends before the kill, and after it. */
const BEFORE_KILL = 40;
const AFTER_KILL = 40;
const STEP_TIMEOUT_MS = 20_000;
const text = new TextDecoder();

describe('RedexClient against a three-node redex serve cluster', { timeout: 120_000 }, () => {
  let cluster: DemoCluster;
  const clients: RedexClient[] = [];
  /** The member the first test killed. */
  let killed: number | null = null;
  const newClient = (nodes: string[]) => {
    const client = new RedexClient({ nodes, retry: { forMs: STEP_TIMEOUT_MS } });
    clients.push(client);
    return client;
  };

  before(async () => {
    cluster = await DemoCluster.prepare();
    await Promise.all(cluster.members.map((_, i) => cluster.start(i)));
  });
  after(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await cluster?.close();
  });

  test('SIGKILL of the leader under a writer and a tail: nothing acknowledged is lost, the tail has no gap and no duplicate', async () => {
    const urls = cluster.members.map((member) => member.url);
    const writer = newClient(urls);
    await writer.createChannel(CHANNEL, SPEC);
    // The first append waits out the election (NOT_LEADER is retried) and finds the leader.
    const acked = new Map<number, string>();
    acked.set(await writer.append(CHANNEL, 'w0'), 'w0');
    const leader = await eventually(
      async () => {
        for (const [index, url] of urls.entries()) {
          const status = await writer.status({ node: url });
          const channel = status.channels.find((entry) => entry.name === CHANNEL);
          if (channel?.role === 'leader') return index;
        }
        return undefined;
      },
      'a leader',
      STEP_TIMEOUT_MS,
    );

    // The tail starts on the leader, so the kill cuts it and it must resume elsewhere.
    const tailClient = newClient([urls[leader]!, ...urls.filter((_, i) => i !== leader)]);
    const stopTail = new AbortController();
    const tailed: ClientEvent[] = [];
    let tailError: unknown = null;
    const tailing = (async () => {
      try {
        for await (const event of tailClient.tail(CHANNEL, { signal: stopTail.signal })) {
          tailed.push(event);
        }
      } catch (error) {
        if (!stopTail.signal.aborted) tailError = error;
      }
    })();

    let unknown = 0;
    let written = 1;
    const write = async (target: number) => {
      while (acked.size < target) {
        const payload = `w${written++}`;
        try {
          acked.set(await writer.append(CHANNEL, payload), payload);
        } catch (error) {
          assert.ok(error instanceof RedexClientError, String(error));
          // Only an unknown outcome may happen here: everything else was retried.
          assert.equal(error.outcome, 'unknown', `${error.code}: ${error.message}`);
          unknown++;
        }
      }
    };
    await write(BEFORE_KILL);
    await cluster.kill(leader);
    await write(BEFORE_KILL + AFTER_KILL);
    const lastAcked = Math.max(...acked.keys());

    const survivor = newClient(urls.filter((_, i) => i !== leader));
    const log = await eventually(
      async () => {
        const events: ClientEvent[] = [];
        for await (const event of survivor.read(CHANNEL)) events.push(event);
        return events.length > lastAcked ? events : undefined;
      },
      'the survivors read every acknowledged seq',
      STEP_TIMEOUT_MS,
    );
    for (const [seq, payload] of acked) {
      assert.equal(text.decode(log[seq]?.payload), payload, `acknowledged seq ${seq}`);
    }
    assert.deepEqual(
      log.map((event) => event.seq),
      log.map((_, index) => index),
    );

    await eventually(
      async () => (tailed.length >= log.length || tailError !== null ? true : undefined),
      'the tail reaches the end of the log',
      STEP_TIMEOUT_MS,
    );
    stopTail.abort();
    await tailing;
    assert.equal(tailError, null, String(tailError));
    const seqs = tailed.map((event) => event.seq);
    assert.deepEqual(
      seqs.slice(0, log.length),
      log.map((event) => event.seq),
      'no gap, no duplicate',
    );
    assert.deepEqual(
      tailed.slice(0, log.length).map((event) => text.decode(event.payload)),
      log.map((event) => text.decode(event.payload)),
    );
    assert.notEqual(tailClient.currentNode, urls[leader], 'the tail moved off the dead leader');
    // Appends cut by the kill have an unknown outcome: in the log or not, each at most once.
    const unknownInLog = log.filter((event) => !acked.has(event.seq)).length;
    assert.ok(unknownInLog <= unknown, `${unknownInLog} unacknowledged events, ${unknown} unknown`);
    killed = leader;
  });

  test('redex channel transfer hands the channel to the other survivor; the client follows', async () => {
    assert.ok(killed !== null, 'runs after the failover test');
    const survivors = cluster.members.filter((_, i) => i !== killed);
    const client = newClient(survivors.map((member) => member.url));
    const roleOf = async (url: string) =>
      (await client.status({ node: url })).channels.find((entry) => entry.name === CHANNEL)?.role;
    const leader = await eventually(
      async () => {
        for (const member of survivors) if ((await roleOf(member.url)) === 'leader') return member;
        return undefined;
      },
      'a leader among the survivors',
      STEP_TIMEOUT_MS,
    );
    const target = survivors.find((member) => member !== leader)!;
    const result = await redex([
      'channel',
      'transfer',
      CHANNEL,
      '--url',
      leader.url,
      '--to',
      target.name,
      '--json',
    ]);
    assert.equal(result.code, 0, result.stderr);
    const answer = JSON.parse(result.stdout);
    assert.equal(answer.leader.name, target.name);
    assert.equal(await roleOf(target.url), 'leader');
    const seq = await client.append(CHANNEL, 'after transfer');
    // Reads show committed events: a replica learns the commit a message after the leader.
    const read = await eventually(
      async () => {
        const events: ClientEvent[] = [];
        for await (const event of client.read(CHANNEL, { from: seq, to: seq + 1 })) {
          events.push(event);
        }
        return events.length > 0 ? events : undefined;
      },
      'the new event reads back',
      STEP_TIMEOUT_MS,
    );
    assert.equal(text.decode(read[0]?.payload), 'after transfer');
  });
});
