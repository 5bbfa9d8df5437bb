// Quorum replication scenarios, continued (see quorum-scenarios.test.ts): crashes in the middle of
// a truncation, leader changes, a durable vote, a double crash, retention past a diverged
// replica, a frozen leader's late frames and forged Leader heartbeats. Each is judged by the
// history checker as well (scenario-harness.ts).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeAnyMessage, encodeMessage } from '../../src/wire/codec.js';
import { NackCode, Role, type SyncHeartbeat } from '../../src/wire/types.js';
import { HEARTBEAT_MS, payloads, QuorumScenario, type Write } from './scenario-harness.js';
import type { SimNode } from './sim-cluster.js';

const ELECTION_MS = 20 * HEARTBEAT_MS;

function others(s: QuorumScenario, ...except: SimNode[]): SimNode[] {
  return s.nodes.filter((node) => !except.includes(node));
}

function quorumOk(writes: readonly Write[]): number {
  return writes.filter((w) => w.op.acks === 'quorum' && w.outcome?.kind === 'ok').length;
}

/**
 * Three nodes; the first leader is cut off and writes `diverged` events only it holds, the others
 * elect and write `majority` quorum-acknowledged ones. Returns the old leader, still partitioned.
 */
async function divergedOldLeader(
  s: QuorumScenario,
  diverged: number,
  majority: number,
): Promise<{ old: SimNode; minority: Write[]; next: SimNode }> {
  const old = await s.leader();
  assert.equal(quorumOk(await s.writeAll(old, 5, 'quorum', 'before')), 5);
  s.cluster.partition([[old], others(s, old)]);
  const minority = await s.writeAll(old, diverged, 'leader', 'diverged');
  const next = await s.leader(others(s, old), ELECTION_MS);
  assert.equal(quorumOk(await s.writeAll(next, majority, 'quorum', 'majority')), majority);
  return { old, minority, next };
}

/** Where the old leader crashes while it cuts its diverged suffix (data file, then index file). */
const CRASH_POINTS = [
  'diverged-arrives',
  'before-data-cut',
  'between-data-and-index-cut',
  'after-index-cut',
] as const;

