// How a user turns replication on: `enableReplication(redex, host)`. The log cannot import
// replication (it sits below it), so the `Replicator` is built here and installed on the `Redex`
// through the log's `ReplicationAttachment` injection point.

import { RedexError, RedexErrorCode } from '../errors/redex-error.js';
import { ClosedError } from '../log/errors.js';
import type { Redex } from '../log/redex.js';
import type { ReplicationConfigOptions } from './config.js';
import type { ReplicationHost } from './host.js';
import { Replicator } from './replicator.js';

/**
 * Enables replication on `redex`: from now on, a file opened with a `replication` config is
 * placed on the host's cluster and, on a member node, replicated by its own runtime (it starts as
 * Replica; a leader emerges by election). Idempotent for the same host; a different host is a
 * CONFIG error. `options` apply to every replication config resolved on this `Redex`.
 */
export function enableReplication(
  redex: Redex,
  host: ReplicationHost,
  options: ReplicationConfigOptions = {},
): Replicator {
  if (redex.closed) throw new ClosedError('this Redex manager');
  const installed = redex.replication;
  if (installed !== null) {
    if (installed instanceof Replicator && installed.host === host) return installed;
    throw new RedexError(
      RedexErrorCode.Config,
      'replication is already enabled on this Redex with another host',
    );
  }
  const replicator = new Replicator(host, {
    clock: redex.clock,
    random: redex.random,
    config: options,
  });
  redex.attachReplication(replicator);
  return replicator;
}

/** The `Replicator` that `enableReplication` installed on `redex`, or null. */
export function replicatorOf(redex: Redex): Replicator | null {
  const installed = redex.replication;
  return installed instanceof Replicator ? installed : null;
}
