// A leader ships its appends while it fsyncs them (docs/DESIGN.md#ship-before-fsync): replicas
// hold and confirm them before the leader's own fsync ends, commit counts the leader only once
// its copy is durable, and a leader that dies before its fsync loses nothing that was committed.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { QuorumScenario, type Write } from './scenario-harness.js';
import type { SimNode } from './sim-cluster.js';

/** Holds `node`'s data-file fsyncs until `release` (or until its crash fails them). */
function holdDataSyncs(node: SimNode): { release(): void; held(): number } {
  let open: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  let held = 0;
  node.crashPoints.beforeSync = (path) => {
    if (!path.endsWith('.dat')) return undefined;
    held++;
    return gate;
  };
  return {
    release: () => {
      node.crashPoints.beforeSync = undefined;
      open();
    },
    held: () => held,
  };
}

function others(s: QuorumScenario, leader: SimNode): SimNode[] {
  return s.nodes.filter((node) => node !== leader);
}

describe('ship before fsync', () => {
  test('replicas hold and commit a leader append whose fsync has not ended; it is acknowledged after', async () => {
    const s = await QuorumScenario.start('ship-early', { seed: 401, nodes: 3, fsync: 'always' });
    const leader = await s.leader();
    await s.writeAll(leader, 3, 'quorum', 'before');
    const gate = holdDataSyncs(leader);
    const write: Write = s.write(leader, 'quorum', 'held');
    const replicas = others(s, leader);
    await s.until(
      () => replicas.every((node) => node.file!.nextSeq === 4),
      20 * 100,
      'both replicas hold the held append durably',
    );
    assert.ok(gate.held() > 0, 'the leader is inside its fsync');
    assert.equal(leader.file!.nextSeq, 3, 'not visible on the leader before its fsync');
    assert.equal(s.runtime(leader).commitSeq, 4, 'two replicas of three commit it');
    assert.equal(write.outcome, null, 'the append waits for the leader fsync');
    // The next append is written and shipped while the first fsync still runs.
    const next: Write = s.write(leader, 'quorum', 'during');
    await s.until(
      () => replicas.every((node) => node.file!.nextSeq === 5),
      20 * 100,
      'both replicas hold the append written during the fsync',
    );
    assert.equal(s.runtime(leader).commitSeq, 5);
    assert.equal(next.outcome, null);
    gate.release();
    await s.settled([write, next]);
    assert.deepEqual(write.outcome, { kind: 'ok', seq: 3 });
    assert.deepEqual(next.outcome, { kind: 'ok', seq: 4 });
    await s.finish();
  });

  test("a log's first event shipped before its fsync starts every replica's log at 0", async () => {
    const s = await QuorumScenario.start('ship-early-first', {
      seed: 404,
      nodes: 3,
      fsync: 'always',
    });
    const leader = await s.leader();
    const gate = holdDataSyncs(leader);
    const write = s.write(leader, 'quorum', 'first');
    const replicas = others(s, leader);
    await s.until(
      () => replicas.every((node) => node.file!.nextSeq === 1),
      20 * 100,
      'both replicas hold it',
    );
    for (const node of replicas)
      assert.equal(node.file!.firstSeq, 0, `${node.name} skipped nothing`);
    gate.release();
    await s.settled([write]);
    assert.deepEqual(write.outcome, { kind: 'ok', seq: 0 });
    await s.finish();
  });

  test('with one replica, commit waits for the leader fsync', async () => {
    const s = await QuorumScenario.start('ship-early-one', {
      seed: 402,
      nodes: 3,
      fsync: 'always',
    });
    const leader = await s.leader();
    await s.writeAll(leader, 2, 'quorum', 'before');
    const [near, far] = others(s, leader);
    s.cluster.partition([[leader, near!], [far!]]);
    const gate = holdDataSyncs(leader);
    const write = s.write(leader, 'quorum', 'held');
    await s.until(() => near!.file!.nextSeq === 3, 20 * 100, 'the replica holds it');
    await s.step(200);
    assert.equal(s.runtime(leader).commitSeq, 2, 'one copy of three is not a majority');
    assert.equal(write.outcome, null);
    gate.release();
    await s.settled([write]);
    assert.deepEqual(write.outcome, { kind: 'ok', seq: 2 });
    assert.equal(s.runtime(leader).commitSeq, 3);
    await s.finish();
  });

  test('a leader that crashes inside its fsync loses its copy; the committed append survives on the others', async () => {
    const s = await QuorumScenario.start('ship-early-crash', {
      seed: 403,
      nodes: 3,
      fsync: 'always',
    });
    const leader = await s.leader();
    await s.writeAll(leader, 3, 'quorum', 'before');
    const gate = holdDataSyncs(leader);
    const write = s.write(leader, 'quorum', 'held');
    const replicas = others(s, leader);
    await s.until(
      () => replicas.every((node) => node.file!.nextSeq === 4),
      20 * 100,
      'both replicas hold it',
    );
    // The crash loses what the leader had not fsynced; its held fsync then fails on a dead file.
    const crashing = s.cluster.crashNode(leader);
    gate.release();
    await crashing;
    await s.settled([write]);
    assert.equal(write.outcome?.kind, 'unknown', 'the writer cannot know: its leader died');
    const next = await s.leader(replicas);
    assert.equal(next.file!.nextSeq >= 4, true, 'the new leader holds the append');
    const log = await s.finish();
    assert.equal(
      log.some((line) => line.includes(':held:')),
      true,
      'the append the dead leader shipped is in every final log',
    );
  });
});
