// Expected failures print one line, `redex: <what>`, and exit non-zero; a stack trace only with
// --debug or REDEX_DEBUG=1.

import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { describeFailure } from '../../src/cli/errors.js';
import { tempDir } from '../node/helpers.js';
import { redex } from './helpers.js';

const STACK_LINE = /\n\s+at /;

function oneLine(stderr: string): void {
  assert.equal(stderr.split('\n').filter((line) => line !== '').length, 1, stderr);
  assert.doesNotMatch(stderr, STACK_LINE);
}

describe('CLI errors', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let holder: Server;
  let port = 0;
  let config = '';

  before(async () => {
    dir = await tempDir('cli-errors');
    holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    port = (holder.address() as { port: number }).port;
    config = join(dir.path, 'node.json');
    await writeFile(
      config,
      JSON.stringify({
        node: 'n1',
        dataDir: join(dir.path, 'data'),
        http: { listen: `127.0.0.1:${port}` },
        logLevel: 'error',
      }),
    );
  });

  after(async () => {
    await new Promise((resolve) => holder.close(resolve));
    await dir.remove();
  });

  it('a port in use is one line naming the address', async () => {
    const result = await redex(['serve', '--config', config]);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      new RegExp(`^redex: cannot listen on 127\\.0\\.0\\.1:${port}: it is already in use`),
    );
    oneLine(result.stderr);
  });

  it('--debug and REDEX_DEBUG=1 add the stack trace', async () => {
    const flag = await redex(['--debug', 'serve', '--config', config]);
    assert.equal(flag.code, 1);
    assert.match(flag.stderr, STACK_LINE);
    const env = await redex(['serve', '--config', config], { env: { REDEX_DEBUG: '1' } });
    assert.equal(env.code, 1);
    assert.match(env.stderr, STACK_LINE);
  });

  it('a missing config file, an unreachable node and a missing CA are one line each', async () => {
    const missing = await redex(['serve', '--config', join(dir.path, 'nope.json')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^redex: node config: .*nope\.json cannot be read/);
    oneLine(missing.stderr);

    const unreachable = await redex(['status', '--url', 'http://127.0.0.1:1']);
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, /^redex: cannot reach the node at http:\/\/127\.0\.0\.1:1/);
    oneLine(unreachable.stderr);

    const noCa = await redex(['certs', 'issue', 'n1', '--dir', join(dir.path, 'no-certs')]);
    assert.equal(noCa.code, 1);
    assert.match(noCa.stderr, /^redex: .*ca\.crt does not exist/);
    oneLine(noCa.stderr);
  });

  it('system errors read as what went wrong; anything else is flagged unexpected', () => {
    const denied = Object.assign(new Error('EACCES: permission denied, open /x'), {
      code: 'EACCES',
      syscall: 'open',
      path: '/x',
    });
    assert.deepEqual(describeFailure(denied), {
      message: 'permission denied: open /x',
      expected: true,
    });
    assert.deepEqual(describeFailure(new TypeError('x is not a function')), {
      message: 'x is not a function',
      expected: false,
    });
  });
});
