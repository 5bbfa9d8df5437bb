// `NodeService` for a node in a cluster: a `LocalNodeService` over the Redex of a started mesh
// node (`startMeshNode`), plus what replication adds. DEV DOCS:
//
// - Writes: `append` goes to the local file, which throws `NotLeaderError` on a node that does
//   not lead (the HTTP layer turns it into 421 with the leader's HTTP origin: the members' client
//   addresses are their HTTP origins). `replicas` waits with `file.waitForReplicas`.
// - Creates: a replicated channel created by a client (`origin: 'api'`) is opened here, then
//   POSTed to the HTTP API of every other member of its replica set with the same spec and the
//   `x-redex-forwarded-by` header (the receiver opens and remembers it but does not send it on).
//   Creates are idempotent, so a member that was down is offered every such channel again when
//   its mesh connection comes up (with retries while its HTTP API is still starting).
// - Status: roles, leaders and per-replica tails from each channel's replication snapshot (what
//   each replica claimed, and on a leader what it confirmed), peers from the transport's
//   snapshots (RTT smoothed). Replication changes tails and roles without any local call, so the
//   watchers also hear each replicated channel's change events and the transport's peer events.
// - Shutdown: refuse writes, let the ones in flight (and their replica waits) finish, then the
//   local service flushes, fsyncs and closes the Redex (channels go Idle and withdraw their chain
//   tags while the mesh is still up), then the mesh node and its transport close.

import type { StartedMeshNode } from '../cluster/start-node.js';
import type { RedexFileConfig } from '../log/config.js';
import { RedexError, RedexErrorCode } from '../log/errors.js';
import type { ReplicationRuntimeHandle } from '../replication/handle.js';
import type { ReplicatedChannel } from '../replication/replicator.js';
import type { Clock } from '../time/clock.js';
import { type NodeId, Role } from '../wire/types.js';
import type { ChannelSpec } from './channel-spec.js';
import { NodeConfigError, NodeError, NodeErrorCode } from './errors.js';
import {
  deleteRequest,
  FORWARDED_BY_HEADER,
  type ForwardAnswer,
  type ForwardAuth,
  postJson,
} from './forward.js';
import { APPEND_TIMEOUT_MS_DEFAULT } from './http/limits.js';
import type { LocalNodeService } from './local-service.js';
import { type NodeLogger, silentLogger } from './logger.js';
import type { ResolvedMember } from './members.js';
import { formatNodeId, parseNodeIdHex } from './node-id.js';
import type {
  AppendOptions,
  AppendResult,
  ChannelRole,
  ChannelSpecDefaults,
  ChannelStatus,
  CreateChannelOptions,
  CreateChannelResult,
  DeleteChannelOptions,
  DeleteChannelResult,
  DeleteOutcome,
  EventStream,
  ForwardOutcome,
  LeaderHint,
  LeadershipResult,
  NodeInfo,
  NodeReadiness,
  NodeService,
  NodeStatus,
  PeerStatus,
  ReadinessCheck,
  ReadRequest,
  ReadResult,
  ReplicaStatus,
} from './service.js';
import { READINESS_CHANNELS_LISTED_MAX } from './service.js';

/** One forwarded create's deadline. */
export const FORWARD_TIMEOUT_MS = 5_000;
/**
 * Attempts to reach a member's HTTP API: a client's create answers within about a second (a
 * member that is down gets the channel when it comes back); an offer to a peer that just came up
 * keeps trying for about half a minute while its HTTP API starts.
 */
export const FORWARD_ATTEMPTS_CREATE = 4;
export const FORWARD_ATTEMPTS_OFFER = 20;
const FORWARD_RETRY_MS_MIN = 100;
const FORWARD_RETRY_MS_MAX = 2_000;
/** Leaderships handed over at once when a node stops (each is a few messages). */
export const DRAIN_TRANSFERS_CONCURRENCY = 64;

export interface ClusterNodeServiceOptions {
  /** The service over `node.redex`, with `node.mesh.metrics` as its metrics registry. */
  readonly local: LocalNodeService;
  readonly node: StartedMeshNode;
  /** Every member with its NodeId (a cluster config requires them). */
  readonly members: readonly ResolvedMember[];
  readonly clock: Clock;
  readonly logger?: NodeLogger;
  /** How this node authenticates to the other members' HTTP APIs when it forwards a create. */
  readonly forwardAuth: ForwardAuth;
}

