// The one error type of the client. `code` is the server's (`NOT_LEADER`, `SEQ_MISMATCH`, …; the
// table in docs/OPERATIONS.md) or one of the client's own below; `outcome` says whether a write
// may have happened, which is what decides if retrying is safe (docs/CLIENT.md).

export const ClientErrorCode = {
  /** No connection could be made (refused, DNS, TLS): nothing was sent. */
  Unreachable: 'UNREACHABLE',
  /** The connection broke after the request was sent, or no answer came in time. */
  ConnectionLost: 'CONNECTION_LOST',
  Timeout: 'TIMEOUT',
  /** The node answered something that is not the API's JSON (a proxy, a wrong port). */
  BadResponse: 'BAD_RESPONSE',
  /** A tail saw a seq other than the next one expected (a broken server; never skipped silently). */
  TailGap: 'TAIL_GAP',
  /** Every node was tried until the retry budget ran out. */
  NoNodeAvailable: 'NO_NODE_AVAILABLE',
} as const;
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

/**
 * `none`: nothing was written (the node refused, or the request never left). `unknown`: a write
 * may or may not be in the log (a leader stepped down or the connection broke after sending); it
 * is never there twice. Reads and admin calls report `none` unless they broke mid-way.
 */
export type ClientOutcome = 'none' | 'unknown';

export interface RedexClientErrorInit {
  readonly code: string;
  readonly message: string;
  /** HTTP status, or null when no answer arrived. */
  readonly status: number | null;
  /** Origin of the node that answered (or could not be reached). */
  readonly node: string | null;
  readonly outcome: ClientOutcome;
  /** For an unknown append outcome: the first seq of the batch if the server said it. */
  readonly seq?: number | null;
  /** Extra fields of the server's error object (`leader`, `resumeSeq`, `field`, …). */
  readonly details?: Readonly<Record<string, unknown>>;
  readonly cause?: unknown;
}

export class RedexClientError extends Error {
  readonly code: string;
  readonly status: number | null;
  readonly node: string | null;
  readonly outcome: ClientOutcome;
  readonly seq: number | null;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(init: RedexClientErrorInit) {
    super(init.message.startsWith('redex: ') ? init.message : `redex: ${init.message}`, {
      cause: init.cause,
    });
    this.name = 'RedexClientError';
    this.code = init.code;
    this.status = init.status;
    this.node = init.node;
    this.outcome = init.outcome;
    this.seq = init.seq ?? null;
    this.details = init.details ?? {};
  }
}

/** Codes after which a write is known not to have happened, and another node may take it. */
const RETRY_ELSEWHERE = new Set<string>([
  'NOT_LEADER',
  'SHUTTING_DOWN',
  'TOO_MANY_STREAMS',
  ClientErrorCode.Unreachable,
]);

/** True when the same request may be sent again (to this node or another) without risk. */
export function isRetryable(error: unknown): error is RedexClientError {
  if (!(error instanceof RedexClientError) || error.outcome !== 'none') return false;
  // A leader that stepped down before the append took a seq wrote nothing.
  if (error.code === 'LEADERSHIP_LOST') return error.details.outcome === 'not-written';
  return RETRY_ELSEWHERE.has(error.code);
}

/**
 * Server codes whose write outcome is unknown: the leader stepped down or the replication wait
 * ran out after the events were stored on the leader.
 */
export const UNKNOWN_OUTCOME_CODES: ReadonlySet<string> = new Set([
  'LEADERSHIP_LOST',
  'REPLICATION_TIMEOUT',
]);
