// deploy/redex.service: it parses (systemd-analyze verify when the machine has it, a key check
// always), carries the hardening and stop settings docs/OPERATIONS.md describes, and its
// ExecStart command line is one the CLI accepts.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { SHUTDOWN_TIMEOUT_MS } from '../../src/cli/commands/serve.js';
import { redex } from '../cli/helpers.js';

const UNIT_PATH = 'deploy/redex.service';

type Unit = Map<string, Map<string, string[]>>;

/** A small parser of the unit-file syntax: sections, `Key=value` lines, comments. */
function parseUnit(text: string): Unit {
  const unit: Unit = new Map();
  let section: Map<string, string[]> | null = null;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    const header = /^\[([A-Za-z]+)\]$/.exec(line);
    if (header) {
      section = new Map();
      unit.set(header[1]!, section);
      return;
    }
    const pair = /^([A-Za-z]+)=(.*)$/.exec(line);
    assert.ok(pair && section, `line ${index + 1} is neither a section nor Key=value: ${raw}`);
    const values = section.get(pair[1]!) ?? [];
    values.push(pair[2]!);
    section.set(pair[1]!, values);
  });
  return unit;
}

function value(unit: Unit, section: string, key: string): string | undefined {
  return unit.get(section)?.get(key)?.at(-1);
}

/** systemd's time spans as used here: `45s`, `2min`, or bare seconds. */
function seconds(span: string): number {
  const match = /^(\d+)\s*(s|sec|min)?$/.exec(span);
  assert.ok(match, `cannot read the time span ${span}`);
  return Number(match[1]) * (match[2] === 'min' ? 60 : 1);
}

describe('deploy/redex.service', () => {
  test('has the sections, the hardening and the stop settings', async () => {
    const unit = parseUnit(await readFile(UNIT_PATH, 'utf8'));
    assert.deepEqual([...unit.keys()], ['Unit', 'Service', 'Install']);
    const expected: [string, string][] = [
      ['User', 'redex'],
      ['StateDirectory', 'redex'],
      ['ProtectSystem', 'strict'],
      ['ProtectHome', 'yes'],
      ['PrivateTmp', 'yes'],
      ['NoNewPrivileges', 'yes'],
      ['RestrictAddressFamilies', 'AF_INET AF_INET6 AF_UNIX'],
      ['Restart', 'on-failure'],
      ['KillSignal', 'SIGTERM'],
      ['CapabilityBoundingSet', ''],
    ];
    for (const [key, wanted] of expected) assert.equal(value(unit, 'Service', key), wanted, key);
    assert.ok(Number(value(unit, 'Service', 'LimitNOFILE')) >= 65_536, 'LimitNOFILE');
    // Longer than the node's own stop limit, so systemd never kills a stop that is on time.
    const stopSeconds = seconds(value(unit, 'Service', 'TimeoutStopSec') ?? '');
    assert.ok(stopSeconds > SHUTDOWN_TIMEOUT_MS / 1000, `TimeoutStopSec ${stopSeconds}`);
    // V8's JIT needs memory that is writable and then executable.
    assert.equal(value(unit, 'Service', 'MemoryDenyWriteExecute'), undefined);
    assert.equal(value(unit, 'Install', 'WantedBy'), 'multi-user.target');
  });

  test('systemd-analyze verify accepts it without a warning', async (t) => {
    const probe = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
    if (probe.error !== undefined || probe.status !== 0) {
      t.skip('systemd-analyze is not installed');
      return;
    }
    const dir = await mkdtemp(join(tmpdir(), 'redex-unit-'));
    try {
      // verify insists that the program exists; this machine has node, not /usr/bin/redex.
      const text = (await readFile(UNIT_PATH, 'utf8')).replace('/usr/bin/redex', process.execPath);
      const path = join(dir, 'redex.service');
      await writeFile(path, text);
      const result = spawnSync('systemd-analyze', ['verify', path], { encoding: 'utf8' });
      assert.equal(result.status, 0, result.stderr);
      // It exits 0 on unknown keys and bad values too, with a warning naming the file.
      assert.doesNotMatch(`${result.stdout}${result.stderr}`, /redex\.service/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('the ExecStart command line is accepted by the CLI', async (t) => {
    const unit = parseUnit(await readFile(UNIT_PATH, 'utf8'));
    const [program, ...argv] = (value(unit, 'Service', 'ExecStart') ?? '').split(/\s+/);
    assert.equal(program, '/usr/bin/redex');
    assert.deepEqual(argv.slice(0, 1), ['serve']);
    const configPath = argv[argv.indexOf('--config') + 1]!;
    if (existsSync(configPath)) {
      t.skip(`${configPath} exists on this machine; the CLI would start a node`);
      return;
    }
    // The options parse: the run gets as far as reading the config file, which is not here.
    const result = await redex(argv);
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      new RegExp(`^redex: node config: \\(file\\) ${configPath} cannot be read`),
    );
  });
});
