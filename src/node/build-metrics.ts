// Node-wide series that are not about channels: `redex_build_info` (always), and prom-client's
// default process_* / nodejs_* series (only when asked: `redex serve` asks). The defaults start
// process-wide observers (event-loop delay, GC) that are never stopped, so a library embedding
// several nodes in one process must not collect them once per node.

import { readFileSync } from 'node:fs';
import { collectDefaultMetrics, Gauge, type Registry } from 'prom-client';
import { packageVersion } from './version.js';

export interface BuildInfo {
  /** The package version (package.json). */
  readonly version: string;
  /** The Node.js version running the node, e.g. `v20.19.0`. */
  readonly node: string;
  /** The source commit, when package.json carries one (`gitHead`); null otherwise. */
  readonly commit: string | null;
}

let cachedCommit: string | null | undefined;

function packageCommit(): string | null {
  if (cachedCommit === undefined) {
    try {
      const json = JSON.parse(
        readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
      ) as { gitHead?: unknown };
      cachedCommit =
        typeof json.gitHead === 'string' && /^[0-9a-f]{7,40}$/.test(json.gitHead)
          ? json.gitHead
          : null;
    } catch {
      cachedCommit = null;
    }
  }
  return cachedCommit;
}

export function buildInfo(): BuildInfo {
  return { version: packageVersion(), node: process.version, commit: packageCommit() };
}

export interface NodeMetricsOptions {
  /** Also collect prom-client's default process and Node.js runtime series. */
  readonly processMetrics?: boolean;
}

/** Registers `redex_build_info` (and the defaults when asked) on `registry`. */
export function registerNodeMetrics(registry: Registry, options: NodeMetricsOptions = {}): void {
  const info = buildInfo();
  const gauge = new Gauge({
    name: 'redex_build_info',
    help: 'Always 1; the labels say which build runs: package version, Node.js version, commit (when known).',
    labelNames: ['version', 'node', 'commit'] as const,
    registers: [registry],
  });
  gauge.set(
    {
      version: info.version,
      node: info.node,
      ...(info.commit === null ? {} : { commit: info.commit }),
    },
    1,
  );
  if (options.processMetrics === true) collectDefaultMetrics({ register: registry });
}
