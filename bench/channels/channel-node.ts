// One RedEX node in its own process for the many-channels benchmark (bench/channels.bench.ts),
// driven over IPC like bench/cluster/node-process.ts: start (mesh node, no channels), dial, open
// N replicated channels with bounded concurrency, then report roles, CPU, RSS, frames and role
// changes. "Spurious elections" are the pre-votes started while nothing should happen (a replica
// that found its leader silent; a planned leadership transfer, such as the return of a channel to
// its preferred member, skips the pre-vote and is not one).

import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { type StartedMeshNode, startMeshNode } from '../../src/cluster/start-node.js';
import { mapBounded } from '../../src/log/open-many.js';
import type { ReplicationRuntime } from '../../src/replication/runtime.js';
import { Role } from '../../src/wire/types.js';
import { FailoverWatch } from './failover-watch.js';

export type ChannelsCommand =
  | {
      readonly op: 'start';
      readonly name: string;
      readonly certsDir: string;
      readonly members: readonly string[];
      readonly dataDir?: string;
      readonly coalesce: boolean;
      readonly nodeBeats: boolean;
    }
  | { readonly op: 'dial'; readonly peers: readonly { host: string; port: number }[] }
  | {
      readonly op: 'open';
      readonly count: number;
      readonly heartbeatMs: number;
      readonly concurrency: number;
    }
  | { readonly op: 'roles' }
  | { readonly op: 'probe'; readonly index: number }
  | { readonly op: 'led' }
  | { readonly op: 'sample' }
  /** From now (the SIGKILL of another node): the timeline of taking over `names`. */
  | { readonly op: 'failover-watch'; readonly names: readonly string[] }
  | { readonly op: 'failover-report' }
  /** How many of the watched channels this node leads now (cheap: counted by role events). */
  | { readonly op: 'failover-led' }
  /** A V8 CPU profile of this process from now until `profile-stop` (written to `path`). */
  | { readonly op: 'profile-start' }
  | { readonly op: 'profile-stop'; readonly path: string }
  | { readonly op: 'stop' };

type Request = ChannelsCommand & { readonly id: number };

let node: StartedMeshNode | null = null;
let profiler: Session | null = null;
let persistent = false;
let nodeName = '';
const names: string[] = [];
const counters = { candidate: 0, leader: 0, lost: 0 };
let failoverWatch: FailoverWatch | null = null;

export function channelName(index: number): string {
  return `many/c${index}`;
}

function started(): StartedMeshNode {
  if (node === null) throw new Error('node not started');
  return node;
}

function roleOf(name: string): Role {
  return started().replicator.channel(name)?.role ?? Role.Idle;
}

async function open(count: number, heartbeatMs: number, concurrency: number) {
  const self = started();
  const wanted = Array.from({ length: count }, (_, i) => channelName(i));
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let opened = 0;
  let lastOpened = 0;
  let stalledSinceMs: number | null = null;
  let reports = 0;
  // A long open shows where it is (stderr, every 2 s); a stalled one, what the process waits on.
  const progress = setInterval(() => {
    const now = performance.now();
    const s = ((now - t0) / 1000).toFixed(1);
    let stalled = '';
    if (opened === lastOpened) {
      stalledSinceMs ??= now;
      if (now - stalledSinceMs >= 6_000) {
        const resources = new Map<string, number>();
        for (const kind of process.getActiveResourcesInfo())
          resources.set(kind, (resources.get(kind) ?? 0) + 1);
        const waits = [...resources].map(([kind, n]) => `${kind} ${n}`).join(', ');
        stalled = ` — no open finished for ${((now - stalledSinceMs) / 1000).toFixed(0)} s; active: ${waits}; roles ${JSON.stringify(roles())}`;
      }
    } else {
      stalledSinceMs = null;
    }
    lastOpened = opened;
    // Every 10 s, the roles of the channels open so far (unsettled ones run full ticks).
    const rolesNow =
      ++reports % 5 === 0 && stalled === '' ? ` roles ${JSON.stringify(roles())}` : '';
    process.stderr.write(
      `[${nodeName}] open ${opened}/${count} after ${s} s${stalled}${rolesNow}\n`,
    );
  }, 2_000);
  const config = {
    replication: { factor: 3, heartbeatMs },
    ...(persistent ? { persistent: true, fsync: 'never' as const } : {}),
  };
  // openMany's bounded concurrency, counting the opens for the progress line.
  const files = await mapBounded(wanted, concurrency, async (name) => {
    const file = await self.redex.openFile(name, config);
    opened++;
    // Counted by `roles` at once: a stalled open shows the roles of the channels already open.
    names.push(file.name);
    return file;
  }).finally(() => clearInterval(progress));
  const openMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  for (const file of files) {
    const coordinator = self.replicator.channel(file.name)?.handle?.runtime.coordinator;
    coordinator?.onRoleChange((event) => {
      if (event.to === Role.Candidate) counters.candidate++;
      if (event.to === Role.Leader) counters.leader++;
      if (event.from === Role.Leader) counters.lost++;
    });
  }
  return { openMs, cpuMs };
}

function runtimesOf(wanted: readonly string[]): ReplicationRuntime[] {
  return wanted.flatMap((name) => {
    const runtime = started().replicator.channel(name)?.handle?.runtime;
    return runtime === undefined ? [] : [runtime];
  });
}

function roles() {
  const tally = { leader: 0, replica: 0, candidate: 0, idle: 0, agreed: 0 };
  for (const name of names) {
    const role = roleOf(name);
    if (role === Role.Leader) tally.leader++;
    else if (role === Role.Replica) tally.replica++;
    else if (role === Role.Candidate) tally.candidate++;
    else tally.idle++;
    const channel = started().replicator.channel(name);
    if (role === Role.Leader || (role === Role.Replica && channel?.leader != null)) tally.agreed++;
  }
  return tally;
}

