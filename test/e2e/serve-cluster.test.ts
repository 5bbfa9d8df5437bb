// Three `redex serve` processes (the CLI itself, spawned by the demo's DemoCluster: fresh CA and
// certificates, free loopback ports, data in a temp dir), driven over their HTTP APIs only:
// a create on one node opens the channel on all three; a replica answers 421 NOT_LEADER with the
// leader's HTTP origin; appends on the leader read back identical from every node; SIGKILL of the
// leader → another node leads and acknowledges writes. Then `redex demo --drill` as a child
// process must exit 0 with its summary. Every process is stopped in `after`, whatever happened.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DemoCluster } from '../../src/cli/demo/cluster.js';
import { request } from '../../src/cli/demo/writer.js';
import { eventually } from './harness.js';

const CHANNEL = 'e2e/serve';
const PATH = `/channels/${encodeURIComponent(CHANNEL)}`;
const SPEC = {
  name: CHANNEL,
  file: { fsync: 'always' },
  replication: { factor: 3, heartbeatMs: 100 },
};
const STEP_TIMEOUT_MS = 20_000;
const DRILL_TIMEOUT_MS = 90_000;
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

let cluster: DemoCluster;

const url = (i: number) => cluster.members[i]!.url;
const b64 = (text: string) => Buffer.from(text).toString('base64');

/** The member all live members agree leads CHANNEL. */
function agreedLeader(): Promise<number> {
  return eventually(
    async () => {
      const views = await Promise.all(
        cluster.members.map(async (member, i) =>
          cluster.alive(i) ? (await request(member.url, 'GET', PATH, undefined, 2_000)).json : null,
        ),
      );
      const leaders = views.filter((view) => view?.role === 'leader');
      if (leaders.length !== 1) return undefined;
      const name = leaders[0].leader.name;
      if (!views.every((view) => view === null || view.leader?.name === name)) return undefined;
      return cluster.members.findIndex((member) => member.name === name);
    },
    'one leader every live node agrees on',
    STEP_TIMEOUT_MS,
  );
}

describe('redex serve: a three-process cluster', { timeout: 180_000 }, () => {
  before(async () => {
    cluster = await DemoCluster.prepare();
    await Promise.all(cluster.members.map((_, i) => cluster.start(i)));
  });
  after(async () => {
    await cluster?.close();
  });

  it('a create on one node opens the channel on all three', async () => {
    const created = await request(url(1), 'POST', '/channels', SPEC);
    assert.equal(created.status, 201, JSON.stringify(created.json));
    for (const [i, member] of cluster.members.entries()) {
      const channel = await request(url(i), 'GET', PATH);
      assert.equal(channel.status, 200, `${member.name}: ${JSON.stringify(channel.json)}`);
      assert.equal(channel.json.replication.factor, 3);
    }
  });

  it('a replica answers NOT_LEADER with the leader; the leader’s events read the same everywhere', async () => {
    const leader = await agreedLeader();
    const replica = (leader + 1) % 3;
    const refused = await request(url(replica), 'POST', `${PATH}/events`, { events: [b64('no')] });
    assert.equal(refused.status, 421, JSON.stringify(refused.json));
    assert.equal(refused.json.error.code, 'NOT_LEADER');
    assert.equal(refused.json.error.leader.http, url(leader));

    const events = ['one', 'two', 'three', 'four', 'five'];
    const appended = await request(url(leader), 'POST', `${PATH}/events?replicas=2`, {
      events: events.map(b64),
    });
    assert.equal(appended.status, 201, JSON.stringify(appended.json));
    assert.deepEqual(appended.json, { firstSeq: 0, lastSeq: 4, count: 5 });
    const expected = JSON.stringify(events.map((payload, seq) => [seq, payload]));
    for (const i of [0, 1, 2]) {
      // Reads show committed events; a replica learns the commit one message after the leader.
      await eventually(
        async () => {
          const read = await request(url(i), 'GET', `${PATH}/events?encoding=utf8`);
          const got = JSON.stringify(
            read.json.events.map((e: { seq: number; payload: string }) => [e.seq, e.payload]),
          );
          return got === expected ? got : undefined;
        },
        `${cluster.members[i]!.name} reads the five events`,
        STEP_TIMEOUT_MS,
      );
    }
  });

  it('SIGKILL of the leader: another node leads and acknowledges writes', async () => {
    const leader = await agreedLeader();
    await cluster.kill(leader);
    const next = await agreedLeader();
    assert.notEqual(next, leader);
    const accepted = await eventually(
      async () => {
        const answer = await request(url(next), 'POST', `${PATH}/events?replicas=1`, {
          events: [b64('after the failover')],
        });
        return answer.status === 201 ? answer.json : undefined;
      },
      'a write acknowledged by the new leader',
      STEP_TIMEOUT_MS,
    );
    assert.equal(accepted.firstSeq, 5);
    const survivor = [0, 1, 2].find((i) => i !== leader && i !== next)!;
    const read = await eventually(
      async () => {
        const answer = await request(url(survivor), 'GET', `${PATH}/events?from=5&encoding=utf8`);
        return answer.json.events.length > 0 ? answer : undefined;
      },
      'the survivor reads the committed write',
      STEP_TIMEOUT_MS,
    );
    assert.deepEqual(
      read.json.events.map((e: { payload: string }) => e.payload),
      ['after the failover'],
    );
  });

  it('redex demo --drill exits 0 with its summary', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'demo', '--drill'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([
      new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c))),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          // SIGINT lets the demo stop its own children and remove its directory.
          child.kill('SIGINT');
          reject(
            new Error(
              `demo --drill did not finish in ${DRILL_TIMEOUT_MS} ms:\n${stdout}\n${stderr}`,
            ),
          );
        }, DRILL_TIMEOUT_MS);
      }),
    ]).finally(() => clearTimeout(timer));
    assert.equal(code, 0, `exit ${code}\n${stdout}\n${stderr}`);
    assert.match(stdout, /drill summary:/);
    assert.match(
      stdout,
      /failover +\d+ ms \(SIGKILL of node-[abc] → first write acknowledged by node-[abc]\)/,
    );
    assert.match(stdout, /acknowledged but lost +0\n/);
    assert.match(stdout, /nothing acknowledged was lost/);
  });
});
