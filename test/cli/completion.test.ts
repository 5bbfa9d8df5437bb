// `redex completion bash|zsh`: the scripts are generated from the commander program, so they
// offer every command; the bash one is checked by bash itself (syntax, then real completions).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { buildProgram } from '../../src/cli/program.js';
import { tempDir } from '../node/helpers.js';
import { redex } from './helpers.js';

const run = promisify(execFile);

function topLevelCommands(): string[] {
  const program = buildProgram({
    io: {} as never,
    client: () => Promise.reject(new Error('unused')),
    setExitCode: () => {},
  });
  return program.commands.map((command) => command.name());
}

/** What the bash script completes for the typed `words` (the last one being completed). */
async function complete(script: string, words: readonly string[]): Promise<string[]> {
  const quoted = words.map((word) => `'${word}'`).join(' ');
  const { stdout } = await run('bash', [
    '-c',
    `source '${script}'; COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _redex_complete; printf '%s\\n' "\${COMPREPLY[@]}"`,
  ]);
  return stdout.split('\n').filter((line) => line !== '');
}

describe('redex completion', () => {
  test('bash accepts the script, and it completes commands, subcommands and options', async () => {
    const result = await redex(['completion', 'bash']);
    assert.equal(result.code, 0, result.stderr);
    const dir = await tempDir('completion');
    try {
      const script = join(dir.path, 'redex.bash');
      await writeFile(script, result.stdout);
      await run('bash', ['-n', script]);
      const commands = topLevelCommands();
      assert.ok(commands.includes('completion') && commands.includes('channel'));
      const top = await complete(script, ['redex', '']);
      for (const command of commands) assert.ok(top.includes(command), `offers ${command}`);
      assert.ok(top.includes('--url') && top.includes('--debug'));
      assert.deepEqual(await complete(script, ['redex', 'ch']), ['channel']);
      assert.deepEqual(await complete(script, ['redex', 'certs', '']), ['init', 'issue', '--help']);
      const issue = await complete(script, ['redex', 'certs', 'issue', 'n1', '--f']);
      assert.deepEqual(issue, ['--force']);
      const read = await complete(script, ['redex', '--url', 'http://x', 'read', 'ch', '--']);
      assert.ok(read.includes('--json') && read.includes('--from') && !read.includes('--url'));
    } finally {
      await dir.remove();
    }
  });

  test('the zsh script offers every command with its description', async () => {
    const result = await redex(['completion', 'zsh']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^#compdef redex\n/);
    assert.match(result.stdout, /\ncompdef _redex_complete redex\n$/);
    for (const command of topLevelCommands()) {
      assert.match(result.stdout, new RegExp(`'${command}:[^']+'`), command);
    }
  });

  test('another shell is a usage error', async () => {
    const result = await redex(['completion', 'fish']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^redex: completion: the shell must be bash or zsh/);
  });
});
