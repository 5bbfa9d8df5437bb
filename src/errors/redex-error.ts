// The ground floor of every error a caller can get: one base class with a stable `code` to switch
// on. Every layer (wire, log, mesh, replication, node) throws subclasses of it, so it lives below
// all of them; messages start with "redex: " and name the bad input.

export const RedexErrorCode = {
  ChannelName: 'CHANNEL_NAME',
  Closed: 'CLOSED',
  Lagged: 'LAGGED',
  SeqMismatch: 'SEQ_MISMATCH',
  SeqRange: 'SEQ_RANGE',
  PayloadTooLarge: 'PAYLOAD_TOO_LARGE',
  NotLeader: 'NOT_LEADER',
  ReplicationTimeout: 'REPLICATION_TIMEOUT',
  Config: 'CONFIG',
  Io: 'IO',
  Corrupt: 'CORRUPT',
  /** A data or quorum file written by another on-disk format version (newer or older). */
  FormatVersion: 'FORMAT_VERSION',
  InvalidArgument: 'INVALID_ARGUMENT',
  /** The log was cut below a reader's position (a diverged suffix was removed). */
  Truncated: 'TRUNCATED',
  /** A leader's append waited in a queue past the end of its leadership; it was not written. */
  LeadershipLost: 'LEADERSHIP_LOST',
  /** A leadership transfer did not happen (refused, superseded, or the target did not win). */
  TransferFailed: 'TRANSFER_FAILED',
} as const;
export type RedexErrorCode = (typeof RedexErrorCode)[keyof typeof RedexErrorCode];

export class RedexError extends Error {
  readonly code: RedexErrorCode;

  constructor(code: RedexErrorCode, message: string, options?: { cause?: unknown }) {
    super(`redex: ${message}`, options);
    this.code = code;
    this.name = new.target.name;
  }
}
