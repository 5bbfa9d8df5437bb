// Keeps docs/OPERATIONS.md true. Every block after a `<!-- check: KIND -->` marker is run:
// config examples are parsed by the real parser; each curl example is sent, in document order,
// to a real node whose clock is fixed (so timestamps match) and its answer compared with the
// block that follows (JSON: the documented object must be contained in the answer; text: the
// documented lines must appear); the CLI example runs through `runCli`; the error, limit and
// metric tables are compared with the code.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { NotLeaderError, RedexError, type RedexErrorCode } from '../../src/log/errors.js';
import { Redex } from '../../src/log/redex.js';
import { parseNodeConfig } from '../../src/node/config.js';
import { NodeError, NodeErrorCode } from '../../src/node/errors.js';
import { HttpErrorCode, toHttpError } from '../../src/node/http/errors.js';
import * as limits from '../../src/node/http/limits.js';
import { NodeHttpServer } from '../../src/node/http/server.js';
import { LocalNodeService } from '../../src/node/local-service.js';
import { leaderHint } from '../../src/node/members.js';
import { VirtualClock } from '../../src/time/virtual-clock.js';
import { redex } from '../cli/helpers.js';
import { api, eventually, memorySpec, TestSse, tempDir } from './helpers.js';

const DOC = readFileSync(new URL('../../docs/OPERATIONS.md', import.meta.url), 'utf8');
const DOC_URL = 'http://127.0.0.1:7070';
const DOC_TOKEN = 'change-me-to-a-long-random-token';
const DOC_EPOCH_MS = 1_800_000_000_000;

interface Check {
  readonly kind: string;
  readonly arg: string | undefined;
  /** The fenced blocks (language, body) after the marker, up to the next marker. */
  readonly blocks: { lang: string; body: string }[];
  /** The markdown table right after the marker, if any. */
  readonly rows: string[][];
}

function checks(): Check[] {
  const parts = DOC.split(/<!-- check: ([\w-]+)(?: (\S+))? -->\n/);
  const out: Check[] = [];
  for (let i = 1; i < parts.length; i += 3) {
    const text = parts[i + 2]!.split(/\n#{2,3} /)[0]!;
    const blocks = [...text.matchAll(/```(\w*)\n([\s\S]*?)```/g)].map((m) => ({
      lang: m[1]!,
      body: m[2]!,
    }));
    const rows = text.startsWith('|')
      ? text
          .split('\n')
          .filter((line) => line.startsWith('|'))
          .slice(2)
          .map((line) =>
            line
              .split('|')
              .slice(1, -1)
              .map((cell) => cell.trim().replace(/^`|`$/g, '')),
          )
      : [];
    out.push({ kind: parts[i]!, arg: parts[i + 1], blocks: blocks.slice(0, 2), rows });
  }
  return out;
}

const CHECKS = checks();
const of = (kind: string) => CHECKS.filter((check) => check.kind === kind);

/** Splits a shell command line: single quotes, double quotes with backslash escapes, words. */
function shellWords(line: string): string[] {
  const words: string[] = [];
  const pattern = /'([^']*)'|"((?:\\.|[^"\\])*)"|(\S+)/g;
  for (const match of line.matchAll(pattern)) {
    words.push(match[1] ?? match[2]?.replace(/\\(.)/g, '$1') ?? match[3]!);
  }
  return words;
}

interface Curl {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | undefined;
  stream: boolean;
}

function parseCurl(command: string): Curl {
  const words = shellWords(command.replace(/\\\n\s*/g, ' ').trim());
  assert.equal(words.shift(), 'curl', command);
  const curl: Curl = { method: 'GET', url: '', headers: {}, body: undefined, stream: false };
  while (words.length > 0) {
    const word = words.shift()!;
    if (word === '-X') curl.method = words.shift()!;
    else if (word === '-H') {
      const header = words.shift()!;
      const colon = header.indexOf(':');
      curl.headers[header.slice(0, colon).trim().toLowerCase()] = header.slice(colon + 1).trim();
    } else if (word === '-d' || word === '--data-binary') {
      curl.body = words.shift()!;
      if (curl.method === 'GET') curl.method = 'POST';
    } else if (/^-[sSN]+$/.test(word)) curl.stream ||= word.includes('N');
    else if (!word.startsWith('-')) curl.url = word;
    else assert.fail(`the doc test does not know curl option ${word}`);
  }
  return curl;
}

