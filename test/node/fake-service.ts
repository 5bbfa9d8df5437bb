// A NodeService for HTTP tests: a real LocalNodeService underneath, with any method replaced.
// This is how the HTTP layer is tested against what only a cluster produces today (NOT_LEADER,
// peers, leaders on other nodes) and against bugs (a method that throws something untyped).

import type { NotLeaderError } from '../../src/log/errors.js';
import { Redex } from '../../src/log/redex.js';
import type { ChannelSpec } from '../../src/node/channel-spec.js';
import { LocalNodeService } from '../../src/node/local-service.js';
import type { ResolvedMember } from '../../src/node/members.js';
import type {
  AppendOptions,
  AppendResult,
  ChannelStatus,
  EventStream,
  LeaderHint,
  LeadershipResult,
  NodeInfo,
  NodeReadiness,
  NodeService,
  NodeStatus,
  ReadRequest,
  ReadResult,
} from '../../src/node/service.js';

export type Overrides = Partial<{
  append: NodeService['append'];
  status: NodeService['status'];
  read: NodeService['read'];
  tail: NodeService['tail'];
  metrics: NodeService['metrics'];
  readiness: NodeService['readiness'];
}>;

export class FakeService implements NodeService {
  readonly inner: LocalNodeService;
  overrides: Overrides;

  constructor(overrides: Overrides = {}, members: readonly ResolvedMember[] = []) {
    this.inner = new LocalNodeService({ name: 'node-a', redex: new Redex(), members });
    this.overrides = overrides;
  }

  get info(): NodeInfo {
    return this.inner.info;
  }
  get specDefaults() {
    return this.inner.specDefaults;
  }
  get accepting(): boolean {
    return this.inner.accepting;
  }
  createChannel(spec: ChannelSpec) {
    return this.inner.createChannel(spec);
  }
  deleteChannel(name: string) {
    return this.inner.deleteChannel(name);
  }
  channel(name: string): Promise<ChannelStatus> {
    return this.inner.channel(name);
  }
  append(
    channel: string,
    payloads: readonly Uint8Array[],
    options?: AppendOptions,
  ): Promise<AppendResult> {
    return (this.overrides.append ?? this.inner.append.bind(this.inner))(
      channel,
      payloads,
      options,
    );
  }
  read(channel: string, request: ReadRequest): Promise<ReadResult> {
    return (this.overrides.read ?? this.inner.read.bind(this.inner))(channel, request);
  }
  tail(channel: string, fromSeq: number): Promise<EventStream> {
    return (this.overrides.tail ?? this.inner.tail.bind(this.inner))(channel, fromSeq);
  }
  status(): Promise<NodeStatus> {
    return (this.overrides.status ?? this.inner.status.bind(this.inner))();
  }
  metrics(): Promise<string> {
    return (this.overrides.metrics ?? this.inner.metrics.bind(this.inner))();
  }
  transferLeadership(channel: string, to: string | null): Promise<LeadershipResult> {
    return this.inner.transferLeadership(channel, to);
  }
  readiness(): NodeReadiness {
    return (this.overrides.readiness ?? this.inner.readiness.bind(this.inner))();
  }
  resolveLeader(error: NotLeaderError): LeaderHint {
    return this.inner.resolveLeader(error);
  }
  watch(listener: () => void): () => void {
    return this.inner.watch(listener);
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}
