// The cluster service behind the HTTP API, three `startNode` members in one process: a create on
// one node opens the channel on all three (and each remembers it), a replica answers NOT_LEADER
// with the leader's HTTP origin, `replicas` waits for the replicas, status shows peers with RTT
// and every holder's tail and lag, /metrics carries the replication and mesh series, and a
// member that was down when a channel was created gets it when it comes back.

import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REGISTRY_FILE } from '../../src/node/channel-registry.js';
import { LeadershipResult } from '../../src/node/http/api-schemas.js';
import { compileCheck } from '../../src/node/http/schema-check.js';
import { CLUSTER_NAMES, startCluster, type TestCluster } from './cluster-helpers.js';
import { api, eventually, utf8Body } from './helpers.js';

const CHANNEL = 'orders/audit';
const PATH = `/channels/${encodeURIComponent(CHANNEL)}`;
const SPEC = { name: CHANNEL, replication: { factor: 3, heartbeatMs: 100 } };

let cluster: TestCluster;

/**
 * The index of the node every member agrees leads CHANNEL. With every member up, that is the
 * channel's preferred leader (the first of its replica set): a first election may go elsewhere,
 * and the channel then moves back to it by a leadership transfer.
 */
async function leaderIndex(): Promise<number> {
  let found = -1;
  await eventually(async () => {
    const channels = await Promise.all(
      cluster.urls.map(async (url, i) =>
        cluster.nodes[i] === null ? null : (await api(url, 'GET', PATH)).json,
      ),
    );
    const roles = channels.map((channel) => channel?.role ?? null);
    found = roles.indexOf('leader');
    if (found < 0 || roles.filter((role) => role === 'leader').length !== 1) return false;
    const allUp = cluster.nodes.every((node) => node !== null);
    return !allUp || channels[found].replicas[0].name === CLUSTER_NAMES[found];
  }, 'one leader');
  return found;
}

