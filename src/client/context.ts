// What every operation of a RedexClient shares: how to call a node, which nodes there are, the
// request timeout, the retry policy, and the hook that hears of each retry.

import type { Caller } from './call.js';
import type { RedexClientError } from './errors.js';
import type { NodeSet } from './nodes.js';
import type { RetryPolicy } from './retry.js';

/** Told before each retry: what failed where, and where the next attempt goes. */
export interface RetryNotice {
  readonly operation: 'append' | 'read' | 'tail' | 'admin';
  readonly channel: string | null;
  readonly error: RedexClientError;
  /** The node that failed and the node tried next. */
  readonly from: string;
  readonly to: string;
  /** Pause before the next attempt (0: a NOT_LEADER redirect is followed at once). */
  readonly delayMs: number;
}

export interface ClientContext {
  readonly caller: Caller;
  readonly nodes: NodeSet;
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
  readonly onRetry: ((notice: RetryNotice) => void) | null;
}
