// What `redex serve` runs with: the config file (if any) with flags and REDEX_* environment
// variables laid over it. Precedence: flag > environment > config file > default. Without a
// config file the flags alone describe a single node (a data directory is then required). The
// merged JSON goes through the same validation as a config file; an error about a field that a
// flag or a variable set names that flag or variable and its value, not the JSON field.

import { resolve } from 'node:path';
import {
  type NodeConfig,
  parseNodeConfig,
  readNodeConfigJson,
  withTokenFile,
} from '../node/config.js';
import { NodeConfigError } from '../node/errors.js';
import { isPlainObject } from '../node/validate.js';
import { CliError, ExitCode } from './errors.js';

/** The node name when neither a flag, a variable nor a config file gives one. */
export const DEFAULT_NODE_NAME = 'redex';

export const SERVE_SETTINGS = [
  { key: 'config', flag: '--config', env: 'REDEX_CONFIG', field: null },
  { key: 'listen', flag: '--listen', env: 'REDEX_LISTEN', field: 'http.listen' },
  { key: 'dataDir', flag: '--data-dir', env: 'REDEX_DATA_DIR', field: 'dataDir' },
  { key: 'logLevel', flag: '--log-level', env: 'REDEX_LOG_LEVEL', field: 'logLevel' },
  { key: 'node', flag: '--node', env: 'REDEX_NODE', field: 'node' },
] as const;

export type ServeSettingKey = (typeof SERVE_SETTINGS)[number]['key'];
export type ServeFlags = Partial<Record<ServeSettingKey, string>>;

/** One setting's value and where it came from (`--listen` or `REDEX_LISTEN`). */
export interface SourcedValue {
  readonly value: string;
  readonly source: string;
}

export type PickedSettings = Partial<Record<ServeSettingKey, SourcedValue>>;

/**
 * `env` without the variables `serve` reads: for a parent (the demo) that starts nodes from
 * config files of its own, which a REDEX_LISTEN in the operator's shell must not override.
 */
export function withoutServeSettings(
  env: Readonly<Record<string, string | undefined>>,
): Record<string, string | undefined> {
  const copy = { ...env };
  for (const setting of SERVE_SETTINGS) delete copy[setting.env];
  return copy;
}

/** Flags over environment variables; an empty variable counts as unset. */
export function pickSettings(
  flags: ServeFlags,
  env: Readonly<Record<string, string | undefined>>,
): PickedSettings {
  const picked: PickedSettings = {};
  for (const setting of SERVE_SETTINGS) {
    const flag = flags[setting.key];
    const variable = env[setting.env];
    if (flag !== undefined) picked[setting.key] = { value: flag, source: setting.flag };
    else if (variable !== undefined && variable !== '') {
      picked[setting.key] = { value: variable, source: setting.env };
    }
  }
  return picked;
}

function describeSource(picked: SourcedValue): string {
  const separator = picked.source.startsWith('--') ? ' ' : '=';
  return `${picked.source}${separator}${JSON.stringify(picked.value)}`;
}

/**
 * The config file's JSON (or `{}` without one) with the picked settings laid over it. A data
 * directory from a flag or variable is resolved against `cwd`, not the config file's directory.
 */
export function overlaySettings(
  base: unknown,
  picked: PickedSettings,
  cwd: string,
): Record<string, unknown> {
  const root: Record<string, unknown> = isPlainObject(base) ? { ...base } : {};
  if (picked.node) root.node = picked.node.value;
  if (picked.dataDir) root.dataDir = resolve(cwd, picked.dataDir.value);
  if (picked.logLevel) root.logLevel = picked.logLevel.value;
  if (picked.listen) {
    const http = isPlainObject(root.http) ? root.http : {};
    root.http = { ...http, listen: picked.listen.value };
  }
  return root;
}

/** Reads the config file (if one is picked), overlays the settings and validates the result. */
export async function resolveServeConfig(picked: PickedSettings, cwd: string): Promise<NodeConfig> {
  let base: unknown = {};
  let baseDir = cwd;
  if (picked.config) {
    const read = await readNodeConfigJson(resolve(cwd, picked.config.value));
    base = read.json;
    baseDir = read.baseDir;
  } else {
    if (!picked.dataDir) {
      throw new CliError(
        'serve needs a data directory: give --data-dir DIR (or REDEX_DATA_DIR), or a config file with --config FILE (or REDEX_CONFIG)',
        ExitCode.Usage,
      );
    }
    base = { node: DEFAULT_NODE_NAME };
  }
  const json = overlaySettings(base, picked, cwd);
  let config: NodeConfig;
  try {
    config = parseNodeConfig(json, { baseDir });
  } catch (error) {
    throw blameSetting(error, picked);
  }
  return withTokenFile(config);
}

/** A config error about a field a flag or variable set, reworded to name that flag or variable. */
function blameSetting(error: unknown, picked: PickedSettings): unknown {
  if (!(error instanceof NodeConfigError)) return error;
  for (const setting of SERVE_SETTINGS) {
    const value = picked[setting.key];
    if (value === undefined || setting.field !== error.field) continue;
    const prefix = `redex: node config: ${setting.field} `;
    const reason = error.message.startsWith(prefix)
      ? error.message.slice(prefix.length)
      : error.message;
    return new CliError(`${describeSource(value)}: ${setting.field} ${reason}`, ExitCode.Usage);
  }
  return error;
}
