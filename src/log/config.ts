// Per-file configuration (README.md "File config"): defaults, validation that names the bad field,
// and the equality used to refuse a reopen with a different config.

import { RedexError, RedexErrorCode } from './errors.js';

export type FsyncPolicy =
  | 'never'
  | 'always'
  | { readonly everyN: number }
  | { readonly intervalMs: number; readonly maxBytes?: number };

export interface RetentionPolicy {
  readonly maxEvents?: number;
  readonly maxBytes?: number;
  readonly maxAgeMs?: number;
}

export interface RedexFileConfig {
  readonly persistent?: boolean;
  readonly fsync?: FsyncPolicy;
  readonly retention?: RetentionPolicy;
  /** Bytes prefetched per tail (see TAIL_BUFFER_SIZE_DEFAULT). */
  readonly tailBufferSize?: number;
  readonly maxLiveBytes?: number;
  /** Persistent files: most recent payload bytes kept in memory for reads and tails. */
  readonly cacheBytes?: number;
  /** Replication settings; validated by the replication layer (docs/DESIGN.md#replication-config). */
  readonly replication?: Readonly<Record<string, unknown>>;
}

export interface ResolvedFileConfig {
  readonly persistent: boolean;
  readonly fsync: FsyncPolicy;
  readonly retention: RetentionPolicy | null;
  readonly tailBufferSize: number;
  readonly maxLiveBytes: number;
  readonly cacheBytes: number;
  readonly replication: Readonly<Record<string, unknown>> | null;
}

/**
 * Bytes a tail (or a `readStream` page) holds fetched from the store and not yet delivered,
 * counting payload plus a fixed per-event overhead; one event always fits. It is not a bound on
 * lag: a tail may be any distance behind, what it has not read stays in the log.
 */
export const TAIL_BUFFER_SIZE_DEFAULT = 1 << 20;
export const TAIL_BUFFER_SIZE_MAX = 1 << 24;
export const MAX_LIVE_BYTES_DEFAULT = 3 * 1024 ** 3;
export const CACHE_BYTES_DEFAULT = 16 * 1024 ** 2;

function configError(field: string, message: string): RedexError {
  return new RedexError(RedexErrorCode.Config, `file config field '${field}' ${message}`);
}

function checkCount(
  field: string,
  value: unknown,
  { min = 0, max = Number.MAX_SAFE_INTEGER } = {},
): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw configError(field, `must be an integer in ${min}..${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function resolveFsync(value: unknown): FsyncPolicy {
  if (value === undefined) return 'never';
  if (value === 'never' || value === 'always') return value;
  if (typeof value === 'object' && value !== null) {
    const policy = value as Record<string, unknown>;
    if ('everyN' in policy) {
      return { everyN: checkCount('fsync.everyN', policy.everyN, { min: 1 }) };
    }
    if ('intervalMs' in policy) {
      const intervalMs = checkCount('fsync.intervalMs', policy.intervalMs, { min: 1 });
      if (policy.maxBytes === undefined) return { intervalMs };
      return { intervalMs, maxBytes: checkCount('fsync.maxBytes', policy.maxBytes, { min: 1 }) };
    }
  }
  throw configError(
    'fsync',
    `must be 'never', 'always', { everyN }, { intervalMs } or { intervalMs, maxBytes }; got ${JSON.stringify(value)}`,
  );
}

function resolveRetention(value: unknown): RetentionPolicy | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object')
    throw configError('retention', `must be an object, got ${JSON.stringify(value)}`);
  const policy = value as Record<string, unknown>;
  for (const key of Object.keys(policy)) {
    if (key !== 'maxEvents' && key !== 'maxBytes' && key !== 'maxAgeMs') {
      throw configError(
        `retention.${key}`,
        'is not a retention field (maxEvents, maxBytes, maxAgeMs)',
      );
    }
  }
  const resolved: { maxEvents?: number; maxBytes?: number; maxAgeMs?: number } = {};
  if (policy.maxEvents !== undefined)
    resolved.maxEvents = checkCount('retention.maxEvents', policy.maxEvents);
  if (policy.maxBytes !== undefined)
    resolved.maxBytes = checkCount('retention.maxBytes', policy.maxBytes);
  if (policy.maxAgeMs !== undefined)
    resolved.maxAgeMs = checkCount('retention.maxAgeMs', policy.maxAgeMs);
  return resolved;
}

const KNOWN_FIELDS = new Set([
  'persistent',
  'fsync',
  'retention',
  'tailBufferSize',
  'maxLiveBytes',
  'cacheBytes',
  'replication',
]);

export function resolveFileConfig(config: RedexFileConfig = {}): ResolvedFileConfig {
  if (typeof config !== 'object' || config === null) {
    throw new RedexError(
      RedexErrorCode.Config,
      `file config must be an object, got ${JSON.stringify(config)}`,
    );
  }
  for (const key of Object.keys(config)) {
    if (!KNOWN_FIELDS.has(key)) throw configError(key, 'is not a file config field');
  }
  if (config.persistent !== undefined && typeof config.persistent !== 'boolean') {
    throw configError('persistent', `must be a boolean, got ${JSON.stringify(config.persistent)}`);
  }
  const tailBufferSize =
    config.tailBufferSize === undefined
      ? TAIL_BUFFER_SIZE_DEFAULT
      : checkCount('tailBufferSize', config.tailBufferSize, { max: TAIL_BUFFER_SIZE_MAX });
  if (
    config.replication !== undefined &&
    (typeof config.replication !== 'object' || config.replication === null)
  ) {
    throw configError(
      'replication',
      `must be an object, got ${JSON.stringify(config.replication)}`,
    );
  }
  return {
    persistent: config.persistent ?? false,
    fsync: resolveFsync(config.fsync),
    retention: resolveRetention(config.retention),
    tailBufferSize: Math.max(1, tailBufferSize),
    maxLiveBytes:
      config.maxLiveBytes === undefined
        ? MAX_LIVE_BYTES_DEFAULT
        : checkCount('maxLiveBytes', config.maxLiveBytes, { min: 1 }),
    cacheBytes:
      config.cacheBytes === undefined
        ? CACHE_BYTES_DEFAULT
        : checkCount('cacheBytes', config.cacheBytes),
    replication: config.replication ?? null,
  };
}

/** Structural equality of two resolved configs (plain JSON-like values). */
export function sameFileConfig(a: ResolvedFileConfig, b: ResolvedFileConfig): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) => {
    if (typeof inner === 'bigint') return `${inner}n`;
    if (inner && typeof inner === 'object' && !Array.isArray(inner)) {
      return Object.fromEntries(
        Object.entries(inner).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)),
      );
    }
    return inner;
  });
}
