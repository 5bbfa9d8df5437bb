// `--json` is one flag with one output shape on every command that prints a result: JSON Lines,
// one complete JSON value per line (one line for a single result, one per item for a stream).
// `--format json` on read and tail stays as the older spelling.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/program.js';
import { startTestNode, type TestNode, tempDir } from '../node/helpers.js';
import { redex } from './helpers.js';

/** Commands that print no result: a daemon, an interactive demo, a shell script. */
const WITHOUT_JSON = new Set(['serve', 'demo', 'completion']);

function jsonLines(stdout: string): unknown[] {
  assert.ok(stdout.endsWith('\n'), `output ends with a newline: ${JSON.stringify(stdout)}`);
  return stdout
    .slice(0, -1)
    .split('\n')
    .map((line) => JSON.parse(line) as unknown);
}

function leafCommands(command: Command, path: string[] = []): [string, Command][] {
  if (command.commands.length === 0) return [[path.join(' '), command]];
  return command.commands.flatMap((sub) => leafCommands(sub, [...path, sub.name()]));
}

describe('--json', () => {
  let node: TestNode;
  let url: string[];

  before(async () => {
    node = await startTestNode();
    url = ['--url', node.url];
  });
  after(() => node.close());

  test('every command that prints a result has --json', () => {
    const program = buildProgram({
      io: {} as never,
      client: () => Promise.reject(new Error('unused')),
      setExitCode: () => {},
    });
    const leaves = leafCommands(program).filter(([path]) => !WITHOUT_JSON.has(path));
    assert.ok(leaves.length >= 9, leaves.map(([path]) => path).join(', '));
    for (const [path, command] of leaves) {
      assert.ok(
        command.options.some((option) => option.long === '--json'),
        `redex ${path} has --json`,
      );
    }
  });

  test('single results are one line; streams are one line per item', async () => {
    const created = await redex([...url, 'channel', 'create', 'j', '--memory', '--json']);
    assert.equal(created.code, 0, created.stderr);
    assert.equal(jsonLines(created.stdout).length, 1);

    const appended = await redex([...url, 'append', 'j', 'a', 'b', '--json']);
    assert.deepEqual(jsonLines(appended.stdout), [{ firstSeq: 0, lastSeq: 1, count: 2 }]);
    const piped = await redex([...url, 'append', 'j', '--batch', '1', '--json'], {
      stdin: 'c\nd\n',
    });
    assert.deepEqual(jsonLines(piped.stdout), [
      { firstSeq: 2, lastSeq: 2, count: 1 },
      { firstSeq: 3, lastSeq: 3, count: 1 },
    ]);

    for (const argv of [['channel', 'list'], ['channel', 'show', 'j'], ['status']]) {
      const result = await redex([...url, ...argv, '--json']);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(jsonLines(result.stdout).length, 1, argv.join(' '));
    }

    const read = await redex([...url, 'read', 'j', '--json']);
    const events = jsonLines(read.stdout) as { seq: number; payload: string }[];
    assert.deepEqual(
      events.map((event) => [event.seq, event.payload]),
      [
        [0, 'a'],
        [1, 'b'],
        [2, 'c'],
        [3, 'd'],
      ],
    );
    const older = await redex([...url, 'read', 'j', '--format', 'json']);
    assert.equal(older.stdout, read.stdout, '--format json is the same as --json');
    const tail = await redex([...url, 'tail', 'j', '--from', '2', '--count', '2', '--json']);
    assert.deepEqual(
      (jsonLines(tail.stdout) as { seq: number }[]).map((event) => event.seq),
      [2, 3],
    );
  });

  test('--json with --format base64 is a usage error', async () => {
    const result = await redex([...url, 'read', 'j', '--json', '--format', 'base64']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^redex: --json and --format base64 do not go together/);
  });

  test('certs print their files as one line', async () => {
    const dir = await tempDir('cli-json-certs');
    try {
      const init = await redex(['certs', 'init', '--dir', dir.path, '--json']);
      assert.deepEqual(Object.keys(jsonLines(init.stdout)[0] as object), ['certPath', 'keyPath']);
      const issue = await redex(['certs', 'issue', 'n1', '--dir', dir.path, '--json']);
      const [node1] = jsonLines(issue.stdout) as { name: string; nodeId: string }[];
      assert.equal(node1!.name, 'n1');
      assert.match(node1!.nodeId, /^[0-9a-f]{16}$/);
      const again = await redex(['certs', 'issue', 'n1', '--dir', dir.path]);
      assert.equal(again.code, 1);
      assert.match(
        again.stderr,
        /already exists; refusing to overwrite it \(--force replaces it\)\n$/,
      );
    } finally {
      await dir.remove();
    }
  });
});
