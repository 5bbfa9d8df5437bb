// `redex demo [--drill]`: a local three-node cluster (issue 9). Three `redex serve` child
// processes on loopback with a CA and node certificates in a temporary directory, one replicated
// channel created over the API (so it is opened cluster-wide), a steady writer that follows
// NOT_LEADER, the dashboard URL and a live status line. Ctrl-C stops everything and removes the
// directory. `--drill` kills the leader with SIGKILL while the writer keeps appending, measures
// the failover (kill → first write a new leader acknowledges), restarts the killed node, reads
// every node's log back and checks it (demo/verify.ts): every acknowledged event on every node,
// identical logs, nothing stored twice or stored though refused. It prints a summary (with the
// appends whose outcome is unknown: a request cut by the kill) and fails unless all checks hold.

import type { Command } from 'commander';
import { HEARTBEAT_MS_MAX, HEARTBEAT_MS_MIN } from '../../replication/config.js';
import type { CommandContext } from '../context.js';
import { DemoCluster } from '../demo/cluster.js';
import { readLog, verdictCounts, verifyLogs } from '../demo/verify.js';
import { APPEND_ACKS_QUERY, DemoWriter, request } from '../demo/writer.js';
import { CliError, ExitCode, INTERRUPTED_EXIT_CODE } from '../errors.js';

export const DEMO_CHANNEL = 'demo/orders';
const CHANNEL_PATH = `/channels/${encodeURIComponent(DEMO_CHANNEL)}`;
/** Hang guard of every wait in the demo (a leader, a catch-up, the failover). */
export const DEMO_STEP_TIMEOUT_MS = 30_000;
const POLL_MS = 50;
const STATUS_LINE_MS = 500;
/** Problems quoted in a failed drill's message. */
const DRILL_PROBLEMS_SHOWN = 5;

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

    writer = new DemoWriter(cluster, DEMO_CHANNEL, {
      ratePerSecond: rate,
      record: options.drill === true,
    });
    writer.target = leader;
    writer.start();
    out(
      `redex demo: a writer appends ${rate} events/s (${APPEND_ACKS_QUERY}: each batch waits until a majority holds it, committed)`,
    );
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
      return `tails ${views.join(' · ')} · ${writer!.rate()} ev/s · ${writer!.counts.ackedEvents} acked`;
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
      waitFor(what, async () => (writer!.counts.ackedEvents >= count ? true : undefined));
    await ackedAtLeast(rate, 'a second of acknowledged writes');
    const victim = await agreedLeader();
    const victimName = members[victim]!.name;
    out(`drill: ${await statusLine()}`);
    out(
      `drill: killing the leader ${victimName} (SIGKILL) after ${writer.counts.ackedEvents} acknowledged events; the writer keeps appending`,
    );
    const killedAt = performance.now();
    writer.killed = { atMs: killedAt, index: victim };
    await cluster.kill(victim);
    const firstAck = await waitFor(
      'a write accepted by a new leader',
      async () => writer!.firstAckAfterKill ?? undefined,
    );
    const failoverMs = Math.round(firstAck.atMs - killedAt);
    out(
      `drill: ${firstAck.node} took over: first write acknowledged ${failoverMs} ms after the kill`,
    );
    await ackedAtLeast(writer.counts.ackedEvents + Math.ceil(rate / 2), 'writes on the new leader');

    out(`drill: restarting ${victimName} on its data directory`);
    const restartAt = performance.now();
    await cluster.start(victim, signal);
    await waitFor(`${victimName} to catch up with the leader`, async () => {
      // The others' tails first, then the victim's: at least the leader's means it holds all of it
      // (or it leads itself, having held the most).
      const others = await Promise.all(
        members.map(async (member, i) =>
          i === victim
            ? null
            : (await request(member.url, 'GET', CHANNEL_PATH, undefined, 2_000)).json,
        ),
      );
      const back = (await request(members[victim]!.url, 'GET', CHANNEL_PATH, undefined, 2_000))
        .json;
      if (back.role === 'leader') return true;
      const leading = others.find((view) => view?.role === 'leader');
      return back.role === 'replica' && leading !== undefined && back.nextSeq >= leading.nextSeq
        ? true
        : undefined;
    });
    const rejoinMs = Math.round(performance.now() - restartAt);
    out(`drill: ${victimName} is back and caught up ${rejoinMs} ms after its restart`);
    await ackedAtLeast(writer.counts.ackedEvents + Math.ceil(rate / 2), 'writes with all three up');
    await writer.stop();

    const tails = await waitFor('every node at the same tail, all of it committed', async () => {
      const views = await Promise.all(
        members.map(async (member) => (await request(member.url, 'GET', CHANNEL_PATH)).json),
      );
      const seqs = views.map((view) => view.nextSeq as number);
      // Reads show committed events: a replica shows its tail once it heard the commit.
      const committed = views.every((view) => view.commitSeq === view.nextSeq);
      return committed && seqs.every((seq) => seq === seqs[0]) ? seqs[0] : undefined;
    });
    const logs = await Promise.all(
      members.map((member) => readLog(member.url, member.name, DEMO_CHANNEL)),
    );
    const verdict = verifyLogs(logs, writer);
    const { unknownAppends, unknownEvents } = writer.counts;
    out('drill summary:');
    out(`  acknowledged events     ${verdict.ackedEvents} (seqs 0..${tails - 1} on every node)`);
    out(
      `  unknown outcome         ${unknownAppends} appends, ${unknownEvents} events (${verdict.unknownStored} of them stored)`,
    );
    out(
      `  failover                ${failoverMs} ms (SIGKILL of ${victimName} → first write acknowledged by ${firstAck.node})`,
    );
    out(`  rejoin                  ${rejoinMs} ms (restart of ${victimName} → caught up)`);
    out(`  seqs that differ        ${verdict.divergentSeqs}`);
    out(`  stored twice            ${verdict.duplicates}`);
    out(`  stored though refused   ${verdict.unexpected}`);
    out(`  acknowledged but lost   ${verdict.lostEvents}`);
    if (!verdict.ok) {
      throw new CliError(
        `drill failed: ${verdictCounts(verdict)} (${verdict.problems.slice(0, DRILL_PROBLEMS_SHOWN).join('; ')})`,
      );
    }
    out('drill: nothing acknowledged was lost, and every node holds the same log');
  } finally {
    if (ticker !== null) clearInterval(ticker);
    ticker = null;
    await writer?.stop();
    await cluster.close();
  }
}
