// Three RedEX node processes on 127.0.0.1 (ephemeral ports, fresh certificates, persistent logs in
// a temp dir, mutual TLS, heartbeatMs 100), driven through fixtures/node.ts. In order:
// 10,000 events replicated byte-identical to both replicas; a partition injected through the
// transport fault hook (blockPeer) heals and converges; SIGKILL of the leader → a surviving node
// accepts a write within 1 s (measured); the killed node restarts on its data dir, rejoins as a
// replica and catches up; a node with a certificate from a foreign CA never connects.
// Every process is killed in `after`, whatever happened.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initCa, issueNodeCert, nodeIdOfCertFile } from '../../src/mesh/index.js';
import type { FixtureConfig } from './fixtures/node.js';
import { type Answer, eventually, killAll, NodeProcess } from './harness.js';
import { LogDigest, payloadFor } from './payload.js';

const CHANNEL = 'e2e/events';
const HEARTBEAT_MS = 100;
const PAYLOAD_BYTES = 100;
const BULK_EVENTS = 10_000;
/** What the issue asks of failover at heartbeatMs 100. */
const FAILOVER_MS_MAX = 1_000;
const STEP_TIMEOUT_MS = 60_000;

let dir: string;
let certsDir: string;
let foreignDir: string;
let members: { name: string; nodeId: string }[];
const nodes = new Map<string, NodeProcess>();
/** Every append the test made, in seq order: the log every node must converge to. */
const history: { tag: string; count: number }[] = [];

function expectedDigest(): { digest: string; count: number } {
  const digest = new LogDigest();
  let seq = 0;
  for (const { tag, count } of history) {
    for (let i = 0; i < count; i++) digest.add(seq++, payloadFor(tag, i, PAYLOAD_BYTES));
  }
  return { digest: digest.hex(), count: digest.count };
}

function configFor(name: string, port = 0): FixtureConfig {
  return {
    name,
    certsDir,
    dataDir: join(dir, `data-${name}`),
    port,
    members,
    channel: CHANNEL,
    heartbeatMs: HEARTBEAT_MS,
  };
}

function addressOf(node: NodeProcess) {
  return { nodeId: node.nodeId, host: '127.0.0.1', port: node.port };
}

function alive(): NodeProcess[] {
  return [...nodes.values()].filter((n) => n.alive);
}

async function statuses(list = alive()): Promise<Answer[]> {
  return Promise.all(list.map((node) => node.call('status')));
}

/** One leader among `list` that every other node of `list` follows; returns it. */
async function agreedLeader(list = alive()): Promise<NodeProcess> {
  return eventually(async () => {
    const all = await statuses(list);
    const leaders = all.filter((s) => s.role === 'leader');
    if (leaders.length !== 1) return undefined;
    const id = leaders[0]!.nodeId;
    if (!all.every((s) => s.role === 'leader' || (s.role === 'replica' && s.leader === id))) {
      return undefined;
    }
    return list.find((n) => n.nodeId === id);
  }, 'one agreed leader');
}

/** Every node of `list` holds exactly the test's history, byte for byte. */
async function assertConverged(list = alive()): Promise<void> {
  const expected = expectedDigest();
  await eventually(
    async () =>
      (await statuses(list)).every((s) => s.nextSeq === expected.count) ? true : undefined,
    `every node at ${expected.count} events`,
  );
  for (const node of list) {
    const { digest, count } = await node.call('digest', { start: 0, end: expected.count });
    assert.equal(count, expected.count, `${node.name} event count`);
    assert.equal(digest, expected.digest, `${node.name} holds other bytes`);
  }
}