/**
 * The log config a cluster opens `spec` with: its file config plus its replication config, the
 * member names of a pinned placement turned into NodeIds (hex ids are taken as they are).
 */
export function clusterFileConfig(
  spec: ChannelSpec,
  members: readonly ResolvedMember[],
): RedexFileConfig {
  if (spec.replication === null) return spec.file;
  const { placement, ...rest } = spec.replication;
  let resolved: 'standard' | { pinned: NodeId[] } | undefined;
  if (placement === undefined || placement === 'standard') resolved = placement;
  else {
    resolved = {
      pinned: placement.pinned.map((entry) => {
        const id = members.find((member) => member.name === entry)?.nodeId ?? parseNodeIdHex(entry);
        if (id === null) {
          throw new NodeConfigError(
            `${spec.name}: replication.placement.pinned`,
            `names ${JSON.stringify(entry)}, which is not a member with a known NodeId`,
            { source: 'channel spec' },
          );
        }
        return id;
      }),
    };
  }
  return {
    ...spec.file,
    replication: { ...rest, ...(resolved === undefined ? {} : { placement: resolved }) },
  };
}

const ROLE_NAMES: Record<Role, ChannelRole> = {
  [Role.Leader]: 'leader',
  [Role.Replica]: 'replica',
  [Role.Candidate]: 'candidate',
  [Role.Idle]: 'idle',
};

export class ClusterNodeService implements NodeService {
  readonly #local: LocalNodeService;
  readonly #node: StartedMeshNode;
  readonly #members: readonly ResolvedMember[];
  readonly #byId = new Map<NodeId, ResolvedMember>();
  readonly #clock: Clock;
  readonly #logger: NodeLogger;
  readonly #auth: ForwardAuth;
  readonly #meshAddress: string;
  /** Replicated channels offered to peers that come up: client-, peer- and registry-created. */
  readonly #shared = new Map<string, ChannelSpec>();
  readonly #watchers = new Set<() => void>();
  readonly #unsubscribe: (() => void)[] = [];
  /** Cancels forwards in progress at shutdown. */
  readonly #abort = new AbortController();
  /** The replicated channels whose change events reach the watchers, and how to stop that. */
  readonly #followed = new Map<ReplicationRuntimeHandle, () => void>();
  #accepting = true;
  #inflight = 0;
  #idle: (() => void)[] = [];
  #shutdown: Promise<void> | null = null;

