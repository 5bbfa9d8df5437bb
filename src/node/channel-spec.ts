// A channel as the node daemon knows it: its name, its log config and its replication config.
// Read from the config file's `channels` array and from the body of `POST /channels`, with the
// same rules, so a channel created over HTTP and one listed in the config file cannot differ in
// what they accept.
//
// Pinned placement names members, not raw ids: an entry is a member name from the config or a
// NodeId as 16 hex digits. Turning names into NodeIds is the cluster service's job (it knows the
// ids, some of which come from certificate files).

import { validateChannelName } from '../log/channel-name.js';
import { type RedexFileConfig, resolveFileConfig } from '../log/config.js';
import { RedexError } from '../log/errors.js';
import {
  ReplicationConfigError,
  type ReplicationConfigInput,
  resolveReplicationConfig,
} from '../replication/config.js';
import { ChannelSpecBody } from './http/api-schemas.js';
import { compileCheck } from './http/schema-check.js';
import { parseNodeIdHex } from './node-id.js';
import { describe, type FieldContext, fail, join } from './validate.js';

export type PlacementSpec = 'standard' | { readonly pinned: readonly string[] };

export type ReplicationSpec = Omit<ReplicationConfigInput, 'placement'> & {
  readonly placement?: PlacementSpec;
};

export interface ChannelSpec {
  readonly name: string;
  /** The log config, validated; `persistent` filled in with the node's default. */
  readonly file: RedexFileConfig;
  /** Null for a channel this node keeps to itself. */
  readonly replication: ReplicationSpec | null;
}

export interface ChannelSpecOptions extends FieldContext {
  /** JSON path of the spec (`channels[2]`), or '' for a request body. */
  readonly prefix: string;
  /** Whether `file.persistent` defaults to true (a node with a data directory). */
  readonly defaultPersistent: boolean;
  /** Member names a pinned placement may use. */
  readonly members: ReadonlySet<string>;
}

/** The shape (types, known fields, bounds) is the API schema's; the rules across fields follow. */
const checkShape = compileCheck(ChannelSpecBody);

export function parseChannelSpec(value: unknown, options: ChannelSpecOptions): ChannelSpec {
  const { prefix } = options;
  const failure = checkShape(value);
  if (failure !== null) {
    const field =
      failure.field === '' ? (prefix === '' ? '(body)' : prefix) : join(prefix, failure.field);
    // A common slip that deserves the hint rather than the list of file fields.
    const misplaced = failure.field === 'file.replication';
    fail(options, field, misplaced ? "belongs next to 'file', not inside it" : failure.message);
  }
  const spec = value as Record<string, unknown>;
  const nameField = join(prefix, 'name');
  try {
    validateChannelName(spec.name);
  } catch (error) {
    fail(options, nameField, `is not a valid channel name: ${stripPrefix(error)}`, error);
  }
  const name = spec.name as string;
  const file = parseFileConfig(spec.file, options);
  const replication =
    spec.replication === undefined || spec.replication === null
      ? null
      : parseReplicationSpec(spec.replication, options);
  return { name, file, replication };
}

function parseFileConfig(value: unknown, options: ChannelSpecOptions): RedexFileConfig {
  const field = join(options.prefix, 'file');
  const input = value === undefined ? {} : (value as RedexFileConfig);
  const config: RedexFileConfig = { persistent: options.defaultPersistent, ...input };
  try {
    resolveFileConfig(config);
  } catch (error) {
    // The log names the field as "file config field 'fsync.everyN'"; keep that precision.
    const inner = error instanceof Error ? /field '([^']+)'/.exec(error.message)?.[1] : undefined;
    fail(
      options,
      inner === undefined ? field : join(field, inner),
      stripPrefix(error).replace(/^file config (field '[^']+' )?/, ''),
      error,
    );
  }
  return config;
}

function parseReplicationSpec(value: unknown, options: ChannelSpecOptions): ReplicationSpec {
  const field = join(options.prefix, 'replication');
  const input = value as Record<string, unknown>;
  const placement = parsePlacement(input.placement, join(field, 'placement'), options);
  try {
    // Pinned entries are names here; the rest of the fields are checked by the replication layer.
    resolveReplicationConfig({ ...(input as ReplicationConfigInput), placement: 'standard' });
  } catch (error) {
    if (error instanceof ReplicationConfigError) {
      fail(
        options,
        join(field, error.field),
        stripPrefix(error).replace(/^replication config: \S+ /, ''),
        error,
      );
    }
    throw error;
  }
  return placement === undefined
    ? (input as ReplicationSpec)
    : ({ ...input, placement } as ReplicationSpec);
}

function parsePlacement(
  value: unknown,
  field: string,
  options: ChannelSpecOptions,
): PlacementSpec | undefined {
  if (value === undefined || value === 'standard') return value;
  // The schema checked the shape: `{ pinned: [1..16 strings] }`.
  const pinnedField = join(field, 'pinned');
  const pinned = (value as { pinned: string[] }).pinned;
  const seen = new Set<string>();
  pinned.forEach((entry, index) => {
    const entryField = `${pinnedField}[${index}]`;
    const known =
      typeof entry === 'string' && (options.members.has(entry) || parseNodeIdHex(entry) !== null);
    if (!known) {
      fail(
        options,
        entryField,
        `must be a member name or a NodeId as 16 hex digits, got ${describe(entry)}`,
      );
    }
    if (seen.has(entry as string)) fail(options, entryField, `repeats ${describe(entry)}`);
    seen.add(entry as string);
  });
  return { pinned: pinned as string[] };
}

/** A RedexError's message without the `redex: ` prefix (it is added again by ours). */
export function stripPrefix(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return error instanceof RedexError || message.startsWith('redex: ')
    ? message.replace(/^redex: /, '')
    : message;
}
