// The injection point through which replication reaches the log. The log sits below replication
// and must not import it, yet `Redex` is where files are born, so it is where a replicated file
// gets its runtime. The replication layer implements this interface (its `Replicator`) and
// installs it with `redex.attachReplication(...)` (see `enableReplication` in src/replication/).
// `Redex` only validates, compares and hands over configs through it; their shape is opaque here.

import type { RedexFile } from './redex-file.js';

export interface ReplicationAttachment {
  /** Validates a file's `replication` input; throws a CONFIG error naming the bad field. */
  resolveConfig(input: Readonly<Record<string, unknown>>): object;
  /** Whether two resolved configs describe the same replication (a reopen must not differ). */
  sameConfig(a: object, b: object): boolean;
  /** Starts replicating a freshly opened file; installs the file's `FileReplication` hook. */
  attach(file: RedexFile, config: object): Promise<unknown>;
}
