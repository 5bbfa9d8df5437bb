// The repository must stand on its own: every reference in it leads somewhere a maintainer who
// clones it can follow. Checked here:
// - every relative link in README.md and docs/*.md points at an existing file, and a `#anchor`
//   into a markdown file at one of its headings (GitHub's slug rules);
// - every `docs/…` path named in src/, test/, bench/, examples/ and scripts/ exists, with its
//   anchor if it gives one;
// - nothing cites the design notes that live outside the repository or the ids of upstream's bug
//   list (docs/DESIGN.md#rules states those rules in words).

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, it } from 'node:test';

const ROOT = resolve('.');
const SKIPPED_DIRS = new Set(['.git', 'node_modules', 'dist', 'scratch', '.redex-data']);
const CODE_DIRS = ['src', 'test', 'bench', 'examples', 'scripts'];
const CODE_FILE = /\.(?:ts|mts|js|mjs|cjs)$/;

// Built from parts so this file does not match itself.
const EXTERNAL_NOTES = ['REDEX', 'TOOLCHAIN', 'QUORUM', 'STYLE'].map((name) => `${name}\\.md`);
const UPSTREAM_IDS = ['R', 'B'].map((list) => `\\b${list}-\\d+\\b`);
const SECTION_NUMBER = '\u00a7\\s?\\d';
/** The design notes and upstream sources sat beside the repository, never in it. */
const OUTSIDE_PATH = '\\.\\./shared/';
const FORBIDDEN = new RegExp(
  [...EXTERNAL_NOTES, ...UPSTREAM_IDS, SECTION_NUMBER, OUTSIDE_PATH].join('|'),
  'g',
);

function walk(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir)) {
    if (SKIPPED_DIRS.has(entry)) continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) walk(path, out);
    else out.push(path);
  }
  return out;
}

/** Repository-relative path with forward slashes. */
function repoPath(path: string): string {
  return relative(ROOT, path).split(sep).join('/');
}

function isText(bytes: Buffer): boolean {
  return !bytes.subarray(0, 8000).includes(0);
}

/** Markdown with fenced code blocks blanked (line count kept), so their `#` lines are no headings. */
function withoutFences(markdown: string): string {
  let fence: string | null = null;
  return markdown
    .split('\n')
    .map((line) => {
      const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
      if (fence === null && marker !== undefined) {
        fence = marker[0]!;
        return '';
      }
      if (fence !== null) {
        if (marker?.[0] === fence) fence = null;
        return '';
      }
      return line;
    })
    .join('\n');
}

/** GitHub's heading anchor: rendered text, lower case, punctuation dropped, spaces to hyphens. */
function slugOf(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .replace(/`/g, '');
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

const anchorCache = new Map<string, ReadonlySet<string>>();

/** Every anchor of a markdown file's headings, duplicates numbered as GitHub does. */
function anchorsOf(file: string): ReadonlySet<string> {
  const cached = anchorCache.get(file);
  if (cached !== undefined) return cached;
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const match of withoutFences(readFileSync(file, 'utf8')).matchAll(
    /^#{1,6}\s+(.+?)\s*#*$/gm,
  )) {
    const base = slugOf(match[1]!);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  anchorCache.set(file, anchors);
  return anchors;
}

function markdownFiles(): string[] {
  const docs = readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => join(ROOT, 'docs', name));
  return [join(ROOT, 'README.md'), ...docs];
}

/** Inline links and images outside code: `[text](target)`, `![alt](target "title")`. */
function linksOf(markdown: string): string[] {
  const prose = withoutFences(markdown).replace(/`[^`\n]*`/g, '');
  return [...prose.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map(
    (match) => match[1]!,
  );
}

/** Why `target` (a path and maybe `#anchor`, relative to `fromFile`) leads nowhere; null if fine. */
function checkTarget(fromFile: string, target: string): string | null {
  const hash = target.indexOf('#');
  const pathPart = hash === -1 ? target : target.slice(0, hash);
  const anchor = hash === -1 ? '' : target.slice(hash + 1);
  const file = pathPart === '' ? fromFile : resolve(dirname(fromFile), decodeURI(pathPart));
  if (!existsSync(file)) return `${target}: no such file`;
  if (anchor === '' || !file.endsWith('.md') || statSync(file).isDirectory()) return null;
  return anchorsOf(file).has(anchor) ? null : `${target}: no heading with that anchor`;
}

const DOCS_PATH = /(?<![\w-])docs\/[\w./-]*[\w/](?:#[\w-]+)?/g;

describe('docs links', () => {
  it('slugs follow GitHub', () => {
    assert.equal(slugOf('ChainTag (`0x24`)'), 'chaintag-0x24');
    assert.equal(slugOf('Election, epochs and commit'), 'election-epochs-and-commit');
    assert.equal(slugOf('POST /channels/{name}/events'), 'post-channelsnameevents');
    assert.equal(slugOf('MANIFEST (36 bytes)'), 'manifest-36-bytes');
    assert.equal(slugOf('role-recheck'), 'role-recheck');
  });

  it('every relative link in README.md and docs/*.md resolves, anchors included', () => {
    const broken: string[] = [];
    for (const file of markdownFiles()) {
      for (const target of linksOf(readFileSync(file, 'utf8'))) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:, …
        const reason = checkTarget(file, target);
        if (reason !== null) broken.push(`${repoPath(file)}: ${reason}`);
      }
    }
    assert.deepEqual(broken, []);
  });

  it('every docs/… path named in code resolves, anchors included', () => {
    const broken: string[] = [];
    let seen = 0;
    for (const dir of CODE_DIRS) {
      if (!existsSync(join(ROOT, dir))) continue;
      for (const file of walk(join(ROOT, dir))) {
        if (!CODE_FILE.test(file)) continue;
        for (const match of readFileSync(file, 'utf8').matchAll(DOCS_PATH)) {
          seen++;
          const reason = checkTarget(join(ROOT, 'README.md'), match[0]);
          if (reason !== null) broken.push(`${repoPath(file)}: ${reason}`);
        }
      }
    }
    assert.ok(seen > 0, 'found no docs/ path in code at all: the pattern is broken');
    assert.deepEqual(broken, []);
  });

  it('nothing cites notes outside the repository or upstream bug ids', () => {
    const found: string[] = [];
    for (const file of walk(ROOT)) {
      const path = repoPath(file);
      const bytes = readFileSync(file);
      if (!isText(bytes)) continue;
      const lines = bytes.toString('utf8').split('\n');
      lines.forEach((line, index) => {
        for (const match of line.matchAll(FORBIDDEN))
          found.push(`${path}:${index + 1}: ${match[0]}`);
      });
    }
    assert.deepEqual(found, []);
  });
});
