// Every failure the API answers with, as `{ "error": { "code", "message", ... } }` and a status.
// Codes are the log's (`RedexErrorCode`), the node's (`NodeErrorCode`) or the HTTP layer's own
// below; the table in docs/OPERATIONS.md lists them with their statuses.

import {
  LeadershipLostError,
  NotLeaderError,
  RedexError,
  RedexErrorCode,
  SeqMismatchError,
} from '../../log/errors.js';
import { TransferFailedError } from '../../replication/runtime-transfer.js';
import { NodeError, NodeErrorCode } from '../errors.js';
import type { LeaderHint } from '../service.js';

export const HttpErrorCode = {
  /** A query parameter, header or body field is malformed; the message names it. */
  BadRequest: 'BAD_REQUEST',
  /** The body is not JSON. */
  BadJson: 'BAD_JSON',
  BodyTooLarge: 'BODY_TOO_LARGE',
  UnsupportedMediaType: 'UNSUPPORTED_MEDIA_TYPE',
  NotFound: 'NOT_FOUND',
  MethodNotAllowed: 'METHOD_NOT_ALLOWED',
  Unauthorized: 'UNAUTHORIZED',
  /** The client certificate's name is not an allowed client (`http.clientNames`). */
  ForbiddenClient: 'FORBIDDEN_CLIENT',
  /** A node without a token got a `Host` that does not name it (DNS rebinding). */
  ForeignHost: 'FOREIGN_HOST',
  /** A node without a token got a request from another web origin. */
  ForeignOrigin: 'FOREIGN_ORIGIN',
  TooManyStreams: 'TOO_MANY_STREAMS',
  Internal: 'INTERNAL',
} as const;
export type HttpErrorCode = (typeof HttpErrorCode)[keyof typeof HttpErrorCode];

export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Extra fields of the error object (e.g. `leader` for NOT_LEADER). */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(
    status: number,
    code: string,
    message: string,
    options: { headers?: Record<string, string>; details?: Record<string, unknown> } = {},
  ) {
    super(message.startsWith('redex: ') ? message : `redex: ${message}`);
    this.status = status;
    this.code = code;
    this.headers = options.headers ?? {};
    this.details = options.details ?? {};
  }

  body(): { error: Record<string, unknown> } {
    return { error: { code: this.code, message: this.message, ...this.details } };
  }
}

export function badRequest(message: string): HttpError {
  return new HttpError(400, HttpErrorCode.BadRequest, message);
}

const REDEX_STATUS: Record<RedexErrorCode, number> = {
  CHANNEL_NAME: 400,
  INVALID_ARGUMENT: 400,
  CONFIG: 400,
  SEQ_RANGE: 400,
  SEQ_MISMATCH: 409,
  PAYLOAD_TOO_LARGE: 507,
  CLOSED: 503,
  LEADERSHIP_LOST: 503,
  TRANSFER_FAILED: 503,
  LAGGED: 410,
  TRUNCATED: 410,
  NOT_LEADER: 421,
  REPLICATION_TIMEOUT: 504,
  IO: 500,
  CORRUPT: 500,
  FORMAT_VERSION: 500,
};

const NODE_STATUS: Record<NodeErrorCode, number> = {
  CHANNEL_NOT_FOUND: 404,
  CHANNEL_EXISTS: 409,
  CHANNEL_IN_CONFIG: 409,
  SHUTTING_DOWN: 503,
  UNAVAILABLE: 501,
  DATA_DIR_LOCKED: 500,
};

/**
 * Failures of the node's own storage: their messages name files under the data directory, which
 * a client has no business knowing. The answer says what kind of failure it was; the server logs
 * the whole error (every answer of 500 and above is logged).
 */
const STORAGE_FAILURES: Readonly<Record<string, string>> = {
  [RedexErrorCode.Io]: 'redex: a storage operation on this node failed; its log has the details',
  [RedexErrorCode.Corrupt]: 'redex: this node found corrupt data; its log has the details',
  [RedexErrorCode.FormatVersion]:
    'redex: this node found data of another format version; its log has the details',
  [NodeErrorCode.DataDirLocked]: 'redex: the data directory is in use by another process',
};

/**
 * The answer for `error`. `resolveLeader` turns a NOT_LEADER into the leader's HTTP address.
 * Anything untyped is a bug: it becomes a 500 whose message reveals nothing (the log has it).
 */
export function toHttpError(
  error: unknown,
  resolveLeader: (error: NotLeaderError) => LeaderHint,
): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof NotLeaderError) {
    return new HttpError(421, RedexErrorCode.NotLeader, error.message, {
      details: { leader: resolveLeader(error) },
    });
  }
  if (error instanceof RedexError) {
    const details: Record<string, unknown> = {};
    if ('resumeSeq' in error) details.resumeSeq = error.resumeSeq;
    if ('lostSeq' in error) details.lostSeq = error.lostSeq;
    if ('field' in error) details.field = error.field;
    // A client must know whether a write that lost its leader may still be in the log.
    if (error instanceof LeadershipLostError) {
      details.outcome = error.outcome;
      if (error.seq !== null) details.seq = error.seq;
    }
    if (error instanceof TransferFailedError) details.reason = error.reason;
    // A guarded append that lost: the client retries against the channel's actual next seq.
    if (error instanceof SeqMismatchError) {
      details.expectedSeq = error.expected;
      details.nextSeq = error.actual;
    }
    const message = STORAGE_FAILURES[error.code] ?? error.message;
    return new HttpError(REDEX_STATUS[error.code] ?? 500, error.code, message, { details });
  }
  if (error instanceof NodeError) {
    const status = NODE_STATUS[error.code] ?? 500;
    const headers: Record<string, string> =
      error.code === NodeErrorCode.ShuttingDown ? { connection: 'close' } : {};
    return new HttpError(status, error.code, STORAGE_FAILURES[error.code] ?? error.message, {
      headers,
    });
  }
  return new HttpError(500, HttpErrorCode.Internal, 'internal error');
}
