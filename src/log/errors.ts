// Errors a caller can get from the log and everything built on it, subclasses of the shared
// `RedexError`; each has a stable `code` to switch on.

import { RedexError, RedexErrorCode } from '../errors/redex-error.js';

// The base type lives on the ground floor (src/errors/); re-exported so the log's callers keep
// one import for every error they can get from it.
export { RedexError, RedexErrorCode };

/** Which channel-name rule failed (docs/DESIGN.md#the-local-log, checked in this order). */
export type ChannelNameRule =
  | 'empty'
  | 'too-long'
  | 'leading-or-trailing-slash'
  | 'double-slash'
  | 'uppercase'
  | 'invalid-character'
  | 'dot-segment';

export class ChannelNameError extends RedexError {
  readonly rule: ChannelNameRule;
  readonly channel: string;

  constructor(channel: string, rule: ChannelNameRule, detail: string) {
    super(RedexErrorCode.ChannelName, `invalid channel name ${JSON.stringify(channel)}: ${detail}`);
    this.rule = rule;
    this.channel = channel;
  }
}

export class ClosedError extends RedexError {
  constructor(what: string) {
    super(RedexErrorCode.Closed, `${what} is closed`);
  }
}

/** Retention (or a skip) evicted events a tail had not read yet. */
export class LaggedError extends RedexError {
  /** The first seq this subscriber had not yet received (it is gone). */
  readonly lostSeq: number;
  /** The first seq still retained (the next seq when nothing is): where a reader can resume. */
  readonly resumeSeq: number;

  constructor(channel: string, lostSeq: number, resumeSeq: number, reason: string) {
    super(
      RedexErrorCode.Lagged,
      `tail of ${JSON.stringify(channel)} lagged at seq ${lostSeq}: ${reason}; the first retained seq is ${resumeSeq}`,
    );
    this.lostSeq = lostSeq;
    this.resumeSeq = resumeSeq;
  }
}

/** The log was cut below a reader's position: events it may have seen are gone. */
export class TruncatedError extends RedexError {
  /** The file's next seq after the cut: where the reader can resume. */
  readonly nextSeq: number;
  /** The reader's position when the cut happened. */
  readonly readerSeq: number;

  constructor(channel: string, nextSeq: number, readerSeq: number) {
    super(
      RedexErrorCode.Truncated,
      `the log of ${JSON.stringify(channel)} was cut below the reader's position ${readerSeq}; it now ends at ${nextSeq}`,
    );
    this.nextSeq = nextSeq;
    this.readerSeq = readerSeq;
  }
}

/** An append's precondition (the leader still leads) was false when it was about to take its seqs. */
export class LeadershipLostError extends RedexError {
  /** 'not-written': the append took no seq. 'unknown': it was stored at `seq` on this node but its
   * acknowledgement never came; a later leader may keep it or cut it. */
  readonly outcome: 'not-written' | 'unknown';
  readonly seq: number | null;

  constructor(channel: string, outcome: 'not-written' | 'unknown' = 'not-written', seq?: number) {
    super(
      RedexErrorCode.LeadershipLost,
      outcome === 'not-written'
        ? `this node lost the leadership of ${JSON.stringify(channel)} before the append took its seq; the outcome is not written`
        : `this node lost the leadership of ${JSON.stringify(channel)} before seq ${seq} was acknowledged; the outcome is unknown (read the log, or append again with a payload you can recognise)`,
    );
    this.outcome = outcome;
    this.seq = seq ?? null;
  }
}

export class SeqMismatchError extends RedexError {
  readonly expected: number;
  readonly actual: number;

  constructor(channel: string, expected: number, actual: number) {
    super(
      RedexErrorCode.SeqMismatch,
      `guarded append to ${JSON.stringify(channel)} expected next seq ${expected} but it is ${actual}`,
    );
    this.expected = expected;
    this.actual = actual;
  }
}

export class NotLeaderError extends RedexError {
  readonly leaderNodeId: bigint | null;
  readonly leaderAddress: string | null;

  constructor(channel: string, leaderNodeId: bigint | null, leaderAddress: string | null) {
    const where =
      leaderNodeId === null
        ? 'no leader is known yet'
        : `the leader is node ${leaderNodeId}${leaderAddress ? ` at ${leaderAddress}` : ''}`;
    super(RedexErrorCode.NotLeader, `this node does not lead ${JSON.stringify(channel)}; ${where}`);
    this.leaderNodeId = leaderNodeId;
    this.leaderAddress = leaderAddress;
  }
}

/** `waitForReplicas` gave up: fewer than `count` replicas confirmed holding `seq` in time. */
export class ReplicationTimeoutError extends RedexError {
  readonly seq: number;
  readonly count: number;
  /** Replicas that did confirm `seq` when the wait ended. */
  readonly holding: number;
  readonly timeoutMs: number;

  constructor(channel: string, seq: number, count: number, holding: number, timeoutMs: number) {
    super(
      RedexErrorCode.ReplicationTimeout,
      `waiting for ${count} replicas of ${JSON.stringify(channel)} to hold seq ${seq} timed out after ${timeoutMs} ms (${holding} did)`,
    );
    this.seq = seq;
    this.count = count;
    this.holding = holding;
    this.timeoutMs = timeoutMs;
  }
}

/** A file of a persistent channel failed a check at open or on read. Nothing is deleted. */
export class CorruptError extends RedexError {
  readonly path: string;
  readonly seq: number | null;

  constructor(path: string, reason: string, seq: number | null = null) {
    super(
      RedexErrorCode.Corrupt,
      `${seq === null ? '' : `record ${seq} of `}${path} is not a valid RedEX file: ${reason}`,
    );
    this.path = path;
    this.seq = seq;
  }
}

/**
 * A file of a persistent channel was written by another on-disk format version: a newer build
 * (roll this node forward) or an older one this build no longer reads. Nothing is changed.
 */
export class FormatVersionError extends RedexError {
  readonly path: string;
  /** The version the file says it is written in. */
  readonly fileVersion: number;
  /** The version this build reads and writes. */
  readonly buildVersion: number;

  constructor(path: string, fileVersion: number, buildVersion: number) {
    const age = fileVersion > buildVersion ? 'a newer' : 'an older';
    super(
      RedexErrorCode.FormatVersion,
      `${path} was written by ${age} version of RedEX (format ${fileVersion}, this build reads ${buildVersion})`,
    );
    this.path = path;
    this.fileVersion = fileVersion;
    this.buildVersion = buildVersion;
  }
}

/** A file-system operation failed; `readOnly` says whether the file refuses writes from now on. */
export class IoError extends RedexError {
  readonly readOnly: boolean;

  constructor(message: string, cause: unknown, readOnly = false) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(
      RedexErrorCode.Io,
      `${message}: ${detail}${readOnly ? ' (the file is now read-only)' : ''}`,
      { cause },
    );
    this.readOnly = readOnly;
  }
}