describe('cluster service', { timeout: 60_000 }, () => {
  before(async () => {
    cluster = await startCluster();
  });
  after(async () => {
    await cluster?.close();
  });

  test('a create on one node opens and remembers the channel on every node', async () => {
    const created = await api(cluster.urls[1]!, 'POST', '/channels', { json: SPEC });
    assert.equal(created.status, 201, created.text);
    assert.deepEqual(
      created.json.members
        .map((m: { name: string; created: boolean }) => `${m.name}:${m.created}`)
        .sort(),
      ['node-a:true', 'node-c:true'],
    );
    for (const [i, url] of cluster.urls.entries()) {
      const channel = await api(url, 'GET', PATH);
      assert.equal(channel.status, 200, `${CLUSTER_NAMES[i]}: ${channel.text}`);
      const registry = JSON.parse(
        await readFile(join(cluster.dir, CLUSTER_NAMES[i]!, REGISTRY_FILE), 'utf8'),
      );
      assert.deepEqual(
        registry.channels.map((c: { name: string }) => c.name),
        [CHANNEL],
      );
    }
    const again = await api(cluster.urls[0]!, 'POST', '/channels', { json: SPEC });
    assert.equal(again.status, 200);
    assert.ok(again.json.members.every((m: { created: boolean }) => m.created === false));
  });

  test('writes: NOT_LEADER on a replica names the leader; replicas waits; status and metrics', async () => {
    const leader = await leaderIndex();
    const replica = (leader + 1) % 3;
    const refused = await api(cluster.urls[replica]!, 'POST', `${PATH}/events`, {
      json: utf8Body('nope'),
    });
    assert.equal(refused.status, 421, refused.text);
    assert.equal(refused.json.error.code, 'NOT_LEADER');
    assert.equal(refused.json.error.leader.http, cluster.urls[leader]);
    assert.equal(refused.json.error.leader.name, CLUSTER_NAMES[leader]);

    const appended = await api(cluster.urls[leader]!, 'POST', `${PATH}/events?replicas=2`, {
      json: { events: ['YQ==', 'Yg==', 'Yw=='] },
    });
    assert.equal(appended.status, 201, appended.text);
    assert.deepEqual(appended.json, { firstSeq: 0, lastSeq: 2, count: 3 });
    // replicas=2 answered: both replicas hold seq 2. Reads show committed events, and a replica
    // learns the commit one message after the leader, so it may take a moment to show them.
    for (const url of cluster.urls) {
      let payloads: string[] = [];
      for (let attempt = 0; attempt < 200; attempt++) {
        const read = await api(url, 'GET', `${PATH}/events?encoding=utf8`);
        payloads = read.json.events.map((e: { payload: string }) => e.payload);
        if (payloads.length === 3) break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.deepEqual(payloads, ['a', 'b', 'c']);
    }
    const tooMany = await api(cluster.urls[leader]!, 'POST', `${PATH}/events?replicas=3`, {
      json: utf8Body('x'),
    });
    assert.equal(tooMany.status, 400, tooMany.text);

    await eventually(async () => {
      const status = (await api(cluster.urls[leader]!, 'GET', '/status')).json;
      const channel = status.channels[0];
      return (
        status.node.mode === 'cluster' &&
        status.peers.length === 2 &&
        status.peers.every(
          (p: { connected: boolean; rttMs: number | null }) => p.connected && p.rttMs !== null,
        ) &&
        channel.role === 'leader' &&
        channel.leader.name === CLUSTER_NAMES[leader] &&
        channel.replicas.length === 3 &&
        channel.replicas.every(
          (r: { tailSeq: number; lagEvents: number; role: string }) =>
            r.tailSeq === 3 && r.lagEvents === 0 && (r.role === 'leader' || r.role === 'replica'),
        )
      );
    }, 'the leader status shows both peers and every replica at tail 3');
    const metrics = (await api(cluster.urls[leader]!, 'GET', '/metrics')).text;
    assert.match(metrics, /redex_mesh_connected_peers 2/);
    assert.match(metrics, /redex_channel_appends_total\{channel="orders\/audit"\} 3/);
    assert.match(metrics, /redex_replication_replica_lag_events\{/);
  });

  test('leadership moves to the named member over HTTP; a stopping leader hands its channels over', async () => {
    const leader = await leaderIndex();
    const target = (leader + 1) % 3;
    const other = (leader + 2) % 3;
    const before = (await api(cluster.urls[leader]!, 'GET', PATH)).json.epoch as number;
    const refused = await api(cluster.urls[target]!, 'POST', `${PATH}/leadership`);
    assert.equal(refused.status, 421, refused.text);
    assert.equal(refused.json.error.code, 'NOT_LEADER');
    const unknown = await api(cluster.urls[leader]!, 'POST', `${PATH}/leadership?to=node-z`);
    assert.equal(unknown.status, 400, unknown.text);
    assert.match(unknown.json.error.message, /node-z/);
    const moved = await api(
      cluster.urls[leader]!,
      'POST',
      `${PATH}/leadership?to=${CLUSTER_NAMES[target]}`,
    );
    assert.equal(moved.status, 200, moved.text);
    assert.equal(compileCheck(LeadershipResult)(moved.json), null, 'the documented answer');
    assert.equal(moved.json.leader.name, CLUSTER_NAMES[target]);
    assert.equal(moved.json.epoch, before + 1);
    // The target keeps it (ten silence windows at least) before the preferred member gets it back.
    const seen = (await api(cluster.urls[target]!, 'GET', PATH)).json;
    assert.equal(seen.role, 'leader');
    const written = await api(cluster.urls[target]!, 'POST', `${PATH}/events`, {
      json: utf8Body('after transfer'),
    });
    assert.equal(written.status, 201, written.text);

    // A graceful stop of the new leader hands the channel over (a stand-now, not a silence window).
    await cluster.stop(target);
    await eventually(async () => {
      const channel = (await api(cluster.urls[other]!, 'GET', PATH)).json;
      return channel.epoch === before + 2 && channel.leader !== null;
    }, 'a leader of the next epoch right after the stop');
    const stood = await Promise.all(
      [leader, other].map(async (i) => (await api(cluster.urls[i]!, 'GET', '/metrics')).text),
    );
    assert.ok(
      stood.some((text) =>
        /redex_replication_transfers_total\{[^}]*result="stood"[^}]*\} 1/.test(text),
      ),
      'one survivor stood on a transfer',
    );
    await cluster.start(target);
    await leaderIndex();
  });

  test('guarded appends on the leader; a delete on any node removes the channel everywhere', async () => {
    const name = 'gone/soon';
    const path = `/channels/${encodeURIComponent(name)}`;
    const spec = { name, replication: { factor: 3, heartbeatMs: 100 } };
    const created = await api(cluster.urls[0]!, 'POST', '/channels', { json: spec });
    assert.equal(created.status, 201, created.text);
    let leader = -1;
    await eventually(async () => {
      const roles = await Promise.all(
        cluster.urls.map(async (url) => (await api(url, 'GET', path)).json?.role),
      );
      leader = roles.indexOf('leader');
      return leader >= 0;
    }, 'gone/soon has a leader');
    const first = await api(cluster.urls[leader]!, 'POST', `${path}/events?ifNextSeq=0`, {
      json: utf8Body('a'),
    });
    assert.equal(first.status, 201, first.text);
    const stale = await api(cluster.urls[leader]!, 'POST', `${path}/events?ifNextSeq=0`, {
      json: utf8Body('b'),
    });
    assert.equal(stale.status, 409, stale.text);
    assert.equal(stale.json.error.code, 'SEQ_MISMATCH');
    assert.equal(stale.json.error.nextSeq, 1);

    const deleter = (leader + 1) % 3;
    const deleted = await api(cluster.urls[deleter]!, 'DELETE', path);
    assert.equal(deleted.status, 204, deleted.text);
    assert.equal(deleted.headers.get('x-redex-delete-pending'), null);
    for (const [i, url] of cluster.urls.entries()) {
      const node = CLUSTER_NAMES[i]!;
      const gone = await api(url, 'GET', path);
      assert.equal(gone.status, 404, `${node}: ${gone.text}`);
      assert.equal(gone.json.error.code, 'CHANNEL_NOT_FOUND');
      const registry = JSON.parse(await readFile(join(cluster.dir, node, REGISTRY_FILE), 'utf8'));
      assert.ok(
        registry.channels.every((c: { name: string }) => c.name !== name),
        `${node} forgot it`,
      );
      await assert.rejects(
        stat(join(cluster.dir, node, 'channels', 'gone', 'soon', '@redex')),
        `${node} deleted its files`,
      );
    }
    // Created again, it starts from seq 0 everywhere.
    const again = await api(cluster.urls[0]!, 'POST', '/channels', { json: spec });
    assert.equal(again.status, 201, again.text);
    assert.equal(again.json.channel.nextSeq, 0);
    assert.equal((await api(cluster.urls[0]!, 'DELETE', path)).status, 204);
  });

  test('a member down at create time gets the channel when it comes back', async () => {
    await cluster.stop(2);
    const late = { name: 'late/one', replication: { factor: 3, heartbeatMs: 100 } };
    const created = await api(cluster.urls[0]!, 'POST', '/channels', { json: late });
    assert.equal(created.status, 201, created.text);
    const missed = created.json.members.find((m: { name: string }) => m.name === 'node-c');
    assert.equal(missed.error.code, 'UNAVAILABLE');
    await cluster.start(2);
    await eventually(
      async () => (await api(cluster.urls[2]!, 'GET', '/channels/late%2Fone')).status === 200,
      'node-c opens late/one once it is back',
    );
  });
});
