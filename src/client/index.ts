// `redex-log/client`: the HTTP client for applications. It imports nothing from the rest of the
// package and no `node:` module, so it also runs in browsers and Deno (docs/CLIENT.md).

export type { Acks, AppendOptions } from './append.js';
export { type CallOptions, type Payload, RedexClient, type RedexClientOptions } from './client.js';
export type { RetryNotice } from './context.js';
export {
  ClientErrorCode,
  type ClientOutcome,
  isRetryable,
  RedexClientError,
} from './errors.js';
export type { ClientEvent } from './events.js';
export type { ReadOptions, ReadPage, ReadPageOptions } from './read.js';
export type { RetryPolicy } from './retry.js';
export type { TailOptions } from './tail.js';
export type { ClientClock, ClientTimerHandle } from './timer.js';
export type { ClientTls, FetchLike } from './transport.js';
export type {
  ChannelFileConfig,
  ChannelReplicationConfig,
  ChannelRole,
  ChannelSpec,
  ChannelStatus,
  CreateChannelAnswer,
  LeadershipAnswer,
  NodeStatus,
  PeerStatus,
} from './types.js';
