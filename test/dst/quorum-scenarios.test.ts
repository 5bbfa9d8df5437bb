// Quorum replication, scenario by scenario: each test builds one dangerous situation by hand
// (partitions, crashes, one-way cuts, a frozen leader, forged frames) on the simulated cluster and
// asserts what is particular to it. Every scenario is also judged by the history checker
// (scenario-harness.ts): no quorum-acknowledged append lost, byte-identical final logs, at most
// one leader per epoch, epochs and commitSeq never decreasing, no truncation at or below commit.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LeadershipLostError } from '../../src/log/errors.js';
import { Role } from '../../src/wire/types.js';
import { HEARTBEAT_MS, payloads, QuorumScenario, type Write } from './scenario-harness.js';
import type { SimNode } from './sim-cluster.js';

/** Long enough for a leaderless majority to notice and elect (silence, pre-vote, vote). */
const ELECTION_MS = 20 * HEARTBEAT_MS;

function others(s: QuorumScenario, ...except: SimNode[]): SimNode[] {
  return s.nodes.filter((node) => !except.includes(node));
}

function okSeqs(writes: readonly Write[]): number[] {
  return writes.flatMap((w) => (w.outcome?.kind === 'ok' ? [w.outcome.seq] : []));
}

function quorumOk(writes: readonly Write[]): Write[] {
  return writes.filter((w) => w.op.acks === 'quorum' && w.outcome?.kind === 'ok');
}

