// Importing the package root has no global side effects: @peculiar/x509 and the reflect-metadata
// polyfill it needs (which patches the global Reflect) load only when a certificate is made.
// Each probe runs in a fresh process, since a module once loaded stays loaded.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function probe(script: string): Promise<string> {
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', script],
    { cwd: new URL('../..', import.meta.url) },
  );
  return stdout.trim();
}

describe('importing the package root', () => {
  it('defines no Reflect metadata and loads no x509 module', async () => {
    const seen = await probe(`
      import { createRequire } from 'node:module';
      await import('./src/index.ts');
      const cache = createRequire(import.meta.url).cache;
      const loaded = Object.keys(cache).filter((path) => /reflect-metadata|@peculiar/.test(path));
      console.log(JSON.stringify([typeof Reflect.getMetadata, typeof Reflect.defineMetadata, loaded]));
    `);
    assert.deepEqual(JSON.parse(seen), ['undefined', 'undefined', []]);
  });

  it('loads the certificate machinery on first use', async () => {
    const seen = await probe(`
      const { createCa, createNodeCert } = await import('./src/index.ts');
      const ca = await createCa();
      const node = await createNodeCert(ca, 'n1');
      console.log(JSON.stringify([node.certPem.startsWith('-----BEGIN CERTIFICATE-----'), typeof Reflect.getMetadata]));
    `);
    assert.deepEqual(JSON.parse(seen), [true, 'function']);
  });
});