/** `expected` is contained in `actual`: objects by key, arrays element by element, the rest equal. */
function assertContains(actual: unknown, expected: unknown, path = '$'): void {
  if (expected !== null && typeof expected === 'object') {
    assert.equal(typeof actual, 'object', `${path} is not an object`);
    assert.notEqual(actual, null, `${path} is null`);
    if (Array.isArray(expected)) {
      assert.ok(Array.isArray(actual), `${path} is not an array`);
      assert.equal(actual.length, expected.length, `${path} length`);
      for (const [index, item] of expected.entries()) {
        assertContains(actual[index], item, `${path}[${index}]`);
      }
      return;
    }
    for (const [key, value] of Object.entries(expected)) {
      assertContains((actual as Record<string, unknown>)[key], value, `${path}.${key}`);
    }
    return;
  }
  assert.deepEqual(actual, expected, path);
}

interface DocNode {
  readonly url: string;
  streams(): number;
  close(): Promise<void>;
}

async function startDocNode(token: string | null): Promise<DocNode> {
  const dir = await tempDir('operations');
  const service = new LocalNodeService({
    name: 'node-a',
    redex: new Redex({ dir: dir.path, clock: new VirtualClock(DOC_EPOCH_MS) }),
  });
  const server = new NodeHttpServer({ service, token });
  await server.listen({ host: '127.0.0.1', port: 0 });
  service.advertiseHttp(server.url);
  return {
    url: server.url,
    streams: () => server.streamCount,
    close: async () => {
      server.stopListening();
      await service.shutdown();
      await server.close();
      await dir.remove();
    },
  };
}

async function runCurlCheck(check: Check, node: DocNode): Promise<void> {
  const base = node.url;
  const [command, expected] = check.blocks;
  assert.ok(
    command?.lang === 'sh' && expected,
    `a curl check needs a sh block and an answer block: ${JSON.stringify(check)}`,
  );
  const curl = parseCurl(command.body);
  assert.ok(curl.url.startsWith(DOC_URL), curl.url);
  const url = base + curl.url.slice(DOC_URL.length);
  const path = url.slice(base.length);
  const want = expected.body.replaceAll(DOC_URL, base);
  if (check.arg === 'sse') {
    assert.ok(curl.stream, 'a stream example uses curl -N');
    const sse = await TestSse.open(url, curl.headers);
    const lines = want.replace(/\n$/, '').split('\n');
    try {
      await sse.waitUntil(
        (raw) => raw.split('\n').length > lines.length,
        `${path}: ${lines.length} lines`,
      );
      const got = sse.raw.split('\n');
      lines.forEach((line, index) => {
        if (line.endsWith('…')) {
          assert.ok(
            got[index]!.startsWith(line.slice(0, -1)),
            `${path} line ${index}: ${got[index]}`,
          );
        } else {
          assert.equal(got[index], line, `${path} line ${index}`);
        }
      });
    } finally {
      sse.close();
      // The next example may count tails: wait until the node let go of this one.
      await eventually(() => node.streams() === 0, 'the node frees the stream');
    }
    return;
  }
  const answer = await api(base, curl.method, path, {
    headers: curl.headers,
    ...(curl.body === undefined ? {} : { body: curl.body }),
  });
  if (check.arg === 'text') {
    const got = answer.text.split('\n');
    for (const line of want.split('\n').filter((l) => l !== '')) {
      assert.ok(got.includes(line), `${path}: the answer has no line ${JSON.stringify(line)}`);
    }
    return;
  }
  assert.equal(answer.status, Number(check.arg), `${curl.method} ${path}: ${answer.text}`);
  assertContains(answer.json, JSON.parse(want), `${curl.method} ${path}`);
}

