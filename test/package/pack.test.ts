// The package as a user receives it: `npm pack` (whose prepack step runs the build) makes the
// tarball, which is unpacked into a fresh project outside the repository. There every
// package.json "exports" subpath is imported as ESM, a strict NodeNext TypeScript file that imports
// them is type-checked with the library's own declarations checked too (skipLibCheck off), and
// the `redex` bin prints the version.
//
// Installing is done without the registry, so the test runs offline and never changes the
// repository's node_modules: the tarball goes to node_modules/redex-log of the temporary project
// and each of its declared dependencies (and nothing else) is a symlink to the copy in this
// repository's node_modules. A dependency that is used but not declared therefore fails to
// resolve, as it would for a user.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { newcomerPath } from './newcomer.js';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../..', import.meta.url));
/** Generous: the build and a type-check without skipLibCheck take tens of seconds on a busy host. */
const STEP_TIMEOUT_MS = 240_000;

interface PackedFile {
  readonly path: string;
}
interface PackageJson {
  readonly name: string;
  readonly version: string;
  readonly bin: Record<string, string>;
  readonly exports: Record<string, unknown>;
  readonly dependencies: Record<string, string>;
}

let work = '';
let app = '';
let installed = '';
let packed: readonly string[] = [];
let pkg: PackageJson;

