// Replication config of a channel (docs/DESIGN.md#replication-config): defaults, bounds and
// validation. Its one
// owner: `resolveReplicationConfig` turns user input into the frozen `ReplicationConfig` when a
// replicated file is opened, and everything downstream reads that object. Validation reports the
// first failure, in table order, as a `ReplicationConfigError` naming the field and the value.
// The bounds are exported so the layers above (the node's config, the CLI) do not restate them.

import { RedexError, RedexErrorCode } from '../errors/redex-error.js';
import { type NodeId, SyncClass } from '../wire/types.js';

export const FACTOR_MIN = 1;
export const FACTOR_MAX = 16;
export const PINNED_NODES_MIN = 1;
export const PINNED_NODES_MAX = 16;
export const HEARTBEAT_MS_MIN = 100;
/** Upstream let a heartbeat be arbitrarily slow; 300 s caps failure detection at 15 min. */
export const HEARTBEAT_MS_MAX = 300_000;
const U64_MAX = 0xffff_ffff_ffff_ffffn;
/** Heartbeat periods without word from a peer before it counts as silent (missed). */
export const MISS_THRESHOLD = 3;

export type PlacementConfig = 'standard' | { readonly pinned: readonly NodeId[] };
export type UnderCapacityPolicy = 'withdraw' | 'evictOldest';
export type SyncClassName = 'foreground' | 'background' | 'realtime';

export interface ReplicationConfig {
  /** Replica-set size under standard placement. */
  readonly factor: number;
  readonly placement: PlacementConfig;
  readonly heartbeatMs: number;
  readonly onUnderCapacity: UnderCapacityPolicy;
  /** Share of the NIC peak the catch-up budget may use, (0, 1]. */
  readonly budgetFraction: number;
  /** Class stamped on this channel's SyncRequests. */
  readonly defaultClass: SyncClassName;
  /** Share of the budget Background may use, [0, 1). */
  readonly backgroundFraction: number;
}

export type ReplicationConfigInput = {
  readonly [K in keyof ReplicationConfig]?: ReplicationConfig[K];
};

export interface ReplicationConfigOptions {
  /**
   * TEST ONLY: lowers the heartbeat floor (≥ 1 ms) so tests and simulations can run fast
   * heartbeats. Production code never sets it.
   */
  readonly testOnlyHeartbeatMsMin?: number;
}

export const DEFAULT_REPLICATION_CONFIG: ReplicationConfig = Object.freeze({
  factor: 3,
  placement: 'standard',
  heartbeatMs: 500,
  onUnderCapacity: 'withdraw',
  budgetFraction: 0.5,
  defaultClass: 'foreground',
  backgroundFraction: 0.3,
});

const FIELDS: readonly string[] = Object.keys(DEFAULT_REPLICATION_CONFIG);
export const UNDER_CAPACITY: readonly string[] = ['withdraw', 'evictOldest'];
export const CLASS_NAMES: readonly string[] = ['foreground', 'background', 'realtime'];

/**
 * The one error for a bad replication config, wherever it is resolved (a file's open, the node's
 * channel specs, `enableReplication` options). `field` names the field (`placement.pinned` for
 * ids), `value` is what was given; the message says both and what was expected.
 */
export class ReplicationConfigError extends RedexError {
  readonly field: string;
  readonly value: unknown;

  constructor(field: string, message: string, value?: unknown) {
    super(RedexErrorCode.Config, `replication config: ${field} ${message}`);
    this.field = field;
    this.value = value;
  }
}

/** Only `undefined` means "use the default": a null is a mistake worth reporting. */
function valueOr<T>(value: T | undefined, fallback: T): T {
  return value === undefined ? fallback : value;
}

function describe(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}

function checkIntegerRange(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ReplicationConfigError(
      field,
      `must be an integer in ${min}..${max}, got ${describe(value)}`,
      value,
    );
  }
  return value;
}

function checkPlacement(value: unknown): PlacementConfig {
  if (value === 'standard') return 'standard';
  if (typeof value !== 'object' || value === null || !('pinned' in value)) {
    throw new ReplicationConfigError(
      'placement',
      `must be 'standard' or { pinned: NodeId[] }, got ${describe(value)}`,
      value,
    );
  }
  const pinned: unknown = value.pinned;
  if (
    !Array.isArray(pinned) ||
    pinned.length < PINNED_NODES_MIN ||
    pinned.length > PINNED_NODES_MAX
  ) {
    throw new ReplicationConfigError(
      'placement.pinned',
      `must list ${PINNED_NODES_MIN}..${PINNED_NODES_MAX} NodeIds, got ${Array.isArray(pinned) ? `${pinned.length}` : describe(pinned)}`,
      pinned,
    );
  }
  const seen = new Set<bigint>();
  for (const id of pinned) {
    if (typeof id !== 'bigint' || id <= 0n || id > U64_MAX) {
      throw new ReplicationConfigError(
        'placement.pinned',
        `entries must be NodeIds (u64 bigints other than 0), got ${describe(id)}`,
        id,
      );
    }
    if (seen.has(id))
      throw new ReplicationConfigError('placement.pinned', `lists NodeId ${id} twice`, id);
    seen.add(id);
  }
  return Object.freeze({ pinned: Object.freeze([...(pinned as NodeId[])]) });
}

