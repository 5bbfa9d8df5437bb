// Errors of the node daemon (src/node). A bad config file is a `NodeConfigError` (a RedexError with
// code CONFIG) naming the field, e.g. `channels[1].replication.factor`. Operational failures the
// HTTP API reports that the log has no code for (an unknown channel, a node shutting down) are
// `NodeError`s with their own stable codes; the HTTP layer maps both kinds to statuses.

import { RedexError, RedexErrorCode } from '../log/errors.js';

export class NodeConfigError extends RedexError {
  /** The JSON path of the bad field (`http.listen`, `members[2].nodeId`, …); `(file)` for the file itself. */
  readonly field: string;

  /**
   * `source` names what was being read: the node config file by default, `channel spec` for the
   * body of a create-channel request.
   */
  constructor(field: string, message: string, options: { cause?: unknown; source?: string } = {}) {
    super(RedexErrorCode.Config, `${options.source ?? 'node config'}: ${field} ${message}`, {
      cause: options.cause,
    });
    this.field = field;
  }
}

export const NodeErrorCode = {
  /** The channel is not open on this node. */
  ChannelNotFound: 'CHANNEL_NOT_FOUND',
  /** A create asked for a channel that is open with a different config. */
  ChannelExists: 'CHANNEL_EXISTS',
  /** A delete asked for a channel of the config file, which the next start would open again. */
  ChannelInConfig: 'CHANNEL_IN_CONFIG',
  /** The node is shutting down and takes no more writes or new streams. */
  ShuttingDown: 'SHUTTING_DOWN',
  /** The feature needs something this build or this node does not have (the mesh, replicas). */
  Unavailable: 'UNAVAILABLE',
  /** Another process holds the data directory. */
  DataDirLocked: 'DATA_DIR_LOCKED',
} as const;
export type NodeErrorCode = (typeof NodeErrorCode)[keyof typeof NodeErrorCode];

export class NodeError extends Error {
  readonly code: NodeErrorCode;

  constructor(code: NodeErrorCode, message: string, options?: { cause?: unknown }) {
    super(`redex: ${message}`, options);
    this.code = code;
    this.name = 'NodeError';
  }
}