  constructor(options: ClusterNodeServiceOptions) {
    this.#local = options.local;
    this.#node = options.node;
    this.#members = options.members;
    for (const member of options.members) {
      if (member.nodeId !== null) this.#byId.set(member.nodeId, member);
    }
    this.#clock = options.clock;
    this.#logger = options.logger ?? silentLogger;
    this.#auth = options.forwardAuth;
    const { host, port } = options.node.address;
    this.#meshAddress = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    this.#unsubscribe.push(
      options.node.transport.onPeer((event) => {
        this.#logger.info({ peer: this.#nameOf(event.nodeId), kind: event.kind }, 'mesh peer');
        this.#notify();
        if (event.kind === 'up') this.#offerShared(event.nodeId);
      }),
    );
    this.#unsubscribe.push(this.#local.watch(() => this.#followChannels()));
    this.#followChannels();
  }

  get info(): NodeInfo {
    return { ...this.#local.info, mode: 'cluster', mesh: this.#meshAddress };
  }

  get specDefaults(): ChannelSpecDefaults {
    return this.#local.specDefaults;
  }

  get accepting(): boolean {
    return this.#accepting && this.#local.accepting;
  }

  advertiseHttp(origin: string): void {
    this.#local.advertiseHttp(origin);
  }

  async createChannel(
    spec: ChannelSpec,
    options: CreateChannelOptions = {},
  ): Promise<CreateChannelResult> {
    const origin = options.origin ?? 'api';
    const result = await this.#local.createChannel(spec, { origin });
    if (spec.replication === null || origin === 'config') {
      return { ...result, channel: this.#decorate(result.channel) };
    }
    this.#shared.set(spec.name, spec);
    if (origin !== 'api') return { ...result, channel: this.#decorate(result.channel) };
    const targets = this.#replicaPeers(spec.name);
    const members = await Promise.all(
      targets.map((member) => this.#forward(member, spec, FORWARD_ATTEMPTS_CREATE)),
    );
    return { ...result, channel: this.#decorate(result.channel), members };
  }

  /**
   * Deletes here; a client's delete of a replicated channel then goes to the rest of its replica
   * set (computed before the local delete, which stops its replication). A member that cannot be
   * reached keeps the channel until it is deleted there.
   */
  async deleteChannel(
    name: string,
    options: DeleteChannelOptions = {},
  ): Promise<DeleteChannelResult> {
    const origin = options.origin ?? 'api';
    const targets =
      origin === 'api' && !this.#local.isConfigChannel(name) ? this.#replicaPeers(name) : [];
    await this.#local.deleteChannel(name);
    // Not offered again to peers that come up.
    this.#shared.delete(name);
    if (targets.length === 0) return {};
    const members = await Promise.all(targets.map((member) => this.#forwardDelete(member, name)));
    return { members };
  }

  async channel(name: string): Promise<ChannelStatus> {
    return this.#decorate(await this.#local.channel(name));
  }

  async append(
    channel: string,
    payloads: readonly Uint8Array[],
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    if (!this.#accepting) {
      throw new NodeError(NodeErrorCode.ShuttingDown, 'this node is shutting down');
    }
    const acks = options.acks;
    if (typeof acks === 'number' && acks > 0) this.#checkReplicas(channel, acks);
    this.#inflight++;
    try {
      // A replica's file throws NotLeaderError here, before anything is stored; a leader's append
      // resolves once acknowledged as `acks` asks (LEADERSHIP_LOST: outcome unknown).
      return await this.#local.append(channel, payloads, {
        ...(acks === undefined ? {} : { acks }),
        timeoutMs: options.timeoutMs ?? APPEND_TIMEOUT_MS_DEFAULT,
        ...(options.ifNextSeq === undefined ? {} : { ifNextSeq: options.ifNextSeq }),
      });
    } finally {
      this.#inflight--;
      if (this.#inflight === 0) for (const wake of this.#idle.splice(0)) wake();
    }
  }

  read(channel: string, request: ReadRequest): Promise<ReadResult> {
    return this.#local.read(channel, request);
  }

  tail(channel: string, fromSeq: number): Promise<EventStream> {
    return this.#local.tail(channel, fromSeq);
  }

  async status(): Promise<NodeStatus> {
    const local = await this.#local.status();
    return {
      ...local,
      node: { ...local.node, ...this.info, accepting: this.accepting },
      peers: this.#peers(),
      channels: local.channels.map((channel) => this.#decorate(channel)),
    };
  }

  metrics(): Promise<string> {
    return this.#local.metrics();
  }

  async transferLeadership(channel: string, to: string | null): Promise<LeadershipResult> {
    const replicated = this.#replicated(channel);
    if (replicated === undefined) {
      this.#local.file(channel); // CHANNEL_NOT_FOUND first, when it is not open at all
      throw new NodeError(
        NodeErrorCode.Unavailable,
        `channel ${JSON.stringify(channel)} is not replicated; there is no other node to lead it`,
      );
    }
    let target: NodeId | undefined;
    if (to !== null) {
      const id = this.#members.find((member) => member.name === to)?.nodeId ?? parseNodeIdHex(to);
      if (id === null || !replicated.replicaSet.includes(id) || id === this.#node.nodeId) {
        throw new RedexError(
          RedexErrorCode.InvalidArgument,
          `to=${JSON.stringify(to)} is not another member of the replica set of ${JSON.stringify(channel)}`,
        );
      }
      target = id;
    }
    const result = await replicated.transferLeadership(target);
    this.#logger.info(
      { channel, epoch: result.epoch, leader: this.#nameOf(result.leader) },
      'leadership transferred',
    );
    return {
      channel,
      epoch: result.epoch,
      leader: {
        name: this.#byId.get(result.leader)?.name ?? null,
        nodeId: formatNodeId(result.leader),
      },
    };
  }

  /**
   * A planned stop hands every channel this node leads to another member first, so writers wait
   * a few round trips instead of a silence window. Best effort: a transfer that fails is logged
   * and the stop goes on (the others then elect a leader as after a crash).
   */
  async #drainLeaderships(): Promise<void> {
    const led = this.#node.replicator.channelNames.filter(
      (name) => this.#replicated(name)?.role === Role.Leader,
    );
    if (led.length === 0) return;
    let moved = 0;
    let failed = 0;
    let next = 0;
    const worker = async () => {
      while (next < led.length) {
        const name = led[next++] as string;
        try {
          await this.#replicated(name)?.transferLeadership();
          moved++;
        } catch (error) {
          failed++;
          this.#logger.warn({ channel: name, err: error }, 'leadership not handed over at stop');
        }
      }
    };
    const workers = Math.min(DRAIN_TRANSFERS_CONCURRENCY, led.length);
    await Promise.all(Array.from({ length: workers }, worker));
    this.#logger.info({ moved, failed }, 'leaderships handed over before stopping');
  }

  /**
   * Ready when the log is open, the mesh is up (transport open, at least one other member
   * connected) and every replicated channel open here knows its leader.
   */
  readiness(): NodeReadiness {
    const storageOpen = this.#local.storageOpen && this.accepting;
    const transport = this.#node.transport;
    const others = this.#members.filter(
      (member) => member.nodeId !== null && member.nodeId !== this.#node.nodeId,
    );
    const connectedPeers = others.filter((member) => transport.isConnected(member.nodeId!)).length;
    const meshUp = !transport.closed && (others.length === 0 || connectedPeers > 0);
    let replicatedChannels = 0;
    let withoutLeaderCount = 0;
    const withoutLeader: string[] = [];
    for (const name of this.#local.channelNames) {
      const replicated = this.#replicated(name);
      if (replicated === undefined) continue;
      replicatedChannels++;
      if (replicated.leader !== null) continue;
      withoutLeaderCount++;
      if (withoutLeader.length < READINESS_CHANNELS_LISTED_MAX) withoutLeader.push(name);
    }
    const failing: ReadinessCheck[] = [];
    if (!storageOpen) failing.push('storage');
    if (!meshUp) failing.push('mesh');
    if (withoutLeaderCount > 0) failing.push('leaders');
    return {
      ready: failing.length === 0,
      failing,
      storageOpen,
      mesh: { up: meshUp, connectedPeers, peers: others.length },
      replicatedChannels,
      channelsWithoutLeader: withoutLeader,
      channelsWithoutLeaderCount: withoutLeaderCount,
    };
  }

  resolveLeader(error: Parameters<NodeService['resolveLeader']>[0]): LeaderHint {
    return this.#local.resolveLeader(error);
  }

  watch(listener: () => void): () => void {
    const stopLocal = this.#local.watch(listener);
    this.#watchers.add(listener);
    return () => {
      stopLocal();
      this.#watchers.delete(listener);
    };
  }

  shutdown(): Promise<void> {
    this.#shutdown ??= this.#runShutdown();
    return this.#shutdown;
  }

  async #runShutdown(): Promise<void> {
    this.#accepting = false;
    this.#abort.abort();
    for (const stop of this.#unsubscribe.splice(0)) stop();
    for (const stop of this.#followed.values()) stop();
    this.#followed.clear();
    // Writes already taken finish, replica waits included, before the files close.
    if (this.#inflight > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
    try {
      await this.#drainLeaderships();
      await this.#local.shutdown();
    } finally {
      await this.#node.close();
    }
    this.#logger.info({}, 'mesh closed');
  }

  // ─── replication views ────────────────────────────────────────────────────────────────────

  #replicated(name: string): ReplicatedChannel | undefined {
    return this.#node.replicator.channel(name);
  }

  #checkReplicas(channel: string, replicas: number): void {
    const replicated = this.#replicated(channel);
    if (replicated === undefined) {
      this.#local.file(channel); // CHANNEL_NOT_FOUND first, when it is not open at all
      throw new NodeError(
        NodeErrorCode.Unavailable,
        `channel ${JSON.stringify(channel)} is not replicated; it has no replicas to wait for`,
      );
    }
    const others = replicated.replicaSet.length - 1;
    if (replicas > others) {
      throw new RedexError(
        RedexErrorCode.InvalidArgument,
        `replicas=${replicas} but channel ${JSON.stringify(channel)} has ${others} replica${others === 1 ? '' : 's'} besides its leader`,
      );
    }
  }

  /** The local status with the replication facts: role, leader, each holder's tail and lag. */
  #decorate(channel: ChannelStatus): ChannelStatus {
    const replicated = this.#replicated(channel.name);
    if (replicated === undefined) return channel;
    const selfId = this.#node.nodeId;
    const snapshot = replicated.handle?.snapshot() ?? null;
    const peer = (id: NodeId) => snapshot?.replicas.find((replica) => replica.nodeId === id);
    const role = ROLE_NAMES[replicated.role];
    const leaderId = replicated.leader;
    const leaderTail =
      leaderId === null
        ? null
        : leaderId === selfId
          ? channel.nextSeq
          : (peer(leaderId)?.tailSeq ?? null);
    const lag = (tail: number | null) =>
      tail === null || leaderTail === null ? null : Math.max(0, leaderTail - tail);
    const replicas: ReplicaStatus[] = replicated.replicaSet.map((id) => {
      const member = this.#byId.get(id);
      const base = { name: member?.name ?? null, nodeId: formatNodeId(id) };
      if (id === selfId) {
        return {
          ...base,
          self: true,
          role,
          tailSeq: channel.nextSeq,
          lagEvents: lag(channel.nextSeq),
        };
      }
      const heard = peer(id);
      const confirmed = role === 'leader' ? (heard?.confirmedTail ?? null) : null;
      const tailSeq = confirmed ?? heard?.tailSeq ?? null;
      return {
        ...base,
        self: false,
        // A holder not heard from within the silence window may be gone: its role is unknown.
        role: heard?.fresh === true && heard.role !== null ? ROLE_NAMES[heard.role] : null,
        tailSeq,
        lagEvents: lag(tailSeq),
        matchedSeq: heard?.matchedSeq ?? null,
      };
    });
    return {
      ...channel,
      epoch: snapshot?.epoch ?? 0,
      commitSeq: snapshot?.commitSeq ?? 0,
      role,
      leader:
        leaderId === null
          ? null
          : { name: this.#byId.get(leaderId)?.name ?? null, nodeId: formatNodeId(leaderId) },
      replicas,
    };
  }

  #peers(): PeerStatus[] {
    const transport = this.#node.transport;
    return this.#members
      .filter((member) => member.nodeId !== null && member.nodeId !== this.#node.nodeId)
      .map((member) => {
        const id = member.nodeId!;
        return {
          name: member.name,
          nodeId: formatNodeId(id),
          mesh: member.mesh,
          http: member.http,
          connected: transport.isConnected(id),
          rttMs: transport.peer(id)?.rttSmoothedMs ?? null,
        };
      });
  }

  #nameOf(id: NodeId): string {
    return this.#byId.get(id)?.name ?? formatNodeId(id);
  }

  // ─── cluster-wide creates ─────────────────────────────────────────────────────────────────

  /** The other members of the channel's replica set that have an HTTP origin to forward to. */
  #replicaPeers(name: string): ResolvedMember[] {
    const replicaSet = this.#replicated(name)?.replicaSet ?? [];
    const out: ResolvedMember[] = [];
    for (const id of replicaSet) {
      if (id === this.#node.nodeId) continue;
      const member = this.#byId.get(id);
      if (member !== undefined) out.push(member);
    }
    return out;
  }

  /** Sends the create to one member, retrying while its API is unreachable; never throws. */
  async #forward(
    member: ResolvedMember,
    spec: ChannelSpec,
    attempts: number,
  ): Promise<ForwardOutcome> {
    const body = { name: spec.name, file: spec.file, replication: spec.replication };
    const outcome = await this.#retrying(member, spec.name, attempts, (origin) =>
      postJson(origin, '/channels', body, {
        ...this.#auth,
        headers: { [FORWARDED_BY_HEADER]: this.#local.info.name },
        timeoutMs: FORWARD_TIMEOUT_MS,
        signal: this.#abort.signal,
      }),
    );
    if ('error' in outcome) return { name: member.name, error: outcome.error };
    if (outcome.status === 200 || outcome.status === 201) {
      return { name: member.name, created: outcome.status === 201 };
    }
    const error = errorOf(outcome, member.name);
    this.#logger.warn(
      { channel: spec.name, member: member.name, error },
      'a member refused the channel',
    );
    return { name: member.name, error };
  }

  /** Sends a delete to one member, retrying while its API is unreachable; never throws. */
  async #forwardDelete(member: ResolvedMember, name: string): Promise<DeleteOutcome> {
    const outcome = await this.#retrying(member, name, FORWARD_ATTEMPTS_CREATE, (origin) =>
      deleteRequest(origin, `/channels/${encodeURIComponent(name)}`, {
        ...this.#auth,
        headers: { [FORWARDED_BY_HEADER]: this.#local.info.name },
        timeoutMs: FORWARD_TIMEOUT_MS,
        signal: this.#abort.signal,
      }),
    );
    if ('error' in outcome) return { name: member.name, error: outcome.error };
    if (outcome.status === 204) return { name: member.name, deleted: true };
    const error = errorOf(outcome, member.name);
    // Already gone there: what the delete wanted.
    if (error.code === NodeErrorCode.ChannelNotFound) return { name: member.name, deleted: false };
    this.#logger.warn({ channel: name, member: member.name, error }, 'a member refused the delete');
    return { name: member.name, error };
  }

  /** `send` to the member's HTTP origin until it answers something other than 503. */
  async #retrying(
    member: ResolvedMember,
    channel: string,
    attempts: number,
    send: (origin: string) => Promise<ForwardAnswer>,
  ): Promise<ForwardAnswer | { error: { code: string; message: string } }> {
    if (member.http === null) {
      const error = {
        code: NodeErrorCode.Unavailable,
        message: `redex: member ${member.name} has no 'http' origin in the config; open or delete the channel there yourself`,
      };
      this.#logger.warn({ channel, member: member.name }, error.message);
      return { error };
    }
    let delayMs = FORWARD_RETRY_MS_MIN;
    let last = '';
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (this.#abort.signal.aborted) break;
      try {
        const answer = await send(member.http);
        // A node that is stopping may be back soon; any other answer will not change.
        if (answer.status !== 503) return answer;
        last = errorOf(answer, member.name).message;
      } catch (error) {
        last = (error as Error).message;
      }
      if (attempt < attempts) await this.#sleep(delayMs);
      delayMs = Math.min(FORWARD_RETRY_MS_MAX, delayMs * 2);
    }
    const error = {
      code: NodeErrorCode.Unavailable,
      message: `redex: ${member.name} (${member.http}) could not be reached (${last}); it gets a created channel when its mesh connection comes up`,
    };
    this.#logger.warn({ channel, member: member.name }, error.message);
    return { error };
  }

  /** A peer came up: offer it every shared channel whose replica set holds it (idempotent). */
  #offerShared(peer: NodeId): void {
    const member = this.#byId.get(peer);
    if (member === undefined || !this.#accepting) return;
    for (const spec of this.#shared.values()) {
      if (!(this.#replicated(spec.name)?.replicaSet.includes(peer) ?? false)) continue;
      void this.#forward(member, spec, FORWARD_ATTEMPTS_OFFER);
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.#clock.setTimer(ms, () => resolve());
      this.#abort.signal.addEventListener(
        'abort',
        () => {
          timer.cancel();
          resolve();
        },
        { once: true },
      );
    });
  }

  // ─── watching replication ─────────────────────────────────────────────────────────────────

  /**
   * Follows the change events of every replicated channel open here (new ones appear through
   * the local service's notifications), and forgets the ones that closed.
   */
  #followChannels(): void {
    const live = new Set<ReplicationRuntimeHandle>();
    for (const name of this.#local.channelNames) {
      const handle = this.#replicated(name)?.handle ?? null;
      if (handle === null || handle.isStopped) continue;
      live.add(handle);
      if (!this.#followed.has(handle)) {
        this.#followed.set(
          handle,
          handle.onChange(() => this.#notify()),
        );
      }
    }
    for (const [handle, unsubscribe] of this.#followed) {
      if (!live.has(handle)) {
        unsubscribe();
        this.#followed.delete(handle);
      }
    }
  }

  #notify(): void {
    for (const watcher of [...this.#watchers]) {
      try {
        watcher();
      } catch (error) {
        this.#logger.error({ err: error }, 'status watcher threw');
      }
    }
  }
}

/** The `{ code, message }` of a member's error answer (or one made from its status). */
function errorOf(answer: ForwardAnswer, member: string): { code: string; message: string } {
  const error = (answer.body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  return {
    code: typeof error?.code === 'string' ? error.code : `HTTP_${answer.status}`,
    message:
      typeof error?.message === 'string'
        ? error.message
        : `redex: ${member} answered ${answer.status}`,
  };
}
