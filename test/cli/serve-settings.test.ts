// `redex serve` settings: flags over REDEX_* variables over the config file over defaults; no
// config file needed for a single node; errors name the flag or variable and its value.

import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CliError } from '../../src/cli/errors.js';
import {
  DEFAULT_NODE_NAME,
  pickSettings,
  resolveServeConfig,
  SERVE_SETTINGS,
  withoutServeSettings,
} from '../../src/cli/serve-settings.js';
import { NodeConfigError } from '../../src/node/errors.js';
import { tempDir, withTimeout } from '../node/helpers.js';
import { RedexProcess, redex } from './helpers.js';

const SERVING = /redex: node (\S+) serving (http:\/\/127\.0\.0\.1:\d+) \(data in (.+)\)\n/;

async function configFile(dir: string): Promise<string> {
  const path = join(dir, 'node.json');
  await writeFile(
    path,
    JSON.stringify({
      node: 'from-file',
      dataDir: 'file-data',
      http: { listen: '127.0.0.1:7001', hosts: ['redex.example'] },
      logLevel: 'warn',
    }),
  );
  return path;
}

describe('serve settings', () => {
  test('precedence: flag > environment > config file > default', async () => {
    const dir = await tempDir('settings');
    try {
      const config = await configFile(dir.path);
      const fromFile = await resolveServeConfig(pickSettings({ config }, {}), '/cwd');
      assert.equal(fromFile.node, 'from-file');
      assert.equal(fromFile.dataDir, join(dir.path, 'file-data'), 'relative to the file');
      assert.deepEqual(fromFile.http.listen, { host: '127.0.0.1', port: 7001 });
      assert.equal(fromFile.logLevel, 'warn');

      const env = {
        REDEX_CONFIG: config,
        REDEX_LISTEN: '127.0.0.1:7002',
        REDEX_DATA_DIR: 'env-data',
        REDEX_LOG_LEVEL: 'error',
        REDEX_NODE: 'from-env',
      };
      const fromEnv = await resolveServeConfig(pickSettings({}, env), '/cwd');
      assert.equal(fromEnv.node, 'from-env');
      assert.equal(fromEnv.dataDir, '/cwd/env-data', 'relative to the working directory');
      assert.deepEqual(fromEnv.http.listen, { host: '127.0.0.1', port: 7002 });
      assert.deepEqual(fromEnv.http.hosts, ['redex.example'], 'the rest of http is kept');
      assert.equal(fromEnv.logLevel, 'error');

      const fromFlags = await resolveServeConfig(
        pickSettings(
          {
            listen: '[::1]:7003',
            dataDir: '/srv/flag-data',
            logLevel: 'debug',
            node: 'from-flag',
          },
          env,
        ),
        '/cwd',
      );
      assert.equal(fromFlags.node, 'from-flag');
      assert.equal(fromFlags.dataDir, '/srv/flag-data');
      assert.deepEqual(fromFlags.http.listen, { host: '::1', port: 7003 });
      assert.equal(fromFlags.logLevel, 'debug');
    } finally {
      await dir.remove();
    }
  });

  test('without a config file: a single node from the flags, with defaults', async () => {
    const config = await resolveServeConfig(pickSettings({ dataDir: 'data' }, {}), '/cwd');
    assert.equal(config.node, DEFAULT_NODE_NAME);
    assert.equal(config.dataDir, '/cwd/data');
    assert.deepEqual(config.http.listen, { host: '127.0.0.1', port: 7070 });
    assert.equal(config.logLevel, 'info');
    assert.deepEqual(config.members, []);
    assert.deepEqual(config.channels, []);
  });

  test('an empty variable counts as unset; every setting has a flag and a variable', () => {
    assert.deepEqual(pickSettings({}, { REDEX_LISTEN: '' }), {});
    // The demo starts its nodes without the operator's serve variables.
    assert.deepEqual(
      withoutServeSettings({ PATH: '/bin', REDEX_LISTEN: '0.0.0.0:1', REDEX_URL: 'http://x' }),
      { PATH: '/bin', REDEX_URL: 'http://x' },
    );
    assert.deepEqual(
      SERVE_SETTINGS.map((setting) => setting.env),
      ['REDEX_CONFIG', 'REDEX_LISTEN', 'REDEX_DATA_DIR', 'REDEX_LOG_LEVEL', 'REDEX_NODE'],
    );
  });

  test('errors name the flag or the variable and the value', async () => {
    const cases: [Record<string, string>, Record<string, string>, RegExp][] = [
      [{ listen: 'nowhere' }, {}, /^--listen "nowhere": http\.listen must be "host:port"/],
      [
        {},
        { REDEX_LISTEN: '127.0.0.1:99999' },
        /^REDEX_LISTEN="127\.0\.0\.1:99999": http\.listen has port 99999/,
      ],
      [{ listen: '0.0.0.0:7070' }, {}, /^--listen "0\.0\.0\.0:7070": .*not a loopback address/],
      [{ logLevel: 'loud' }, {}, /^--log-level "loud": logLevel must be one of fatal, error/],
      [{}, { REDEX_LOG_LEVEL: 'loud' }, /^REDEX_LOG_LEVEL="loud": logLevel must be one of/],
      [{}, { REDEX_NODE: 'Bad_Name' }, /^REDEX_NODE="Bad_Name": node must be a DNS label/],
      [{ node: '-x' }, {}, /^--node "-x": node must be a DNS label/],
    ];
    for (const [flags, env, expected] of cases) {
      await assert.rejects(
        resolveServeConfig(pickSettings({ dataDir: '/data', ...flags }, env), '/cwd'),
        (error: CliError) => {
          assert.ok(error instanceof CliError, String(error));
          assert.equal(error.exitCode, 2);
          assert.match(error.message, expected);
          return true;
        },
      );
    }
    await assert.rejects(
      resolveServeConfig(pickSettings({}, { REDEX_CONFIG: '/no/such/redex.json' }), '/cwd'),
      (error: NodeConfigError) =>
        error instanceof NodeConfigError &&
        /\/no\/such\/redex\.json cannot be read/.test(error.message),
    );
    const usage = await redex(['serve', '--listen', 'nowhere', '--data-dir', '/tmp/x']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /^redex: --listen "nowhere": http\.listen must be "host:port"/);
  });

  test('serve without a config file runs a single node from flags and REDEX_* variables', async () => {
    const dir = await tempDir('serve-flags');
    const child = new RedexProcess(['serve', '--listen', '127.0.0.1:0', '--node', 'flagged'], {
      REDEX_DATA_DIR: join(dir.path, 'data'),
      REDEX_LOG_LEVEL: 'warn',
    });
    try {
      const [, name, url, dataDir] = await child.waitForStdout(SERVING, 'the node serving');
      assert.equal(name, 'flagged');
      assert.equal(dataDir, join(dir.path, 'data'));
      const health = await fetch(`${url}/healthz`);
      assert.equal(health.status, 200);
      child.child.kill('SIGTERM');
      const exit = await withTimeout(child.exited, 'serve exits after SIGTERM', 30_000);
      assert.deepEqual(exit, { code: 0, signal: null }, child.stderr);
    } finally {
      child.child.kill('SIGKILL');
      await dir.remove();
    }
  });
});
