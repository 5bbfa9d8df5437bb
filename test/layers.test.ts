// Layers import downward only. The order (also written at the top of src/index.ts), lowest first:
// time, errors → wire, log → replication → mesh → cluster → node → cli. Layers of one rank are
// siblings and do not import each other; the entry files (src/index.ts, src/testing.ts) may
// import anything. Every relative import in src/ is checked, so an upward import fails here.
// The HTTP client (src/client, the `redex-log/client` entry) stands alone: it imports nothing from
// the other layers and no `node:` module, so it runs in browsers too.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, it } from 'node:test';

const SRC = resolve('src');
const RANK: Readonly<Record<string, number>> = {
  time: 0,
  errors: 0,
  wire: 1,
  log: 1,
  client: 1,
  replication: 2,
  mesh: 3,
  cluster: 4,
  node: 5,
  cli: 6,
};

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) sourceFiles(path, out);
    else if (entry.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** The layer of a path under src/, or null for a top-level entry file. */
function layerOf(path: string): string | null {
  const parts = relative(SRC, path).split(sep);
  return parts.length > 1 ? parts[0]! : null;
}

const IMPORT = /^(?:import|export)\b[^;]*?\bfrom\s+'(\.{1,2}\/[^']+)'/gm;

describe('layers', () => {
  it('every directory of src/ has a rank', () => {
    for (const entry of readdirSync(SRC)) {
      if (statSync(join(SRC, entry)).isDirectory()) assert.ok(entry in RANK, `src/${entry}`);
    }
  });

  it('every relative import in src/ points to the same layer or a lower one', () => {
    const violations: string[] = [];
    for (const file of sourceFiles(SRC)) {
      const from = layerOf(file);
      if (from === null) continue;
      for (const match of readFileSync(file, 'utf8').matchAll(IMPORT)) {
        const to = layerOf(resolve(dirname(file), match[1]!));
        if (to === null) {
          violations.push(`${relative(SRC, file)} imports an entry file`);
        } else if (to !== from && RANK[to]! >= RANK[from]!) {
          violations.push(`${relative(SRC, file)} (${from}) imports ${match[1]} (${to})`);
        }
      }
    }
    assert.deepEqual(violations, []);
  });

  it('src/client imports only itself, and no node: module or package statically', () => {
    const outside: string[] = [];
    const STATIC = /^(?:import|export)\b[^;]*?\bfrom\s+'([^']+)'/gm;
    for (const file of sourceFiles(join(SRC, 'client'))) {
      for (const match of readFileSync(file, 'utf8').matchAll(STATIC)) {
        const target = match[1]!;
        if (!target.startsWith('.') || layerOf(resolve(dirname(file), target)) !== 'client') {
          outside.push(`${relative(SRC, file)} imports ${target}`);
        }
      }
    }
    assert.deepEqual(outside, []);
  });
});
