// The HTTP API's request and response shapes, written once as TypeBox schemas (JSON Schema). The
// handlers check queries and bodies with them (compiled once, schema-check.ts), the OpenAPI
// document (openapi.ts) is generated from them, and the route test validates every real answer
// against them, so the code, the document and the answers cannot drift apart. Bounds come from
// the same constants the code enforces (limits.ts, the log's and replication's configs).

import { type TSchema, Type } from 'typebox';
import { CHANNEL_NAME_BYTES_MAX } from '../../log/channel-name.js';
import { TAIL_BUFFER_SIZE_MAX } from '../../log/config.js';
import {
  CLASS_NAMES,
  FACTOR_MAX,
  FACTOR_MIN,
  HEARTBEAT_MS_MAX,
  HEARTBEAT_MS_MIN,
  PINNED_NODES_MAX,
  PINNED_NODES_MIN,
  UNDER_CAPACITY,
} from '../../replication/config.js';
import { ACCESS_TOKEN_PARAM } from './auth.js';
import {
  APPEND_REPLICAS_MAX,
  APPEND_TIMEOUT_MS_DEFAULT,
  APPEND_TIMEOUT_MS_MAX,
  BATCH_EVENTS_MAX,
  READ_BYTES_DEFAULT,
  READ_BYTES_MAX,
  READ_EVENTS_DEFAULT,
  READ_EVENTS_MAX,
} from './limits.js';

const SEQ_MAX = Number.MAX_SAFE_INTEGER;

const Seq = (description: string) => Type.Integer({ minimum: 0, maximum: SEQ_MAX, description });
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const Count = (description: string) => Type.Integer({ minimum: 0, maximum: SEQ_MAX, description });
const Closed = { additionalProperties: false } as const;
const literals = (values: readonly string[]) => Type.Union(values.map((v) => Type.Literal(v)));

// ─── errors ───────────────────────────────────────────────────────────────────────────────────

export const ErrorBody = Type.Object(
  {
    error: Type.Object(
      {
        code: Type.String({ description: 'stable error code, e.g. CHANNEL_NOT_FOUND' }),
        message: Type.String({ pattern: '^redex: ', description: 'for people; starts redex: ' }),
        field: Type.Optional(Type.String({ description: 'CONFIG: the bad field' })),
        limitBytes: Type.Optional(Type.Integer({ description: 'BODY_TOO_LARGE: the limit' })),
        depthMax: Type.Optional(Type.Integer()),
        valuesMax: Type.Optional(Type.Integer()),
        leader: Type.Optional(
          Type.Object({
            name: Nullable(Type.String()),
            nodeId: Nullable(Type.String()),
            http: Nullable(Type.String()),
          }),
        ),
        resumeSeq: Type.Optional(Seq('LAGGED: the first retained seq')),
        lostSeq: Type.Optional(Seq('LAGGED: the first seq lost')),
        expectedSeq: Type.Optional(Seq('SEQ_MISMATCH: the ifNextSeq the request gave')),
        nextSeq: Type.Optional(Seq("SEQ_MISMATCH: the channel's actual next seq")),
        outcome: Type.Optional({
          ...literals(['not-written', 'unknown']),
          description: 'LEADERSHIP_LOST: whether the events may be stored',
        }),
        seq: Type.Optional(Seq('LEADERSHIP_LOST: the last seq the append took, when it took any')),
        reason: Type.Optional(Type.String({ description: 'TRANSFER_FAILED: why' })),
      },
      { description: 'some codes add fields' },
    ),
  },
  Closed,
);

// ─── channel specs (POST /channels; the same rules as the config file's channels[]) ──────────

const PositiveInt = Type.Integer({ minimum: 1, maximum: SEQ_MAX });
const NonNegativeInt = Type.Integer({ minimum: 0, maximum: SEQ_MAX });

export const FsyncPolicy = Type.Union([
  Type.Literal('never'),
  Type.Literal('always'),
  Type.Object({ everyN: PositiveInt }, Closed),
  Type.Object({ intervalMs: PositiveInt, maxBytes: Type.Optional(PositiveInt) }, Closed),
]);

export const FileConfig = Type.Object(
  {
    persistent: Type.Optional(Type.Boolean()),
    fsync: Type.Optional(FsyncPolicy),
    retention: Type.Optional(
      Type.Object(
        {
          maxEvents: Type.Optional(NonNegativeInt),
          maxBytes: Type.Optional(NonNegativeInt),
          maxAgeMs: Type.Optional(NonNegativeInt),
        },
        Closed,
      ),
    ),
    tailBufferSize: Type.Optional(Type.Integer({ minimum: 0, maximum: TAIL_BUFFER_SIZE_MAX })),
    maxLiveBytes: Type.Optional(PositiveInt),
    cacheBytes: Type.Optional(NonNegativeInt),
  },
  { ...Closed, description: 'the log config (README: File config)' },
);