describe('docs/OPERATIONS.md', () => {
  test('has the checks this test expects', () => {
    assert.equal(of('config').length, 1);
    assert.equal(of('cluster-config').length, 1);
    assert.ok(of('http').length >= 12);
    assert.equal(of('http-auth').length, 2);
    for (const kind of ['error-table', 'limits', 'metrics', 'cli'])
      assert.equal(of(kind).length, 1, kind);
  });

  test('the config example is valid and uses every top-level field', () => {
    const json = JSON.parse(of('config')[0]!.blocks[0]!.body);
    const config = parseNodeConfig(json, { baseDir: '/etc/redex' });
    assert.deepEqual(Object.keys(json).sort(), Object.keys(config).sort());
    const fieldTable = DOC.split('## The config file')[1]!.split('## The HTTP API')[0]!;
    for (const key of Object.keys(config))
      assert.match(fieldTable, new RegExp(`\\| \`${key}[.\`\\[]`), key);
  });

  test('the cluster example is a valid config of three members', () => {
    const config = parseNodeConfig(JSON.parse(of('cluster-config')[0]!.blocks[0]!.body), {
      baseDir: '/etc/redex',
    });
    assert.deepEqual(
      config.members.map((member) => member.name),
      ['node-a', 'node-b', 'node-c'],
    );
    assert.equal(config.channels[0]!.replication?.factor, 3);
  });

  describe('HTTP examples, in order, against a node', () => {
    let node: DocNode;
    before(async () => {
      node = await startDocNode(null);
    });
    after(() => node.close());
    of('http').forEach((check, index) => {
      const command = check.blocks[0]?.body.split('\n')[0] ?? '';
      test(`#${index + 1}: ${command}`, () => runCurlCheck(check, node));
    });
  });

  describe('authentication examples', () => {
    let node: DocNode;
    before(async () => {
      node = await startDocNode(DOC_TOKEN);
    });
    after(() => node.close());
    of('http-auth').forEach((check, index) => {
      test(`#${index + 1}`, () => runCurlCheck(check, node));
    });
  });

  test('the NOT_LEADER example is what a follower answers', () => {
    const block = DOC.split('`421 NOT_LEADER` names the node')[1]!.match(
      /```json\n([\s\S]*?)```/,
    )![1]!;
    const error = new NotLeaderError('orders/audit', 2n, '10.0.0.2:7071');
    const members = [
      { name: 'node-b', nodeId: 2n, mesh: '10.0.0.2:7071', http: 'http://10.0.0.2:7070' },
    ];
    const answer = toHttpError(error, (notLeader) => leaderHint(notLeader, members));
    assert.equal(answer.status, 421);
    assert.deepEqual(answer.body(), JSON.parse(block));
  });

  test('the CLI example', async () => {
    const node = await startDocNode(null);
    try {
      const [script, expected] = of('cli')[0]!.blocks;
      let output = '';
      for (const line of script!.body.split('\n').filter((l) => l !== '')) {
        const piped = /^printf '(.*)' \| (redex .*)$/.exec(line);
        const words = shellWords(piped ? piped[2]! : line);
        assert.equal(words.shift(), 'redex');
        const result = await redex(words, {
          env: { REDEX_URL: node.url },
          ...(piped ? { stdin: piped[1]!.replaceAll('\\n', '\n') } : {}),
        });
        assert.equal(result.code, 0, `${line}: ${result.stderr}`);
        output += result.stdout;
      }
      assert.equal(output, expected!.body);
    } finally {
      await node.close();
    }
  });

  test('the error table matches the statuses the API answers with', () => {
    const rows = of('error-table')[0]!.rows;
    const http = new Set<string>(Object.values(HttpErrorCode));
    for (const [code, status] of rows) {
      let error: unknown;
      if (http.has(code!)) continue;
      if ((Object.values(NodeErrorCode) as string[]).includes(code!)) {
        error = new NodeError(code as NodeErrorCode, 'x');
      } else {
        error = new RedexError(code as RedexErrorCode, 'x');
      }
      assert.equal(
        toHttpError(error, () => ({ name: null, nodeId: null, http: null })).status,
        Number(status),
        code,
      );
    }
    const documented = new Set(rows.map((row) => row[0]));
    for (const code of http) assert.ok(documented.has(code), `${code} is documented`);
    assert.ok(documented.has('NOT_LEADER') && documented.has('LAGGED'));
  });

  test('the limits table matches the constants', () => {
    const rows = of('limits')[0]!.rows;
    const table = Object.fromEntries(rows.map(([name, value]) => [name, Number(value)]));
    assert.deepEqual(table, { ...limits });
  });

  test('the metrics table lists exactly the series a node exposes', async () => {
    const node = await startDocNode(null);
    try {
      await api(node.url, 'POST', '/channels', { json: memorySpec('m') });
      const text = (await api(node.url, 'GET', '/metrics')).text;
      const exposed = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)]
        .map((m) => `${m[1]} ${m[2]}`)
        .sort();
      const documented = of('metrics')[0]!
        .rows.map(([name, type]) => `${name} ${type}`)
        .sort();
      assert.deepEqual(documented, exposed);
    } finally {
      await node.close();
    }
  });
});
