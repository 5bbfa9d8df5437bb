// Node 20's test runner does not expand globs, so we collect test files here.
// Usage: node scripts/run-tests.mjs [path-prefix ...]  (default: every test/**/*.test.ts)
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function collect(dir, out) {
  for (const entry of readdirSync(dir).sort()) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (entry.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

const prefixes = process.argv.slice(2);
const files = collect('test', []).filter(
  (file) => prefixes.length === 0 || prefixes.some((prefix) => file.startsWith(prefix)),
);
if (files.length === 0) {
  console.error(`run-tests: no test files match ${prefixes.join(' ') || 'test/'}`);
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', ...files], {
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
