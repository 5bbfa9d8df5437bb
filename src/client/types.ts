// The JSON the node's API answers for status and channel admin, as the client returns it. The
// server's own types (src/node/service.ts) must stay assignable to these; test/client pins it.

export type ChannelRole = 'leader' | 'replica' | 'candidate' | 'idle' | 'standalone';

/** A channel's log config as given (docs/OPERATIONS.md, the config file's `file`). */
export interface ChannelFileConfig {
  readonly persistent?: boolean;
  /** `'never'`, `'always'`, `{ everyN }`, `{ intervalMs }` or `{ intervalMs, maxBytes }`. */
  readonly fsync?: unknown;
  readonly retention?: {
    readonly maxEvents?: number;
    readonly maxBytes?: number;
    readonly maxAgeMs?: number;
  };
  readonly tailBufferSize?: number;
  readonly maxLiveBytes?: number;
  readonly cacheBytes?: number;
}

/** A channel's replication as given (the config file's `replication`). */
export interface ChannelReplicationConfig {
  readonly factor?: number;
  readonly heartbeatMs?: number;
  readonly placement?: unknown;
}

export interface ChannelStatus {
  readonly name: string;
  readonly persistent: boolean;
  /** The log config the channel was opened with. */
  readonly file: ChannelFileConfig;
  readonly replication: ChannelReplicationConfig | null;
  readonly role: ChannelRole;
  readonly leader: { readonly name: string | null; readonly nodeId: string | null } | null;
  readonly firstSeq: number | null;
  readonly nextSeq: number;
  readonly retainedEvents: number;
  readonly retainedBytes: number;
  readonly appendedEvents: number;
  readonly appendedBytes: number;
  readonly tails: number;
  readonly replicas: readonly {
    readonly name: string | null;
    readonly nodeId: string | null;
    readonly self: boolean;
    readonly role: ChannelRole | null;
    readonly tailSeq: number | null;
    readonly lagEvents: number | null;
  }[];
  readonly epoch?: number;
  readonly commitSeq?: number;
}

export interface PeerStatus {
  readonly name: string | null;
  readonly nodeId: string | null;
  readonly mesh: string | null;
  readonly http: string | null;
  readonly connected: boolean;
  readonly rttMs: number | null;
}

export interface NodeStatus {
  readonly node: {
    readonly name: string;
    readonly nodeId: string | null;
    readonly version: string;
    readonly mode: 'single' | 'cluster';
    readonly http: string | null;
    readonly mesh: string | null;
    readonly startedAtMs: number;
    readonly uptimeMs: number;
    readonly accepting: boolean;
  };
  readonly atMs: number;
  readonly peers: readonly PeerStatus[];
  readonly channels: readonly ChannelStatus[];
}

/** `POST /channels` without the name: `{ file?, replication? }` as in the config file. */
export interface ChannelSpec {
  readonly file?: ChannelFileConfig;
  readonly replication?: ChannelReplicationConfig | null;
}

/** Who leads a channel after a leadership transfer. */
export interface LeadershipAnswer {
  readonly channel: string;
  readonly epoch: number;
  readonly leader: { readonly name: string | null; readonly nodeId: string };
}

export interface CreateChannelAnswer {
  /** False when the channel already existed with this spec. */
  readonly created: boolean;
  readonly channel: ChannelStatus;
  /** Cluster: how the other members of the replica set took it. */
  readonly members?: readonly {
    readonly name: string;
    readonly created?: boolean;
    readonly error?: { readonly code: string; readonly message: string };
  }[];
}