function specifier(subpath: string): string {
  return subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`;
}

function isJson(subpath: string): boolean {
  return subpath.endsWith('.json');
}

async function linkFromRepo(name: string): Promise<void> {
  const target = join(REPO, 'node_modules', name);
  assert.ok(existsSync(target), `${name} is installed in the repository`);
  const link = join(app, 'node_modules', name);
  await mkdir(dirname(link), { recursive: true });
  await symlink(target, link, 'dir');
}

describe('the packed package', { timeout: STEP_TIMEOUT_MS * 3 }, () => {
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'redex-pack-'));
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], {
      cwd: REPO,
      timeout: STEP_TIMEOUT_MS,
      maxBuffer: 64 * 1024 * 1024,
    });
    // The prepack build may print before the JSON report.
    const report = JSON.parse(stdout.slice(stdout.indexOf('[\n'))) as {
      name: string;
      filename: string;
      files: PackedFile[];
    }[];
    const tarball = join(work, report[0]!.filename);
    packed = report[0]!.files.map((file) => file.path);
    app = join(work, 'app');
    installed = join(app, 'node_modules', report[0]!.name);
    await mkdir(installed, { recursive: true });
    await run('tar', ['-xzf', tarball, '-C', installed, '--strip-components=1']);
    pkg = JSON.parse(await readFile(join(installed, 'package.json'), 'utf8')) as PackageJson;
    await writeFile(
      join(app, 'package.json'),
      JSON.stringify({ name: 'app', private: true, type: 'module' }),
    );
    for (const name of Object.keys(pkg.dependencies)) await linkFromRepo(name);
    await linkFromRepo('@types/node');
  });

  after(async () => {
    if (work !== '') await rm(work, { recursive: true, force: true });
  });

  it('holds the build, the README, the LICENSE and nothing from the repository besides', () => {
    for (const path of [
      'package.json',
      'README.md',
      'LICENSE',
      'dist/index.js',
      'dist/index.d.ts',
    ]) {
      assert.ok(packed.includes(path), `${path} is packed`);
    }
    const outside = packed.filter(
      (path) =>
        !path.startsWith('dist/') && !['package.json', 'README.md', 'LICENSE'].includes(path),
    );
    assert.deepEqual(outside, []);
    assert.ok(!packed.some((path) => path.startsWith('dist/') && path.includes('.test.')));
  });

  it('ships no source map whose sources are missing from the tarball', async () => {
    const maps = packed.filter((path) => path.endsWith('.map'));
    for (const map of maps) {
      const { sources } = JSON.parse(await readFile(join(installed, map), 'utf8')) as {
        sources: string[];
      };
      for (const source of sources) {
        const resolved = posix.normalize(posix.join(posix.dirname(map), source));
        assert.ok(packed.includes(resolved), `${map} points at ${source}, which is packed`);
      }
    }
  });

  it('imports every exports subpath as ESM, and the root leaves Reflect alone', async () => {
    const subpaths = Object.keys(pkg.exports);
    assert.ok(subpaths.includes('.') && subpaths.includes('./testing'));
    const lines = [
      `const seen = {};`,
      ...subpaths.map((subpath, i) =>
        isJson(subpath)
          ? `seen[${JSON.stringify(subpath)}] = Object.keys((await import(${JSON.stringify(specifier(subpath))}, { with: { type: 'json' } })).default).length;`
          : `seen[${JSON.stringify(subpath)}] = Object.keys(await import(${JSON.stringify(specifier(subpath))})).length;${i === 0 ? ` seen.reflect = typeof Reflect.getMetadata;` : ''}`,
      ),
      `console.log(JSON.stringify(seen));`,
    ];
    // The root goes first so the Reflect probe sees only what the root import did.
    assert.equal(subpaths[0], '.');
    await writeFile(join(app, 'imports.mjs'), `${lines.join('\n')}\n`);
    const { stdout } = await run(process.execPath, ['imports.mjs'], { cwd: app });
    const seen = JSON.parse(stdout) as Record<string, number | string>;
    for (const subpath of subpaths) {
      assert.ok((seen[subpath] as number) > 0, `${specifier(subpath)} exports something`);
    }
    assert.equal(seen.reflect, 'undefined', 'importing the root installs no Reflect metadata');
  });

  it('type-checks a strict NodeNext program against the shipped declarations', async () => {
    const imports = Object.keys(pkg.exports).map((subpath, i) =>
      isJson(subpath)
        ? `import json${i} from '${specifier(subpath)}' with { type: 'json' };\nvoid json${i};`
        : `import * as module${i} from '${specifier(subpath)}';\nvoid module${i};`,
    );
    const program = [
      ...imports,
      `import { Redex, type RedexEvent } from '${pkg.name}';`,
      `const redex = new Redex();`,
      `const file = await redex.openFile('orders');`,
      `const seq: number = await file.append(new TextEncoder().encode('order #1'));`,
      `const events: RedexEvent[] = await file.readRange(seq, seq + 1);`,
      `console.log(events.length);`,
      `await redex.close();`,
      // A mistake must be reported, or the check proves nothing: append takes bytes.
      `// @ts-expect-error`,
      `await file.append('not bytes');`,
    ];
    await writeFile(join(app, 'check.ts'), `${program.join('\n')}\n`);
    await writeFile(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          skipLibCheck: false,
          noEmit: true,
          types: ['node'],
          resolveJsonModule: true,
        },
        files: ['check.ts'],
      }),
    );
    const tsc = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
    try {
      await run(process.execPath, [tsc, '-p', 'tsconfig.json'], {
        cwd: app,
        timeout: STEP_TIMEOUT_MS,
      });
    } catch (error) {
      assert.fail(`tsc failed:\n${(error as { stdout?: string }).stdout ?? String(error)}`);
    }
  });

  it('runs the redex bin from the installed package', async () => {
    const bin = join(installed, pkg.bin.redex!);
    assert.match(await readFile(bin, 'utf8'), /^#!\/usr\/bin\/env node\n/);
    const { stdout } = await run(process.execPath, [bin, '--version'], { cwd: app });
    assert.equal(stdout.trim(), pkg.version);
  });

  it("a newcomer's path: three nodes from the installed bin, an application on redex-log/client through a leader kill", async () => {
    const bin = join(installed, pkg.bin.redex!);
    const seen = await newcomerPath(app, bin);
    const log = new Map(seen.log);
    assert.ok(seen.acked.length >= 40 - seen.unknown, `${seen.acked.length} acknowledged`);
    for (const [seq, payload] of seen.acked) {
      assert.equal(log.get(seq), payload, `acknowledged seq ${seq} is in the log`);
    }
    assert.deepEqual(
      seen.log.map(([seq]) => seq),
      seen.log.map((_, i) => i),
      'the log has no gap',
    );
    assert.deepEqual(
      seen.tailed.slice(0, seen.log.length),
      seen.log.map(([seq]) => seq),
      'the tail saw the log, no gap, no duplicate',
    );
    assert.equal(seen.exitCode, 0, 'the application ends by itself after client.close()');
  });
});
