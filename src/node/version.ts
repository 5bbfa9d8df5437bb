import { readFileSync } from 'node:fs';

let cached: string | null = null;

/** The package version (from package.json, two levels above both src/node and dist/node). */
export function packageVersion(): string {
  if (cached === null) {
    const json = JSON.parse(
      readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
    ) as { version: string };
    cached = json.version;
  }
  return cached;
}
