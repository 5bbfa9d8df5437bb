// Quorum scenarios of leadership transfer (see quorum-scenarios.test.ts): a transfer while
// writers keep appending, and a transfer whose stand-now goes through but whose old leader is cut
// off from the target right after. Judged by the history checker as well (scenario-harness.ts).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeAnyMessage } from '../../src/wire/codec.js';
import { Role } from '../../src/wire/types.js';
import { HEARTBEAT_MS, QuorumScenario, type Write } from './scenario-harness.js';
import type { SimNode } from './sim-cluster.js';

const ELECTION_MS = 20 * HEARTBEAT_MS;

function quorumOk(writes: readonly Write[]): number {
  return writes.filter((w) => w.op.acks === 'quorum' && w.outcome?.kind === 'ok').length;
}

describe('quorum scenarios: leadership transfer', () => {
  test('14. a transfer while writers append: one epoch change, no silence window, nothing acknowledged lost', async () => {
    const s = await QuorumScenario.start('transfer-under-load', { seed: 114, nodes: 5 });
    const old = await s.leader();
    assert.equal(quorumOk(await s.writeAll(old, 20, 'quorum', 'before')), 20);
    const target = s.nodes.find((node) => node !== old)!;
    const epoch = s.runtime(old).epoch;
    const startedMs = s.cluster.clock.nowMs();
    // Writers keep going on the old leader while the transfer runs: each is acknowledged in one
    // epoch or refused, never both.
    const during = Array.from({ length: 30 }, () => s.write(old, 'quorum', 'during'));
    const transfer = old.channel!.transferLeadership(target.id);
    let result: { epoch: number; leader: bigint } | null = null;
    transfer.then((r) => {
      result = r;
    });
    await s.until(() => result !== null, ELECTION_MS, 'the transfer completes');
    assert.ok(s.cluster.clock.nowMs() - startedMs < 3 * HEARTBEAT_MS, 'faster than a failover');
    assert.deepEqual(result, { epoch: epoch + 1, leader: target.id });
    await s.settled(during);
    // Appends admitted before the transfer began are acknowledged in their epoch; none is left
    // with an unknown outcome.
    assert.deepEqual(
      during.filter((w) => w.outcome?.kind === 'unknown'),
      [],
    );
    const after = await s.writeAll(target, 20, 'quorum', 'after');
    assert.equal(quorumOk(after), 20);
    const final = await s.finish(() => {
      assert.equal(target.role, Role.Leader);
      assert.equal(s.runtime(target).quorum.counters.preVotesStarted, 0);
    });
    assert.equal(final.length, 40 + quorumOk(during));
  });

  test('15. the old leader loses the target right after stand-now: one leader per epoch, the old one steps down', async () => {
    const s = await QuorumScenario.start('transfer-cut', { seed: 115, nodes: 5 });
    const old = await s.leader();
    assert.equal(quorumOk(await s.writeAll(old, 10, 'quorum', 'before')), 10);
    const target = s.nodes.find((node) => node !== old)!;
    // Once the stand-now has reached the target, the two can no longer reach each other.
    let standSent = false;
    s.cluster.inbound = (to, from, frame) => {
      if (standSent) {
        const between = (to === target && from === old.id) || (to === old && from === target.id);
        return between ? 'drop' : 'deliver';
      }
      if (to === target && from === old.id && decodeAnyMessage(frame).kind === 'stand-now') {
        standSent = true;
      }
      return 'deliver';
    };
    const outcome = old.channel!.transferLeadership(target.id).then(
      () => 'done',
      (error: { reason?: string }) => error.reason ?? String(error),
    );
    let settled: string | null = null;
    outcome.then((value) => {
      settled = value;
    });
    await s.until(() => standSent, ELECTION_MS, 'stand-now arrives');
    // The target wins with the other three; the old leader hears the new epoch from them.
    const next = await s.leader(
      s.nodes.filter((n: SimNode) => n !== old),
      ELECTION_MS,
    );
    assert.equal(next, target);
    await s.until(() => old.role !== Role.Leader, ELECTION_MS, 'the old leader steps down');
    await s.until(() => settled !== null, ELECTION_MS, 'the transfer call settles');
    // Writes on the old node now fail (not the leader); on the target they are acknowledged.
    const refused = await s.writeAll(old, 5, 'quorum', 'old');
    assert.equal(quorumOk(refused), 0);
    assert.equal(quorumOk(await s.writeAll(target, 10, 'quorum', 'new')), 10);
    s.cluster.inbound = null;
    // The old node stepped down but never heard the target lead: it cannot confirm the transfer.
    assert.equal(settled, 'timed-out');
    const final = await s.finish();
    assert.equal(final.length, 20);
  });
});