function checkFraction(field: string, value: unknown, includeZero: boolean, includeOne: boolean) {
  const range = `${includeZero ? '[' : '('}0, 1${includeOne ? ']' : ')'}`;
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (includeZero ? value >= 0 : value > 0) &&
    (includeOne ? value <= 1 : value < 1);
  if (!ok)
    throw new ReplicationConfigError(
      field,
      `must be a finite number in ${range}, got ${describe(value)}`,
      value,
    );
  return value as number;
}

function checkChoice<T extends string>(
  field: string,
  value: unknown,
  choices: readonly string[],
): T {
  if (typeof value !== 'string' || !choices.includes(value)) {
    throw new ReplicationConfigError(
      field,
      `must be one of ${choices.map((c) => `'${c}'`).join(', ')}, got ${describe(value)}`,
      value,
    );
  }
  return value as T;
}

/** Applies defaults and validates; throws `ReplicationConfigError` (code CONFIG) on the first bad field. */
export function resolveReplicationConfig(
  input: ReplicationConfigInput = {},
  options: ReplicationConfigOptions = {},
): ReplicationConfig {
  if (typeof input !== 'object' || input === null) {
    throw new ReplicationConfigError(
      '(config)',
      `must be an object, got ${describe(input)}`,
      input,
    );
  }
  let heartbeatMin = HEARTBEAT_MS_MIN;
  if (options.testOnlyHeartbeatMsMin !== undefined) {
    heartbeatMin = checkIntegerRange(
      'testOnlyHeartbeatMsMin',
      options.testOnlyHeartbeatMsMin,
      1,
      HEARTBEAT_MS_MIN,
    );
  }
  const d = DEFAULT_REPLICATION_CONFIG;
  const config: ReplicationConfig = {
    factor: checkIntegerRange('factor', valueOr(input.factor, d.factor), FACTOR_MIN, FACTOR_MAX),
    placement: checkPlacement(valueOr(input.placement, d.placement)),
    heartbeatMs: checkIntegerRange(
      'heartbeatMs',
      valueOr(input.heartbeatMs, d.heartbeatMs),
      heartbeatMin,
      HEARTBEAT_MS_MAX,
    ),
    onUnderCapacity: checkChoice(
      'onUnderCapacity',
      valueOr(input.onUnderCapacity, d.onUnderCapacity),
      UNDER_CAPACITY,
    ),
    budgetFraction: checkFraction(
      'budgetFraction',
      valueOr(input.budgetFraction, d.budgetFraction),
      false,
      true,
    ),
    defaultClass: checkChoice(
      'defaultClass',
      valueOr(input.defaultClass, d.defaultClass),
      CLASS_NAMES,
    ),
    backgroundFraction: checkFraction(
      'backgroundFraction',
      valueOr(input.backgroundFraction, d.backgroundFraction),
      true,
      false,
    ),
  };
  // A misspelt field would otherwise be silently replaced by its default.
  for (const key of Object.keys(input)) {
    if (!FIELDS.includes(key))
      throw new ReplicationConfigError(
        key,
        'is not a replication config field',
        (input as Record<string, unknown>)[key],
      );
  }
  return Object.freeze(config);
}

/**
 * The silence window of a channel: a peer (or leader) not heard from for this long is silent.
 * Its one owner; the tracker, the quorum logic and the backoff all read it from here.
 */
export function silenceMsOf(config: Pick<ReplicationConfig, 'heartbeatMs'>): number {
  return config.heartbeatMs * MISS_THRESHOLD;
}

/** Structural equality of two resolved configs (a reopen with a different config is an error). */
export function replicationConfigEquals(a: ReplicationConfig, b: ReplicationConfig): boolean {
  if (
    a.factor !== b.factor ||
    a.heartbeatMs !== b.heartbeatMs ||
    a.onUnderCapacity !== b.onUnderCapacity ||
    a.budgetFraction !== b.budgetFraction ||
    a.defaultClass !== b.defaultClass ||
    a.backgroundFraction !== b.backgroundFraction
  ) {
    return false;
  }
  if (a.placement === 'standard' || b.placement === 'standard') return a.placement === b.placement;
  const x = a.placement.pinned;
  const y = b.placement.pinned;
  return x.length === y.length && x.every((id, i) => id === y[i]);
}

/** The wire class byte of a config class name. */
export function syncClassOf(name: SyncClassName): SyncClass {
  switch (name) {
    case 'background':
      return SyncClass.Background;
    case 'realtime':
      return SyncClass.Realtime;
    default:
      return SyncClass.Foreground;
  }
}
