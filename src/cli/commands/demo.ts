// `redex demo [--drill]`: a local three-node cluster (issue 9). Three `redex serve` child
// processes on loopback with a CA and node certificates in a temporary directory, one replicated
// channel created over the API (so it is opened cluster-wide), a steady writer that follows
// NOT_LEADER, the dashboard URL and a live status line. Ctrl-C stops everything and removes the
// directory. `--drill` kills the leader with SIGKILL, measures the failover (kill → first write
// the new leader acknowledges), restarts the killed node, checks that every acknowledged event is
// on every node, prints a summary and fails unless nothing was lost.
//
// The drill pauses the writer for the instant of the kill so no write is half-done on the victim:
// without leader epochs (README, "what it does not do yet") a write the leader stored but nobody
// else received would come back with the restarted node at a seq the new leader reused.

import type { Command } from 'commander';
import { HEARTBEAT_MS_MAX, HEARTBEAT_MS_MIN } from '../../replication/config.js';
import { INTERRUPTED_EXIT_CODE } from '../client.js';
import type { CommandContext } from '../context.js';
import { DemoCluster } from '../demo/cluster.js';
import { DemoWriter, request } from '../demo/writer.js';
import { CliError, ExitCode } from '../errors.js';

export const DEMO_CHANNEL = 'demo/orders';
const CHANNEL_PATH = `/channels/${encodeURIComponent(DEMO_CHANNEL)}`;
/** Hang guard of every wait in the demo (a leader, a catch-up, the failover). */
export const DEMO_STEP_TIMEOUT_MS = 30_000;
const POLL_MS = 50;
const STATUS_LINE_MS = 500;
/** Events per page when the drill reads every node's log back. */
const READ_PAGE_EVENTS = 10_000;

interface DemoOptions {
  drill?: boolean;
  rate: string;
  heartbeatMs: string;
}

function intOption(name: string, raw: string, min: number, max: number): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new CliError(`${name} must be an integer in ${min}..${max}, got ${raw}`, ExitCode.Usage);
  }
  return value;
}

export function registerDemo(program: Command, ctx: CommandContext): void {
  program
    .command('demo')
    .description(
      'run a local three-node cluster: a replicated channel, a steady writer, the dashboard and a live status line (Ctrl-C stops it)',
    )
    .option(
      '--drill',
      'kill the leader, measure the failover, restart it, verify nothing was lost, then exit',
    )
    .option('--rate <events>', 'events per second the writer sends', '200')
    .option(
      '--heartbeat-ms <ms>',
      `the channel's replication heartbeat (${HEARTBEAT_MS_MIN}..${HEARTBEAT_MS_MAX})`,
      String(HEARTBEAT_MS_MIN),
    )
    .action((options: DemoOptions) => runDemo(ctx, options));
}