describe('quorum scenarios, continued', () => {
  for (const point of CRASH_POINTS) {
    test(`7. a crash in the middle of a truncation (${point}): restart, converge, the diverged suffix is gone`, async () => {
      const s = await QuorumScenario.start(`truncate-crash-${point}`, { seed: 107, nodes: 3 });
      const { old, minority } = await divergedOldLeader(s, 10, 15);
      let fired = false;
      let at = '';
      const crash = (path = 'the Diverged NACK'): void => {
        if (fired) return;
        fired = true;
        at = path;
        void s.cluster.crashNode(old);
      };
      if (point === 'diverged-arrives') {
        s.cluster.inbound = (to, _from, frame) => {
          if (to !== old || fired) return 'deliver';
          const message = decodeAnyMessage(frame);
          if (message.kind !== 'nack' || message.errorCode !== NackCode.Diverged) return 'deliver';
          crash();
          return 'drop';
        };
      } else if (point === 'before-data-cut') {
        old.crashPoints.beforeTruncate = (path) => path.endsWith('.dat') && crash(path);
      } else if (point === 'between-data-and-index-cut') {
        old.crashPoints.afterTruncate = (path) => path.endsWith('.dat') && crash(path);
      } else {
        old.crashPoints.afterTruncate = (path) => path.endsWith('.idx') && crash(path);
      }
      s.cluster.heal();
      await s.until(() => fired, 20 * HEARTBEAT_MS, `the old leader meets crash point ${point}`);
      await s.step(HEARTBEAT_MS);
      s.cluster.inbound = null;
      delete old.crashPoints.beforeTruncate;
      delete old.crashPoints.afterTruncate;
      await s.cluster.startNode(old);
      const restartedAt = old.file!.nextSeq;
      assert.ok(
        restartedAt === 15 || restartedAt === 5,
        `after a crash at ${point} the old leader holds its whole suffix or none of it (next=${restartedAt})`,
      );
      assert.ok(
        point === 'diverged-arrives' || at.endsWith(point === 'after-index-cut' ? '.idx' : '.dat'),
        `the crash hit the log's truncation (${at})`,
      );
      const final = payloads(await s.finish());
      for (const w of minority) assert.ok(!final.includes(w.op.payload), `${w.op.payload} was cut`);
      assert.equal(old.crashes, 1, 'the old leader crashed once, at the crash point');
    });
  }

  test('8. three leader changes with a rejoining node: every acknowledged append survives', async () => {
    const s = await QuorumScenario.start('leader-changes', { seed: 108, nodes: 3 });
    let leader = await s.leader();
    let epoch = s.runtime(leader).epoch;
    let down: SimNode | null = null;
    for (let change = 1; change <= 3; change++) {
      assert.equal(quorumOk(await s.writeAll(leader, 10, 'quorum', `epoch-${epoch}`)), 10);
      const previous = leader;
      await s.cluster.crashNode(previous);
      if (down !== null) await s.cluster.startNode(down); // the node crashed before rejoins
      down = previous;
      leader = await s.leader(others(s, previous), ELECTION_MS);
      const next = s.runtime(leader).epoch;
      assert.ok(next > epoch, `change ${change}: epoch ${next} follows ${epoch}`);
      epoch = next;
    }
    assert.equal(quorumOk(await s.writeAll(leader, 10, 'quorum', `epoch-${epoch}`)), 10);
    const final = await s.finish();
    assert.equal(final.length, 40);
  });

  test('9. a voter that crashes after granting a vote keeps it: the vote is durable', async () => {
    const s = await QuorumScenario.start('durable-vote', { seed: 109, nodes: 3 });
    const leader = await s.leader();
    await s.writeAll(leader, 5, 'quorum', 'before');
    let granted: { voter: SimNode; candidate: SimNode; epoch: number } | null = null;
    s.cluster.tap = (from, to, frame) => {
      if (granted !== null) return;
      const message = decodeAnyMessage(frame);
      if (message.kind !== 'vote-response' || !message.granted || message.preVote) return;
      granted = { voter: from, candidate: s.cluster.nodeById(to)!, epoch: message.epoch };
      void s.cluster.crashNode(from); // the answer is lost: the candidate does not win with it
    };
    await s.cluster.crashNode(leader);
    await s.until(() => granted !== null, ELECTION_MS, 'a survivor grants a vote');
    s.cluster.tap = null;
    const { voter, candidate, epoch } = granted!;
    await s.step(HEARTBEAT_MS);
    await s.cluster.startNode(voter);
    const quorum = s.runtime(voter).quorum;
    assert.equal(quorum.epoch, epoch, `${voter.name} restarts in the epoch it voted in`);
    assert.equal(
      quorum.votedFor,
      candidate.id,
      `${voter.name} remembers its vote for ${candidate.name}`,
    );
    await s.cluster.startNode(leader);
    const next = await s.leader(s.nodes, ELECTION_MS);
    const leaderEpoch = s.runtime(next).epoch;
    assert.ok(
      next === candidate || leaderEpoch > epoch,
      `epoch ${epoch} is led by ${candidate.name} or by nobody (${next.name} leads epoch ${leaderEpoch})`,
    );
    assert.equal(quorumOk(await s.writeAll(next, 5, 'quorum', 'after')), 5);
    await s.finish();
  });

  test("10. two nodes of three crash together (fsync 'always'): nothing quorum-acknowledged is lost", async () => {
    const s = await QuorumScenario.start('double-crash', { seed: 110, nodes: 3, fsync: 'always' });
    const leader = await s.leader();
    const replica = others(s, leader)[0]!;
    const acked = await s.writeAll(leader, 20, 'quorum', 'acked');
    assert.equal(quorumOk(acked), 20);
    // One append per virtual ms, then the crash: the first ones are acknowledged, the last ones
    // are still on their way or not yet replicated.
    const inFlight: Write[] = [];
    for (let i = 0; i < 20; i++) {
      inFlight.push(s.write(leader, 'quorum', 'in-flight'));
      await s.cluster.advance(1);
    }
    await s.cluster.crashNode(leader);
    await s.cluster.crashNode(replica);
    await s.settled(inFlight);
    const kinds = new Set(inFlight.map((w) => w.outcome?.kind));
    assert.ok(
      kinds.has('ok') && kinds.has('unknown'),
      `the crash split the in-flight appends (${[...kinds]})`,
    );
    const survivor = others(s, leader, replica)[0]!;
    await s.step(ELECTION_MS);
    assert.notEqual(survivor.role, Role.Leader, 'one of three never leads alone');
    await s.cluster.startNode(leader);
    await s.cluster.startNode(replica);
    const next = await s.leader(s.nodes, ELECTION_MS);
    assert.equal(quorumOk(await s.writeAll(next, 5, 'quorum', 'after')), 5);
    const final = payloads(await s.finish());
    for (const w of [...acked, ...inFlight].filter((w) => w.outcome?.kind === 'ok'))
      assert.ok(final.includes(w.op.payload), `acknowledged ${w.op.payload} survives`);
  });

  test('11. retention past a diverged lagging replica: it converges without losing acknowledged events', async () => {
    const s = await QuorumScenario.start('retention-diverged', {
      seed: 111,
      nodes: 3,
      file: { retention: { maxEvents: 20 } },
    });
    const { old, minority, next } = await divergedOldLeader(s, 10, 20);
    await s.cluster.crashNode(old);
    assert.equal(quorumOk(await s.writeAll(next, 80, 'quorum', 'evicted')), 80);
    await s.until(
      () => others(s, old).every((n) => n.file!.nextSeq === next.file!.nextSeq),
      10 * HEARTBEAT_MS,
      'the majority holds every event',
    );
    // A replica learns the commit one heartbeat after the leader acknowledged; its retention
    // sweep keeps what it does not know to be committed.
    await s.until(
      () => others(s, old).every((n) => s.runtime(n).quorum.commitSeq === next.file!.nextSeq),
      10 * HEARTBEAT_MS,
      'the majority knows every event is committed',
    );
    for (const node of others(s, old)) await node.file!.sweepRetention();
    const first = next.file!.firstSeq!;
    assert.ok(first > 15, `the leader evicted the diverged range (first retained ${first})`);
    await s.cluster.startNode(old);
    const final = payloads(
      await s.finish(() => {
        assert.equal(old.file!.firstSeq, first, 'the replica skipped to the first retained seq');
      }),
    );
    for (const w of minority) assert.ok(!final.includes(w.op.payload), `${w.op.payload} is gone`);
  });

  test('12. a frozen leader: its late frames arrive after the next election and are dropped as stale', async () => {
    const s = await QuorumScenario.start('frozen-leader', { seed: 112, nodes: 3 });
    const frozen = await s.leader();
    assert.equal(quorumOk(await s.writeAll(frozen, 5, 'quorum', 'before')), 5);
    const peers = others(s, frozen);
    s.cluster.holdOutbound(frozen);
    for (const peer of peers) s.cluster.cutOneWay(peer, frozen);
    const late = Array.from({ length: 3 }, () => s.write(frozen, 'quorum', 'frozen'));
    const next = await s.leader(peers, ELECTION_MS);
    const epoch = s.runtime(next).epoch;
    assert.equal(quorumOk(await s.writeAll(next, 5, 'quorum', 'after')), 5);
    const staleBefore = peers.map((p) => s.runtime(p).quorum.counters.staleEpochDrops);
    const released = s.cluster.releaseHeld(frozen);
    assert.ok(released > 0, 'the frozen leader sent frames while frozen');
    await s.step(5 * HEARTBEAT_MS);
    const staleAfter = peers.map((p) => s.runtime(p).quorum.counters.staleEpochDrops);
    assert.ok(
      staleAfter.some((count, i) => count > staleBefore[i]!),
      `the late frames were dropped as stale epoch (${staleBefore} -> ${staleAfter})`,
    );
    assert.equal(s.cluster.leaders()[0], next, 'the new leader keeps leading');
    assert.equal(s.runtime(next).epoch, epoch, 'and keeps its epoch');
    for (const peer of peers)
      assert.equal(s.runtime(peer).stats.truncations, 0, `${peer.name} cut nothing`);
    await s.settled(late);
    for (const w of late)
      assert.notEqual(w.outcome?.kind, 'ok', 'the frozen leader acknowledged nothing');
    await s.finish();
  });

  test('13. forged Leader heartbeats from a member: the real leader stays, nobody believes the forger', async () => {
    const s = await QuorumScenario.start('forged-heartbeats', { seed: 113, nodes: 3 });
    const leader = await s.leader();
    const epoch = s.runtime(leader).epoch;
    let real: SyncHeartbeat | null = null;
    s.cluster.tap = (from, _to, frame) => {
      const message = decodeAnyMessage(frame);
      if (from === leader && message.kind === 'heartbeat') real = message;
    };
    await s.writeAll(leader, 5, 'quorum', 'before');
    await s.step(2 * HEARTBEAT_MS);
    s.cluster.tap = null;
    assert.ok(real !== null, 'a real heartbeat was seen');
    const template: SyncHeartbeat = real;
    const [forger, victim] = others(s, leader) as [SimNode, SimNode];
    const forgeries: SyncHeartbeat[] = [
      {
        ...template,
        role: Role.Leader,
        tailSeq: 1_000_000_000,
        quorum: { epoch: epoch - 1, lastEpoch: epoch - 1, commitSeq: 1_000_000_000 },
      },
      {
        kind: 'heartbeat',
        channelId: template.channelId,
        tailSeq: 1_000_000_000,
        role: Role.Leader,
        wallClockMs: 0,
      },
    ];
    const dropsBefore = [leader, victim].map(
      (n) =>
        s.runtime(n).quorum.counters.staleEpochDrops + s.runtime(n).quorum.counters.noEpochDrops,
    );
    const writes: Write[] = [];
    // Two seconds of forgeries every 10 ms (the finding needed 150 ms to do harm).
    for (let t = 0; t < 2000; t += 10) {
      for (const target of [leader, victim])
        for (const forged of forgeries)
          target.router.tryRouteFrame(forger.id, encodeMessage(forged));
      if (t % 200 === 0) writes.push(s.write(leader, 'quorum', `during-${t}`));
      await s.step(10);
      assert.equal(leader.role, Role.Leader, `at +${t} ms the real leader still leads`);
      assert.equal(s.runtime(leader).epoch, epoch, `at +${t} ms its epoch is unchanged`);
      for (const node of [forger, victim])
        assert.notEqual(
          s.runtime(node).tracker.believedLeader,
          forger.id,
          `at +${t} ms ${node.name} does not believe the forger`,
        );
    }
    await s.settled(writes);
    assert.equal(quorumOk(writes), writes.length, 'appends kept working under forgery');
    const dropsAfter = [leader, victim].map(
      (n) =>
        s.runtime(n).quorum.counters.staleEpochDrops + s.runtime(n).quorum.counters.noEpochDrops,
    );
    assert.ok(
      dropsAfter.every((count, i) => count > dropsBefore[i]!),
      `forgeries were counted as dropped (${dropsBefore} -> ${dropsAfter})`,
    );
    await s.finish();
  });
});
