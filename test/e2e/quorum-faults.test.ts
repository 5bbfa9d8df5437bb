// Acknowledged writes under leader faults, with real processes: three `redex serve` (DemoCluster:
// fresh CA and certificates, free loopback ports, data in a temp dir), a replicated persistent
// channel with fsync "always" and heartbeatMs 100, and WRITERS writers appending over HTTP with
// APPEND_ACKS_QUERY, each following NOT_LEADER and retrying every failure as a new append with
// new payloads. Meanwhile the current leader is alternately SIGKILLed and restarted on its data
// directory, and SIGSTOPped past the silence window (3 heartbeats) and SIGCONTed. Then the faults
// stop, the writers get one more acknowledgement each, the cluster converges, every node's whole
// log is read back and judged (src/cli/demo/verify.ts): every acknowledged event at its seq on all
// three nodes, identical bytes everywhere, no payload twice, nothing stored whose append failed
// for sure. Every process is stopped in `after`, whatever happened.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DemoCluster } from '../../src/cli/demo/cluster.js';
import { mergeHistories, readLog, verdictCounts, verifyLogs } from '../../src/cli/demo/verify.js';
import { APPEND_ACKS_QUERY, DemoWriter, request } from '../../src/cli/demo/writer.js';
import { awaitConvergence, findLeader, injectFaults } from './faults.js';
import { eventually } from './harness.js';

/**
 * Today's replication loses acknowledged writes under these faults (no leader epochs, no
 * truncation). Set to `false` once quorum replication lands, so a failure fails the suite.
 */
const TODO_UNTIL_QUORUM: string | false = false;

const CHANNEL = 'e2e/quorum-faults';
const SPEC = {
  name: CHANNEL,
  file: { fsync: 'always' },
  replication: { factor: 3, heartbeatMs: 100 },
};
const WRITERS = 4;
/** Each writer's pace: one event per append, at most this many appends a second. */
const WRITER_RATE = 100;
/** An append that gets no answer this long has an unknown outcome. */
const WRITER_REQUEST_TIMEOUT_MS = 3_000;
const FAULTS = { windowMs: 22_000, frozenMs: 1_000, settleMs: 1_200, leaderTimeoutMs: 5_000 };
const STEP_TIMEOUT_MS = 20_000;

let cluster: DemoCluster | undefined;
let writers: DemoWriter[] = [];

describe('quorum replication under leader faults (three redex serve processes)', {
  timeout: 150_000,
}, () => {
  before(async () => {
    cluster = await DemoCluster.prepare();
    const c = cluster;
    await Promise.all(c.members.map((_, i) => c.start(i)));
    const created = await request(c.members[0]!.url, 'POST', '/channels', SPEC);
    assert.equal(created.status, 201, JSON.stringify(created.json));
  });
  after(async () => {
    await Promise.allSettled(writers.map((writer) => writer.stop()));
    await cluster?.close();
  });

  it('every acknowledged write survives SIGKILL and SIGSTOP of the leader; the logs agree', {
    todo: TODO_UNTIL_QUORUM,
  }, async (t) => {
    const c = cluster!;
    const leader = await findLeader(c, CHANNEL, STEP_TIMEOUT_MS);
    assert.notEqual(leader, undefined, 'no leader was elected');
    writers = Array.from(
      { length: WRITERS },
      (_, i) =>
        new DemoWriter(c, CHANNEL, {
          ratePerSecond: WRITER_RATE,
          ticksPerSecond: WRITER_RATE,
          prefix: `w${i} #`,
          record: true,
          requestTimeoutMs: WRITER_REQUEST_TIMEOUT_MS,
        }),
    );
    for (const writer of writers) {
      writer.target = leader!;
      writer.start();
    }
    await eventually(
      async () => (writers.every((w) => w.counts.ackedEvents > 0) ? true : undefined),
      'a first acknowledged write from every writer',
      STEP_TIMEOUT_MS,
    );

    const faults = await injectFaults(c, CHANNEL, FAULTS);

    // One more acknowledgement per writer after the faults: the cluster takes writes again.
    const ackedBefore = writers.map((w) => w.counts.ackedEvents);
    await eventually(
      async () =>
        writers.every((w, i) => w.counts.ackedEvents > ackedBefore[i]!) ? true : undefined,
      'an acknowledged write from every writer after the faults',
      STEP_TIMEOUT_MS,
    );
    await Promise.all(writers.map((writer) => writer.stop()));

    const convergence = await awaitConvergence(c, CHANNEL, STEP_TIMEOUT_MS);
    const logs = await Promise.all(
      c.members.map((member) => readLog(member.url, member.name, CHANNEL)),
    );
    const verdict = verifyLogs(logs, mergeHistories(writers));
    const unknownAppends = writers.reduce((sum, w) => sum + w.counts.unknownAppends, 0);
    const failedAppends = writers.reduce((sum, w) => sum + w.counts.failedAppends, 0);
    const report = [
      `acks: ${APPEND_ACKS_QUERY}; ${verdict.ackedEvents} acknowledged, ${unknownAppends} unknown outcomes (${verdict.unknownStored} of them stored), ${failedAppends} refused`,
      `faults: ${faults.join('; ')}`,
      `${convergence.converged ? 'converged' : 'did NOT converge'}: ${convergence.tails}`,
      `logs: ${logs.map((log) => `${log.name} ${log.firstSeq ?? '-'}..${log.nextSeq}`).join(', ')}`,
      verdictCounts(verdict),
    ];
    for (const line of report) t.diagnostic(line);
    assert.ok(verdict.ok && convergence.converged, [...report, ...verdict.problems].join('\n'));
  });
});
