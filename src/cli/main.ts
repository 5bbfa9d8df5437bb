#!/usr/bin/env node
// The `redex` command. Today it only reports its version and help; the certificate, channel and
// cluster commands arrive with the daemon (see the README's roadmap).

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const USAGE = `Usage: redex [--help] [--version]

RedEX: a per-channel, append-only event log with replication.
This release ships the library; the daemon and its commands (serve, certs,
append, read, tail, status, demo) are not in this version yet.`;

function version(): string {
  const packageJson = JSON.parse(
    readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
  ) as {
    version: string;
  };
  return packageJson.version;
}

export function main(argv: string[]): number {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      options: { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'v' } },
      allowPositionals: true,
    });
  } catch (error) {
    console.error(`redex: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (parsed.values.version) {
    console.log(version());
    return 0;
  }
  if (parsed.values.help || parsed.positionals.length === 0) {
    console.log(USAGE);
    return 0;
  }
  console.error(`redex: unknown command '${parsed.positionals[0]}'\n\n${USAGE}`);
  return 2;
}

process.exitCode = main(process.argv.slice(2));