async function handle(request: Request): Promise<Record<string, unknown>> {
  switch (request.op) {
    case 'start': {
      persistent = request.dataDir !== undefined;
      nodeName = request.name;
      node = await startMeshNode({
        name: request.name,
        certsDir: request.certsDir,
        members: request.members.map((name) => ({ name })),
        coalesceHeartbeats: request.coalesce,
        nodeBeats: request.nodeBeats,
        ...(request.dataDir === undefined ? {} : { dataDir: request.dataDir }),
      });
      return { port: node.address.port, nodeId: node.nodeId.toString(16) };
    }
    case 'dial': {
      const self = started();
      for (const peer of request.peers) {
        if (peer.port !== self.address.port) self.transport.addPeer(peer);
      }
      return {};
    }
    case 'open':
      return open(request.count, request.heartbeatMs, request.concurrency);
    case 'roles': {
      const transport = started().transport;
      const stats = transport.stats();
      return {
        ...roles(),
        connected: transport.connectedPeers().length,
        // Why a connection was lost while settling (a starved loop can miss its deadlines).
        idleTimeouts: stats.idleTimeouts,
        handshakeTimeouts: stats.handshakeTimeouts,
      };
    }
    case 'probe': {
      const runtime = started().replicator.channel(channelName(request.index))?.handle?.runtime;
      if (runtime === undefined) return { missing: true };
      const q = runtime.quorum;
      return {
        role: runtime.coordinator.role,
        mayVote: q.mayVote,
        epoch: q.epoch,
        leader: q.leader?.toString(16) ?? null,
        standAtMs: q.standAtMs,
        nowMs: performance.now(),
        stats: { ...runtime.stats, drops: undefined },
        counters: q.counters,
        peers: runtime.replicaSet.map((id) => {
          const p = runtime.tracker.peer(id);
          return p === undefined
            ? null
            : { lastSeenMs: p.lastSeenMs, epoch: p.epoch, role: p.role };
        }),
      };
    }
    case 'led':
      return { names: names.filter((name) => roleOf(name) === Role.Leader) };
    case 'sample': {
      const transport = started().transport.stats();
      // Stands after a silent leader always begin with a pre-vote; a planned transfer never does.
      let preVotes = 0;
      let transfers = 0;
      // Channel steps: full ticks (a quiet tick is no step) and inbound heartbeats.
      let fullTicks = 0;
      let heartbeatsIn = 0;
      // Every election since the start (the open and its elections included).
      const elections = {
        preVotes: 0,
        preVotesLost: 0,
        started: 0,
        won: 0,
        lost: 0,
        granted: 0,
        refused: 0,
        refusedBy: {} as Record<string, number>,
      };
      for (const name of names) {
        const runtime = started().replicator.channel(name)?.handle?.runtime;
        if (runtime === undefined) continue;
        const c = runtime.quorum.counters;
        elections.preVotes += c.preVotesStarted;
        elections.started += c.electionsStarted;
        elections.won += c.electionsWon;
        elections.lost += c.electionsLost;
        elections.granted += c.votesGranted;
        elections.refused += c.votesRefused;
        // Absent in code before these counters (a before/after run of older src).
        elections.preVotesLost += c.preVotesLost ?? 0;
        for (const [reason, n] of Object.entries(c.votesRefusedBy ?? {}))
          elections.refusedBy[reason] = (elections.refusedBy[reason] ?? 0) + n;
        preVotes += runtime.quorum.counters.preVotesStarted;
        transfers += runtime.quorum.counters.transfersStarted;
        fullTicks += runtime.stats.ticks - runtime.stats.quietTicks;
        heartbeatsIn += runtime.stats.heartbeatsIn;
      }
      return {
        cpu: process.cpuUsage(),
        rss: process.memoryUsage().rss,
        framesOut: transport.framesOut,
        framesIn: transport.framesIn,
        heartbeats: started().mesh.heartbeatStats(),
        counters: { ...counters, preVotes, transfers },
        steps: { fullTicks, heartbeatsIn },
        elections,
        atMs: performance.now(),
      };
    }
    case 'failover-watch':
      failoverWatch = new FailoverWatch(runtimesOf(request.names), runtimesOf(names));
      return {};
    case 'failover-led':
      return { led: failoverWatch?.leading ?? 0 };
    case 'failover-report': {
      const report = failoverWatch?.stop() ?? null;
      failoverWatch = null;
      return { report };
    }
    case 'profile-start': {
      profiler = new Session();
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.start');
      return {};
    }
    case 'profile-stop': {
      const session = profiler;
      profiler = null;
      if (session === null) return { written: false };
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      writeFileSync(request.path, JSON.stringify(profile));
      return { written: true };
    }
    case 'stop': {
      const self = node;
      node = null;
      await self?.close();
      return {};
    }
  }
}

process.on('message', (message: Request) => {
  handle(message).then(
    (body) => {
      process.send?.({ id: message.id, ok: true, ...body });
      if (message.op === 'stop') process.disconnect();
    },
    (error: unknown) =>
      process.send?.({
        id: message.id,
        ok: false,
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      }),
  );
});
process.on('disconnect', () => {
  const self = node;
  node = null;
  // The parent is gone (stopped or killed): never outlive it, even if closing thousands of
  // channels hangs (an orphan once burned a core for 20 minutes).
  setTimeout(() => process.exit(1), 10_000).unref();
  void (self?.close() ?? Promise.resolve()).finally(() => process.exit(0));
});