async function append(node: NodeProcess, tag: string, count: number): Promise<Answer> {
  const answer = await node.call('append', { tag, count, size: PAYLOAD_BYTES, batch: 500 });
  history.push({ tag, count });
  return answer;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'redex-e2e-'));
  certsDir = join(dir, 'certs');
  foreignDir = join(dir, 'foreign-certs');
  await initCa(certsDir);
  await initCa(foreignDir);
  await issueNodeCert(foreignDir, 'f', { hosts: ['127.0.0.1'] });
  members = [];
  for (const name of ['a', 'b', 'c']) {
    await issueNodeCert(certsDir, name, { hosts: ['127.0.0.1'] });
    members.push({ name, nodeId: String(await nodeIdOfCertFile(join(certsDir, `${name}.crt`))) });
  }
  const started = await Promise.all(members.map(({ name }) => NodeProcess.start(configFor(name))));
  for (const node of started) nodes.set(node.name, node);
  // Ports are known only now: tell each node where the others listen.
  for (const node of started) {
    await node.call('peers', { peers: started.filter((n) => n !== node).map(addressOf) });
  }
  await eventually(
    async () => ((await statuses()).every((s) => s.connected.length === 2) ? true : undefined),
    'a full mesh',
  );
});

after(async () => {
  await killAll();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('e2e: three node processes', () => {
  it('replicates 10,000 events byte-identical to both replicas', {
    timeout: STEP_TIMEOUT_MS,
  }, async (t) => {
    const leader = await agreedLeader();
    const started = Date.now();
    const answer = await append(leader, 'bulk', BULK_EVENTS);
    assert.deepEqual([answer.first, answer.last], [0, BULK_EVENTS - 1]);
    await leader.call('waitReplicas', { seq: BULK_EVENTS - 1, count: 2, timeoutMs: 30_000 });
    t.diagnostic(
      `10,000 × ${PAYLOAD_BYTES} B appended and acknowledged by 2 replicas in ${Date.now() - started} ms`,
    );
    await assertConverged();
    // Every node advertises all three holders through chain tags.
    for (const status of await statuses()) {
      assert.deepEqual(
        status.holders.map((h: Answer) => h.nodeId).sort(),
        members.map((m) => m.nodeId).sort(),
      );
    }
  });

  it('a partition through the fault hook heals and converges', {
    timeout: STEP_TIMEOUT_MS,
  }, async () => {
    const old = await agreedLeader();
    const others = alive().filter((n) => n !== old);
    for (const other of others) await old.call('block', { nodeId: other.nodeId });
    const leader = await agreedLeader(others);
    assert.notEqual(leader, old);
    const before = (await old.call('status')).nextSeq;
    await append(leader, 'split', 500);
    await leader.call('waitReplicas', { seq: before + 499, count: 1, timeoutMs: 10_000 });
    const cutOff = await old.call('status');
    assert.equal(cutOff.nextSeq, before, 'the isolated node got nothing');
    assert.deepEqual(cutOff.connected, []);
    for (const other of others) await old.call('unblock', { nodeId: other.nodeId });
    assert.equal(await agreedLeader(), leader, 'the majority leader (higher tail) keeps it');
    await assertConverged();
  });

  it('SIGKILL of the leader: a new leader accepts writes within 1 s', {
    timeout: STEP_TIMEOUT_MS,
  }, async (t) => {
    const leader = await agreedLeader();
    await assertConverged();
    const survivors = alive().filter((n) => n !== leader);
    const killedAt = performance.now();
    await leader.kill('SIGKILL');
    const winner = await eventually(
      async () => {
        for (const node of survivors) {
          const answer = await node.request('append', {
            tag: 'failover',
            count: 1,
            size: PAYLOAD_BYTES,
          });
          if (answer.ok) return node;
          assert.equal(answer.error.code, 'NOT_LEADER', JSON.stringify(answer.error));
        }
        return undefined;
      },
      'a survivor accepting a write',
      10_000,
      5,
    );
    const failoverMs = performance.now() - killedAt;
    history.push({ tag: 'failover', count: 1 });
    t.diagnostic(`failover: SIGKILL → first accepted write after ${failoverMs.toFixed(0)} ms`);
    assert.ok(
      failoverMs < FAILOVER_MS_MAX,
      `failover took ${failoverMs.toFixed(0)} ms (limit ${FAILOVER_MS_MAX})`,
    );
    assert.equal(await agreedLeader(survivors), winner);
    // A replica's NOT_LEADER names the new leader and its address.
    const other = survivors.find((n) => n !== winner)!;
    const refused = await other.request('append', { tag: 'x', count: 1, size: 1 });
    assert.equal(refused.ok, false);
    assert.equal(refused.error.code, 'NOT_LEADER');
    assert.equal(refused.error.leaderNodeId, winner.nodeId);
    assert.equal(refused.error.leaderAddress, `127.0.0.1:${winner.port}`);
  });

  it('the killed node restarts on its data dir, rejoins as a replica and catches up', {
    timeout: STEP_TIMEOUT_MS,
  }, async () => {
    const killed = [...nodes.values()].find((n) => !n.alive)!;
    const survivors = alive();
    // The survivors agree on a leader before the restart.
    await agreedLeader(survivors);
    const restarted = await NodeProcess.start({
      ...configFor(killed.name, killed.port),
      peers: survivors.map(addressOf),
    });
    nodes.set(restarted.name, restarted);
    assert.equal(restarted.nodeId, killed.nodeId);
    // Its log survived the SIGKILL: it starts from its own data, not from zero.
    const first = await restarted.call('status');
    assert.ok(first.nextSeq >= BULK_EVENTS, `restarted with ${first.nextSeq} events`);
    // It rejoins as a replica of the current leader. The channel ends at its preferred member
    // (the first of the replica set): the restarted node once it caught up, or the surviving
    // preferred member, when the failover elected the other survivor (one whose log was longer
    // at the kill) — which hands the channel back through a transfer.
    const preferredId = (await restarted.call('status')).preferred;
    const preferred = alive().find((n) => n.nodeId === preferredId);
    assert.ok(preferred !== undefined, `the preferred member ${preferredId} is up`);
    const settled = await eventually(
      async () => {
        const now = await agreedLeader();
        return now === preferred ? now : undefined;
      },
      'the preferred member leads',
      20_000,
    );
    await append(settled, 'after-restart', 200);
    await settled.call('waitReplicas', {
      seq: expectedDigest().count - 1,
      count: 2,
      timeoutMs: 10_000,
    });
    await assertConverged();
  });

  it('a node with a certificate from a foreign CA never connects', {
    timeout: STEP_TIMEOUT_MS,
  }, async () => {
    const cluster = alive();
    const baseline = await statuses(cluster);
    const foreign = await NodeProcess.start({
      name: 'f',
      certsDir: foreignDir,
      dataDir: join(dir, 'data-f'),
      port: 0,
      // It believes it is in the cluster; the cluster's CA says otherwise.
      members,
      peers: cluster.map(addressOf),
    });
    nodes.set('foreign', foreign);
    // It dials each node at least twice, and each refuses it in the handshake.
    await eventually(async () => {
      const mine = await foreign.call('status');
      const theirs = await statuses(cluster);
      const refusedEverywhere = theirs.every(
        (s, i) => s.transport.handshakeFailures >= baseline[i]!.transport.handshakeFailures + 2,
      );
      return mine.transport.dialFailures >= 2 * cluster.length && refusedEverywhere
        ? true
        : undefined;
    }, 'the foreign node refused by every node, twice');
    const mine = await foreign.call('status');
    assert.deepEqual(mine.connected, []);
    assert.deepEqual(mine.peersSeen, [], 'it never identified anyone');
    assert.equal(mine.transport.connectionsDialed, 0);
    for (const status of await statuses(cluster)) {
      assert.ok(!status.peersSeen.includes(foreign.nodeId), 'nobody ever identified it');
      assert.equal(status.connected.length, 2, 'the cluster itself is intact');
    }
    await assertConverged(cluster);
  });
});