async function runDemo(ctx: CommandContext, options: DemoOptions): Promise<void> {
  const { io } = ctx;
  const rate = intOption('--rate', options.rate, 1, 10_000);
  const heartbeatMs = intOption(
    '--heartbeat-ms',
    options.heartbeatMs,
    HEARTBEAT_MS_MIN,
    HEARTBEAT_MS_MAX,
  );
  const out = (line: string) => io.stdout.write(`${line}\n`);
  const signal = io.signal;
  const checkInterrupt = () => {
    if (signal.aborted) throw new CliError('interrupted', INTERRUPTED_EXIT_CODE);
  };
  const waitFor = async <T>(what: string, check: () => Promise<T | undefined>): Promise<T> => {
    const deadline = performance.now() + DEMO_STEP_TIMEOUT_MS;
    for (;;) {
      checkInterrupt();
      const value = await check().catch(() => undefined);
      if (value !== undefined) return value;
      if (performance.now() > deadline) {
        throw new CliError(`timed out after ${DEMO_STEP_TIMEOUT_MS} ms waiting for ${what}`);
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  };

  const cluster = await DemoCluster.prepare();
  const { members } = cluster;
  let writer: DemoWriter | null = null;
  let ticker: NodeJS.Timeout | null = null;
  try {
    out(`redex demo: a CA, node certificates and data in ${cluster.dir}`);
    await Promise.all(members.map((_, i) => cluster.start(i, signal)));
    for (const member of members) out(`redex demo: ${member.name} serving ${member.url}`);

    const created = await request(members[0]!.url, 'POST', '/channels', {
      name: DEMO_CHANNEL,
      file: { fsync: 'always' },
      replication: { factor: 3, heartbeatMs },
    });
    if (created.status !== 201 && created.status !== 200) {
      throw new CliError(`creating ${DEMO_CHANNEL} failed: ${JSON.stringify(created.json)}`);
    }
    const others = (created.json.members ?? []) as { name: string; error?: { message: string } }[];
    const failed = others.filter((member) => member.error !== undefined);
    if (failed.length > 0) {
      throw new CliError(
        `${DEMO_CHANNEL} was not opened on ${failed.map((m) => m.name).join(', ')}`,
      );
    }
    out(
      `redex demo: created ${DEMO_CHANNEL} on ${members[0]!.name}; it opened it on ${others.map((m) => m.name).join(' and ')} too (factor 3, heartbeat ${heartbeatMs} ms, fsync always)`,
    );

    /** The member every live node agrees leads, once they do. */
    const agreedLeader = () =>
      waitFor('one leader all live nodes agree on', async () => {
        const views = await Promise.all(
          members.map(async (member, i) =>
            cluster.alive(i)
              ? (await request(member.url, 'GET', CHANNEL_PATH, undefined, 2_000)).json
              : null,
          ),
        );
        const leaders = views.filter((view) => view?.role === 'leader');
        if (leaders.length !== 1) return undefined;
        const name = leaders[0].leader?.name as string;
        const agree = views.every((view) => view === null || view.leader?.name === name);
        return agree ? members.findIndex((member) => member.name === name) : undefined;
      });
    const leader = await agreedLeader();
    out(`redex demo: ${members[leader]!.name} leads ${DEMO_CHANNEL}`);

    writer = new DemoWriter(cluster, DEMO_CHANNEL, rate);
    writer.target = leader;
    writer.start();
    out(`redex demo: a writer appends ${rate} events/s (each batch waits for 2 replicas)`);
    out(
      `redex demo: dashboard: ${members[0]!.url}/  (also ${members
        .slice(1)
        .map((m) => `${m.url}/`)
        .join(', ')})`,
    );

    const statusLine = async () => {
      const views = await Promise.all(
        members.map(async (member, i) => {
          if (!cluster.alive(i)) return `${member.name} down`;
          try {
            const view = (await request(member.url, 'GET', CHANNEL_PATH, undefined, 1_000)).json;
            return `${member.name}${view.role === 'leader' ? '*' : ''} ${view.nextSeq}`;
          } catch {
            return `${member.name} ?`;
          }
        }),
      );
      return `tails ${views.join(' · ')} · ${writer!.rate()} ev/s · ${writer!.acked.size} acked`;
    };

    if (options.drill !== true) {
      const tty = io.stderr.isTTY === true;
      let lastPrinted = 0;
      ticker = setInterval(() => {
        void statusLine().then((line) => {
          if (ticker === null) return;
          if (tty) io.stderr.write(`\r\x1b[2K${line} (* leads; Ctrl-C stops)`);
          else if (performance.now() - lastPrinted >= 5_000) {
            lastPrinted = performance.now();
            out(line);
          }
        });
      }, STATUS_LINE_MS);
      const stop = await io.waitForStop();
      if (tty) io.stderr.write('\n');
      out(`redex demo: ${stop}: stopping the writer and the nodes, removing ${cluster.dir}`);
      return;
    }

    // ─── the drill ───
    const ackedAtLeast = (count: number, what: string) =>
      waitFor(what, async () => (writer!.acked.size >= count ? true : undefined));
    await ackedAtLeast(rate, 'a second of acknowledged writes');
    await writer.pause();
    const victim = await agreedLeader();
    const victimName = members[victim]!.name;
    out(`drill: ${await statusLine()}`);
    out(
      `drill: killing the leader ${victimName} (SIGKILL) after ${writer.acked.size} acknowledged events`,
    );
    writer.replicas = 1; // one replica is left to confirm while the victim is down
    const killedAt = performance.now();
    writer.killedAtMs = killedAt;
    await cluster.kill(victim);
    writer.resume();
    const firstAck = await waitFor(
      'a write accepted by a new leader',
      async () => writer!.firstAckAfterKill ?? undefined,
    );
    const failoverMs = Math.round(firstAck.atMs - killedAt);
    out(
      `drill: ${firstAck.node} took over: first write acknowledged ${failoverMs} ms after the kill`,
    );
    await ackedAtLeast(writer.acked.size + Math.ceil(rate / 2), 'writes on the new leader');

    out(`drill: restarting ${victimName} on its data directory`);
    const restartAt = performance.now();
    await cluster.start(victim, signal);
    writer.replicas = 2;
    const target = writer.acked.size + Math.ceil(rate / 2);
    await ackedAtLeast(target, `${victimName} to catch up (writes confirmed by 2 replicas again)`);
    const rejoinMs = Math.round(performance.now() - restartAt);
    out(`drill: ${victimName} is back and confirms writes ${rejoinMs} ms after its restart`);
    await writer.stop();

    const tails = await waitFor('every node at the same tail', async () => {
      const seqs = await Promise.all(
        members.map(
          async (member) => (await request(member.url, 'GET', CHANNEL_PATH)).json.nextSeq as number,
        ),
      );
      return seqs.every((seq) => seq === seqs[0]) ? seqs[0] : undefined;
    });
    const logs = await Promise.all(members.map((member) => readAll(member.url, tails)));
    let lost = 0;
    const lostExamples: string[] = [];
    for (const [seq, payload] of writer.acked) {
      for (const [i, log] of logs.entries()) {
        if (log.get(seq) !== payload) {
          lost++;
          if (lostExamples.length < 5) {
            lostExamples.push(
              `${members[i]!.name} seq ${seq}: ${JSON.stringify(log.get(seq) ?? null)}`,
            );
          }
        }
      }
    }
    let divergent = 0;
    for (let seq = 0; seq < tails; seq++) {
      const first = logs[0]!.get(seq);
      if (logs.some((log) => log.get(seq) !== first)) divergent++;
    }
    out('drill summary:');
    out(`  acknowledged events     ${writer.acked.size} (seqs 0..${tails - 1} on every node)`);
    out(
      `  failover                ${failoverMs} ms (SIGKILL of ${victimName} → first write acknowledged by ${firstAck.node})`,
    );
    out(
      `  rejoin                  ${rejoinMs} ms (restart of ${victimName} → writes confirmed by 2 replicas)`,
    );
    out(`  seqs that differ        ${divergent}`);
    out(`  acknowledged but lost   ${lost}`);
    if (lost > 0) {
      throw new CliError(
        `drill failed: ${lost} acknowledged events are missing or different (${lostExamples.join('; ')})`,
      );
    }
    out('drill: nothing acknowledged was lost');
  } finally {
    if (ticker !== null) clearInterval(ticker);
    ticker = null;
    await writer?.stop();
    await cluster.close();
  }
}

/** A node's whole log `[0, end)` as seq → UTF-8 payload, page by page. */
async function readAll(url: string, end: number): Promise<Map<number, string>> {
  const log = new Map<number, string>();
  let from = 0;
  while (from < end) {
    const answer = await request(
      url,
      'GET',
      `${CHANNEL_PATH}/events?from=${from}&to=${end}&limit=${READ_PAGE_EVENTS}&encoding=utf8`,
    );
    if (answer.status !== 200) {
      throw new CliError(`reading ${url} failed: ${JSON.stringify(answer.json)}`);
    }
    for (const event of answer.json.events as { seq: number; payload: string }[]) {
      log.set(event.seq, event.payload);
    }
    if (answer.json.next <= from) break;
    from = answer.json.next;
  }
  return log;
}