export const Placement = Type.Union([
  Type.Literal('standard'),
  Type.Object(
    {
      pinned: Type.Array(
        Type.String({ description: 'a member name or a NodeId as 16 hex digits' }),
        { minItems: PINNED_NODES_MIN, maxItems: PINNED_NODES_MAX },
      ),
    },
    Closed,
  ),
]);

export const ReplicationSpec = Type.Object(
  {
    factor: Type.Optional(Type.Integer({ minimum: FACTOR_MIN, maximum: FACTOR_MAX })),
    placement: Type.Optional(Placement),
    heartbeatMs: Type.Optional(
      Type.Integer({ minimum: HEARTBEAT_MS_MIN, maximum: HEARTBEAT_MS_MAX }),
    ),
    onUnderCapacity: Type.Optional(literals(UNDER_CAPACITY)),
    budgetFraction: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1 })),
    defaultClass: Type.Optional(literals(CLASS_NAMES)),
    backgroundFraction: Type.Optional(Type.Number({ minimum: 0, exclusiveMaximum: 1 })),
  },
  { ...Closed, description: 'the replication config (docs/DESIGN.md#replication-config)' },
);

export const ChannelName = Type.String({
  minLength: 1,
  maxLength: CHANNEL_NAME_BYTES_MAX,
  description:
    "1-255 bytes of a-z 0-9 - _ . /; no leading, trailing or double '/', no '.' or '..' segment",
});

export const ChannelSpecBody = Type.Object(
  {
    name: ChannelName,
    file: Type.Optional(FileConfig),
    replication: Type.Optional(Nullable(ReplicationSpec)),
  },
  Closed,
);

// ─── appends ──────────────────────────────────────────────────────────────────────────────────

export const Encoding = Type.Union([Type.Literal('base64'), Type.Literal('utf8')]);

export const AppendBody = Type.Object(
  {
    payload: Type.Optional(Type.String({ description: 'one event' })),
    events: Type.Optional(
      Type.Array(Type.String(), { maxItems: BATCH_EVENTS_MAX, description: 'a batch' }),
    ),
    encoding: Type.Optional(Encoding),
  },
  { ...Closed, description: 'exactly one of payload and events; encoding defaults to base64' },
);

export const AppendQuery = Type.Object({
  acks: Type.Optional(
    Type.Union([
      Type.Literal('quorum'),
      Type.Literal('leader'),
      Type.Literal('all'),
      Type.Integer({ minimum: 0, maximum: APPEND_REPLICAS_MAX }),
    ]),
  ),
  replicas: Type.Optional(Type.Integer({ minimum: 0, maximum: APPEND_REPLICAS_MAX })),
  timeoutMs: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: APPEND_TIMEOUT_MS_MAX,
      default: APPEND_TIMEOUT_MS_DEFAULT,
    }),
  ),
  ifNextSeq: Type.Optional(
    Seq('guarded append: store only if the next seq is this (else 409 SEQ_MISMATCH)'),
  ),
});

export const AppendResult = Type.Object(
  {
    firstSeq: Nullable(Seq('the first event; null for an empty batch')),
    lastSeq: Nullable(Seq('the last event')),
    count: Type.Integer({ minimum: 0, maximum: BATCH_EVENTS_MAX }),
  },
  Closed,
);

// ─── reads ────────────────────────────────────────────────────────────────────────────────────

export const ReadQuery = Type.Object({
  from: Type.Optional({ ...Seq('first seq of the page'), default: 0 }),
  to: Type.Optional(Seq('exclusive end (default: the tail)')),
  limit: Type.Optional(
    Type.Integer({ minimum: 1, maximum: READ_EVENTS_MAX, default: READ_EVENTS_DEFAULT }),
  ),
  maxBytes: Type.Optional(
    Type.Integer({ minimum: 1, maximum: READ_BYTES_MAX, default: READ_BYTES_DEFAULT }),
  ),
  encoding: Type.Optional({ ...Encoding, default: 'base64' }),
});

export const TailQuery = Type.Object({
  from: Type.Optional({ ...Seq('first seq (Last-Event-ID resumes after it)'), default: 0 }),
  to: Type.Optional(Seq('ends the stream there (exclusive)')),
  encoding: Type.Optional({ ...Encoding, default: 'base64' }),
  [ACCESS_TOKEN_PARAM]: Type.Optional(Type.String({ description: 'the token, for EventSource' })),
});

export const StreamQuery = Type.Object({
  [ACCESS_TOKEN_PARAM]: Type.Optional(Type.String({ description: 'the token, for EventSource' })),
});

export const NoQuery = Type.Object({});

export const EventJson = Type.Object(
  {
    seq: Seq('the event'),
    timestampNs: Type.String({ pattern: '^[0-9]+$', description: 'ns since the epoch' }),
    payload: Type.String(),
    encoding: Type.Optional(Type.Literal('base64', { description: 'a non-UTF-8 event in utf8' })),
  },
  Closed,
);

