// `redex append` against a node that does not lead the channel: it follows the NOT_LEADER answer
// once to the leader's HTTP address (for every later batch too), and gives up with a clear
// message when the leader's address is unknown or the redirect is answered NOT_LEADER again.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NotLeaderError } from '../../src/log/errors.js';
import { FakeService } from '../node/fake-service.js';
import { api, memorySpec, startTestNode, type TestNode } from '../node/helpers.js';
import { redex } from './helpers.js';

const CHANNEL = 'orders/audit';

/** A follower whose every append answers NOT_LEADER naming node-b, reached at `leaderUrl`. */
async function follower(
  leaderUrl: string | null,
): Promise<{ node: TestNode; service: FakeService; refused: () => number }> {
  let refused = 0;
  const service = new FakeService({}, [
    { name: 'node-a', nodeId: 1n, mesh: '127.0.0.1:17071', http: null },
    { name: 'node-b', nodeId: 2n, mesh: '127.0.0.1:17072', http: leaderUrl },
  ]);
  await service.createChannel(memorySpec(CHANNEL));
  service.overrides.append = async (channel) => {
    refused++;
    throw new NotLeaderError(channel, 2n, '127.0.0.1:17072');
  };
  return { node: await startTestNode({ service }), service, refused: () => refused };
}

async function leaderPayloads(leader: TestNode): Promise<string[]> {
  const answer = await api(leader.url, 'GET', '/channels/orders%2Faudit/events?encoding=utf8');
  return answer.json.events.map((event: { payload: string }) => event.payload);
}

describe('append follows NOT_LEADER', () => {
  test('arguments: the append lands on the leader, with a note on stderr', async () => {
    const leader = await startTestNode({ channels: [memorySpec(CHANNEL)] });
    const { node } = await follower(leader.url);
    try {
      const result = await redex(['--url', node.url, 'append', CHANNEL, 'hello', 'world']);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, `${CHANNEL}: appended 2 events, seqs 0..1\n`);
      assert.match(
        result.stderr,
        new RegExp(`does not lead ${CHANNEL}; following to node-b at ${leader.url}`),
      );
      assert.deepEqual(await leaderPayloads(leader), ['hello', 'world']);
    } finally {
      await node.close();
      await leader.close();
    }
  });

  test('stdin: one redirect, then every batch goes to the leader', async () => {
    const leader = await startTestNode({ channels: [memorySpec(CHANNEL)] });
    const { node, refused } = await follower(leader.url);
    try {
      const lines = Array.from({ length: 25 }, (_, i) => `l${i}`);
      const result = await redex(['--url', node.url, 'append', CHANNEL, '--batch', '10'], {
        stdin: `${lines.join('\n')}\n`,
      });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(refused(), 1, 'only the first batch went to the follower');
      assert.equal(result.stderr.match(/following to/g)?.length, 1);
      assert.deepEqual(await leaderPayloads(leader), lines);
    } finally {
      await node.close();
      await leader.close();
    }
  });

  test('a leader whose HTTP address is unknown: exit 1, nothing appended anywhere', async () => {
    const { node, service } = await follower(null);
    try {
      const result = await redex(['--url', node.url, 'append', CHANNEL, 'x']);
      assert.equal(result.code, 1);
      assert.match(
        result.stderr,
        /does not lead "orders\/audit"; the leader is node 2 .*HTTP address is not known/,
      );
      assert.equal((await service.inner.channel(CHANNEL)).nextSeq, 0);
    } finally {
      await node.close();
    }
  });

  test('only once: a second NOT_LEADER is reported, not followed', async () => {
    const second = await follower(null);
    const first = await follower(second.node.url);
    try {
      const result = await redex(['--url', first.node.url, 'append', CHANNEL, 'x']);
      assert.equal(result.code, 1);
      assert.equal(first.refused(), 1);
      assert.equal(second.refused(), 1);
      assert.equal(result.stderr.match(/following to/g)?.length, 1);
      assert.match(result.stderr, /redex: this node does not lead/);
    } finally {
      await first.node.close();
      await second.node.close();
    }
  });
});