describe('quorum scenarios', () => {
  test('1. minority leader, writes on both sides: the minority side is never acknowledged and is cut after heal', async () => {
    const s = await QuorumScenario.start('minority-leader', { seed: 101, nodes: 3 });
    const old = await s.leader();
    const before = await s.writeAll(old, 5, 'quorum', 'before');
    assert.equal(
      quorumOk(before).length,
      5,
      'quorum appends before the partition are acknowledged',
    );
    s.cluster.partition([[old], others(s, old)]);
    const minority = Array.from({ length: 10 }, () => s.write(old, 'quorum', 'minority'));
    const next = await s.leader(others(s, old), ELECTION_MS);
    // More on the majority side than on the minority side: see 1b for equal lengths.
    const majority = await s.writeAll(next, 12, 'quorum', 'majority');
    assert.equal(quorumOk(majority).length, 12, 'the majority side acknowledges its appends');
    await s.settled(minority);
    for (const w of minority)
      assert.notEqual(w.outcome?.kind, 'ok', `minority append #${w.op.id} was never acknowledged`);
    const epochOld = s.runtime(old).epoch;
    assert.ok(s.runtime(next).epoch > epochOld, 'the majority leads a newer epoch');
    const final = payloads(
      await s.finish(() => {
        assert.ok(s.runtime(old).stats.truncations > 0, 'the old leader truncated its suffix');
      }),
    );
    for (const w of minority)
      assert.ok(!final.includes(w.op.payload), `minority append ${w.op.payload} was cut`);
  });

  test("1b. a diverged suffix as long as the leader's log is cut after heal without a new append", async () => {
    const s = await QuorumScenario.start('equal-length-divergence', { seed: 111, nodes: 3 });
    const old = await s.leader();
    await s.writeAll(old, 5, 'quorum', 'before');
    s.cluster.partition([[old], others(s, old)]);
    const minority = Array.from({ length: 10 }, () => s.write(old, 'quorum', 'minority'));
    const next = await s.leader(others(s, old), ELECTION_MS);
    await s.writeAll(next, 10, 'quorum', 'majority');
    await s.settled(minority);
    // Both sides now end at seq 15; the old leader's 5..14 are of the older epoch.
    const final = payloads(await s.finish());
    for (const w of minority) assert.ok(!final.includes(w.op.payload), `${w.op.payload} was cut`);
  });

  test('2. a stale leader restarts with 100 unreplicated events: they are cut, the acknowledged stay', async () => {
    const s = await QuorumScenario.start('stale-restart', { seed: 102, nodes: 3 });
    const old = await s.leader();
    const acked = await s.writeAll(old, 10, 'quorum', 'acked');
    assert.equal(quorumOk(acked).length, 10);
    s.cluster.partition([[old], others(s, old)]);
    const unreplicated = await s.writeAll(old, 100, 'leader', 'unreplicated');
    assert.equal(okSeqs(unreplicated).length, 100, 'the isolated leader stored 100 events');
    await s.cluster.crashNode(old);
    const next = await s.leader(others(s, old), ELECTION_MS);
    const after = await s.writeAll(next, 10, 'quorum', 'after');
    assert.equal(quorumOk(after).length, 10);
    await s.cluster.startNode(old);
    assert.equal(old.file!.nextSeq, 110, 'the restarted node still holds its 100 events');
    const final = payloads(await s.finish());
    assert.equal(final.length, 20, 'the final log is the 10 acknowledged + 10 later events');
    for (const w of unreplicated)
      assert.ok(!final.includes(w.op.payload), `${w.op.payload} was cut`);
    for (const w of [...acked, ...after])
      assert.ok(final.includes(w.op.payload), `${w.op.payload} stayed`);
  });

  test("3. figure 8 on 5 nodes: an earlier epoch's event on a majority is not committed until the current epoch's is", async () => {
    const s = await QuorumScenario.start('figure-8', { seed: 103, nodes: 5 });
    const first = await s.leader();
    const base = await s.writeAll(first, 3, 'quorum', 'base');
    assert.equal(quorumOk(base).length, 3);
    const [holder, a, b, c] = others(s, first) as [SimNode, SimNode, SimNode, SimNode];
    // (a) The first leader gets X to one other node only, then dies.
    s.cluster.partition([
      [first, holder],
      [a, b, c],
    ]);
    const x = s.write(first, 'quorum', 'X');
    await s.until(() => holder.file!.nextSeq === 4, 15 * HEARTBEAT_MS, 'X reaches the holder');
    const xSeq = 3;
    await s.cluster.crashNode(first);
    // (b) The three others elect a leader, which writes Y at the same seq and dies at once.
    const second = await s.leader([a, b, c], ELECTION_MS);
    const y = await s.writeAll(second, 1, 'leader', 'Y');
    assert.equal(okSeqs(y)[0], xSeq, 'Y takes the seq X has on the other side');
    await s.cluster.crashNode(second);
    const rest = [a, b, c].filter((n) => n !== second);
    // (c) The first leader returns; with the holder and the two left it leads again and copies X
    // to a majority: X is from an earlier epoch, so it must not count as committed.
    await s.cluster.startNode(first);
    s.cluster.heal();
    const third = await s.leader([first, holder, ...rest], ELECTION_MS);
    assert.ok(third === first || third === holder, `an X holder leads (${third.name})`);
    await s.until(
      () => rest.every((n) => n.file!.nextSeq === 4),
      15 * HEARTBEAT_MS,
      'X is copied to a majority',
    );
    await s.step(5 * HEARTBEAT_MS);
    for (const node of [first, holder, ...rest])
      assert.ok(
        s.runtime(node).commitSeq <= xSeq,
        `${node.name}: X (epoch ${s.runtime(node).epochOf(xSeq)}) on a majority is not committed while the leader's epoch is ${s.runtime(third).epoch} (commitSeq ${s.runtime(node).commitSeq})`,
      );
    // (d) Both X holders die; the Y writer returns and wins with the two others, replacing X.
    await s.cluster.crashNode(first);
    await s.cluster.crashNode(holder);
    await s.cluster.startNode(second);
    assert.equal(await s.leader([second, ...rest], ELECTION_MS), second, 'the Y writer leads');
    const z = await s.writeAll(second, 1, 'quorum', 'Z');
    assert.equal(quorumOk(z).length, 1, 'an event of the current epoch commits');
    for (const node of rest)
      assert.equal(
        payloads(await s.log(node))[xSeq],
        y[0]!.op.payload,
        `${node.name}: Y replaced X`,
      );
    await s.settled([x], 40 * HEARTBEAT_MS);
    assert.notEqual(x.outcome?.kind, 'ok', 'X was never quorum-acknowledged');
    await s.finish();
  });

  test('4. a pending quorum ack across a failover rejects with LEADERSHIP_LOST, never satisfied by another epoch', async () => {
    const s = await QuorumScenario.start('ack-failover', { seed: 104, nodes: 3 });
    const old = await s.leader();
    await s.writeAll(old, 5, 'quorum', 'before');
    // The old leader still hears everyone, but nobody hears it: they elect, it learns of it.
    for (const peer of others(s, old)) s.cluster.cutOneWay(old, peer);
    const pending = s.write(old, 'quorum', 'pending');
    const next = await s.leader(others(s, old), ELECTION_MS);
    const newer = await s.writeAll(next, 5, 'quorum', 'newer');
    assert.equal(quorumOk(newer).length, 5);
    await s.settled([pending]);
    const error = pending.error;
    assert.ok(
      error instanceof LeadershipLostError,
      `rejects with LEADERSHIP_LOST, got ${String(error)}`,
    );
    assert.equal(error.outcome, 'unknown', 'stored on the old leader: the outcome is unknown');
    assert.equal(error.seq, 5, 'the error names the seq it was stored at');
    assert.equal(pending.outcome?.kind, 'unknown');
    assert.equal(payloads(await s.finish())[5], newer[0]!.op.payload, 'seq 5 holds the new epoch');
  });

  test('5. an isolated replica for 10 s never leads, keeps its epoch, and the heal changes no epoch', async () => {
    const s = await QuorumScenario.start('isolated-replica', { seed: 105, nodes: 3 });
    const leader = await s.leader();
    await s.writeAll(leader, 5, 'quorum', 'before');
    const isolated = others(s, leader)[0]!;
    const epoch = s.runtime(leader).epoch;
    assert.equal(s.runtime(isolated).epoch, epoch);
    s.cluster.partition([[isolated], others(s, isolated)]);
    for (let second = 0; second < 10; second++) {
      const writes = Array.from({ length: 5 }, () => s.write(leader, 'quorum', `during-${second}`));
      for (let t = 0; t < 1000; t += 100) {
        await s.step(100);
        assert.notEqual(isolated.role, Role.Leader, `${isolated.name} never leads`);
        assert.equal(s.runtime(isolated).epoch, epoch, `${isolated.name}'s epoch stays ${epoch}`);
      }
      await s.settled(writes);
      assert.equal(quorumOk(writes).length, 5, 'the majority keeps acknowledging');
    }
    s.cluster.heal();
    await s.step(20 * HEARTBEAT_MS);
    assert.equal(s.cluster.leaders()[0], leader, 'the leader keeps leading after the heal');
    for (const node of s.nodes)
      assert.equal(s.runtime(node).epoch, epoch, `${node.name}: no epoch change on heal`);
    await s.finish();
  });

  test('6. a 2|3 split with writers on both sides: only the 3 side acknowledges', async () => {
    const s = await QuorumScenario.start('split-2-3', { seed: 106, nodes: 5 });
    const old = await s.leader();
    const [mate, ...three] = others(s, old) as [SimNode, ...SimNode[]];
    s.cluster.partition([[old, mate], three]);
    const two = [old, mate].flatMap((node) =>
      [0, 1, 2].map(() => s.write(node, 'quorum', `two-${node.name}`)),
    );
    const next = await s.leader(three, ELECTION_MS);
    // Four appends on the 3 side's leader against three on the 2 side's (see 1b for equal lengths).
    const extra = s.write(next, 'quorum', 'three-extra');
    const big = three.flatMap((node) =>
      [0, 1, 2].map(() => s.write(node, 'quorum', `three-${node.name}`)),
    );
    await s.settled([...two, ...big, extra], 40 * HEARTBEAT_MS);
    assert.equal(extra.outcome?.kind, 'ok');
    assert.deepEqual(
      two.filter((w) => w.outcome?.kind === 'ok').map((w) => w.op.payload),
      [],
      'nothing on the 2 side is acknowledged',
    );
    const leaderWrites = big.filter((w) => w.node === next);
    assert.equal(quorumOk(leaderWrites).length, 3, "the 3 side's leader acknowledges its appends");
    for (const w of big.filter((w) => w.node !== next))
      assert.equal(
        w.outcome?.kind,
        'failed',
        `${w.node.name} is no leader: ${w.op.payload} refused`,
      );
    await s.finish();
  });
});