export const ReadResult = Type.Object(
  {
    channel: ChannelName,
    encoding: Encoding,
    events: Type.Array(EventJson),
    next: Seq('where the following page starts'),
    firstSeq: Nullable(Seq('lowest retained seq')),
    nextSeq: Seq('the tail (committed events of a replicated channel)'),
  },
  Closed,
);

// ─── status ───────────────────────────────────────────────────────────────────────────────────

const Role = literals(['leader', 'replica', 'candidate', 'idle', 'standalone']);
const NodeIdHex = Nullable(Type.String({ pattern: '^[0-9a-f]{16}$' }));

export const ReplicaStatus = Type.Object(
  {
    name: Nullable(Type.String()),
    nodeId: NodeIdHex,
    self: Type.Boolean(),
    role: Nullable(Role),
    tailSeq: Nullable(Seq('held up to (exclusive)')),
    lagEvents: Nullable(Count('behind the leader')),
    matchedSeq: Type.Optional(Nullable(Seq("matches the leader's log below"))),
  },
  Closed,
);

export const ChannelStatus = Type.Object(
  {
    name: ChannelName,
    persistent: Type.Boolean(),
    file: FileConfig,
    replication: Nullable(ReplicationSpec),
    role: Role,
    leader: Nullable(Type.Object({ name: Nullable(Type.String()), nodeId: NodeIdHex }, Closed)),
    firstSeq: Nullable(Seq('lowest retained seq')),
    nextSeq: Seq('the seq the next append gets'),
    retainedEvents: Count('events retained'),
    retainedBytes: Count('bytes retained'),
    appendedEvents: Count('appended through this node since it started'),
    appendedBytes: Count('appended through this node since it started'),
    tails: Count('open tails'),
    replicas: Type.Array(ReplicaStatus),
    epoch: Type.Optional(Count('highest leader epoch seen')),
    commitSeq: Type.Optional(Seq('every event below is committed')),
  },
  Closed,
);

const NodeInfoFields = {
  name: Type.String(),
  nodeId: NodeIdHex,
  version: Type.String(),
  mode: literals(['single', 'cluster']),
  http: Nullable(Type.String()),
  mesh: Nullable(Type.String()),
};

export const NodeStatus = Type.Object(
  {
    node: Type.Object(
      {
        ...NodeInfoFields,
        startedAtMs: Count('ms since the epoch'),
        uptimeMs: Count('ms'),
        accepting: Type.Boolean({ description: 'false once shutdown began' }),
      },
      Closed,
    ),
    atMs: Count('when this snapshot was taken, ms since the epoch'),
    peers: Type.Array(
      Type.Object(
        {
          name: Nullable(Type.String()),
          nodeId: NodeIdHex,
          mesh: Nullable(Type.String()),
          http: Nullable(Type.String()),
          connected: Type.Boolean(),
          rttMs: Nullable(Type.Number({ minimum: 0 })),
        },
        Closed,
      ),
    ),
    channels: Type.Array(ChannelStatus),
  },
  Closed,
);

export const ChannelList = Type.Object({ channels: Type.Array(ChannelStatus) }, Closed);

const MemberError = Type.Object({ code: Type.String(), message: Type.String() }, Closed);

export const CreateResult = Type.Object(
  {
    created: Type.Boolean({ description: 'false: it was already open with this spec' }),
    channel: ChannelStatus,
    members: Type.Optional(
      Type.Array(
        Type.Object(
          {
            name: Type.String(),
            created: Type.Optional(Type.Boolean()),
            error: Type.Optional(MemberError),
          },
          Closed,
        ),
        { description: '(cluster) the other replica-set members' },
      ),
    ),
  },
  Closed,
);

export const Health = Type.Object(
  { status: literals(['ok', 'shutting-down']) },
  { additionalProperties: true },
);

export const Readiness = Type.Object(
  {
    status: literals(['ready', 'not-ready']),
    failing: Type.Array(literals(['storage', 'mesh', 'leaders'])),
    storageOpen: Type.Boolean(),
    mesh: Nullable(
      Type.Object(
        { up: Type.Boolean(), connectedPeers: Count('members connected'), peers: Count('members') },
        Closed,
      ),
    ),
    replicatedChannels: Count('replicated channels open here'),
    channelsWithoutLeaderCount: Count('replicated channels with no known leader'),
    channelsWithoutLeader: Type.Optional(
      Type.Array(ChannelName, { description: 'listed only to a caller that sent the token' }),
    ),
  },
  Closed,
);

// ─── leadership ─────────────────────────────────────────────────────────────────────────────────

export const LeadershipQuery = Type.Object({
  to: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 128,
      description: 'the member to lead (a name or hex NodeId); default: the one furthest along',
    }),
  ),
});

export const LeadershipResult = Type.Object(
  {
    channel: ChannelName,
    epoch: Count('the epoch the new leader leads'),
    leader: Type.Object({ name: Nullable(Type.String()), nodeId: Type.String() }, Closed),
  },
  Closed,
);
