// `redex certs init|issue`: the cluster CA and node certificates (src/mesh/certs.ts does the
// work). The mesh module is loaded only when a certs command runs, so the other commands never
// pay for the X.509 library, and a mesh that fails to load breaks only these two commands.

import type { Command } from 'commander';
import { MeshError, MeshErrorReason } from '../../mesh/errors.js';
import type { CommandContext } from '../context.js';
import { intOption } from '../context.js';
import { CliError, ExitCode } from '../errors.js';
import { jsonLine } from '../format.js';

type CertsModule = typeof import('../../mesh/certs.js');

async function loadCerts(): Promise<CertsModule> {
  try {
    return await import('../../mesh/certs.js');
  } catch (error) {
    throw new CliError(
      `certificates come with the mesh, and its certificate module did not load: ${(error as Error).message}`,
    );
  }
}

/** The library names its `force` option; on the command line that is `--force`. */
async function withForceHint<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (error instanceof MeshError && error.reason === MeshErrorReason.CertExists) {
      throw new CliError(
        `${error.message.replace(/^redex: mesh: /, '').replace(/ \(pass \{ force: true \} to replace it\)$/, '')} (--force replaces it)`,
      );
    }
    throw error;
  }
}

interface JsonOption {
  json?: boolean;
}

export const CERTS_DIR_DEFAULT = 'certs';

export function registerCerts(program: Command, ctx: CommandContext): void {
  const certs = program
    .command('certs')
    .description('make the cluster CA and node certificates (Ed25519)');

  certs
    .command('init')
    .description('create the cluster CA: DIR/ca.crt and DIR/ca.key (0600; keep it off the nodes)')
    .option('--dir <dir>', 'certificate directory', CERTS_DIR_DEFAULT)
    .option('--days <n>', 'validity in days (default 3650)')
    .option('--force', 'overwrite an existing CA (every node certificate must then be reissued)')
    .option('--json', 'print {"certPath", "keyPath"} as one line of JSON')
    .action(async (options: { dir: string; days?: string; force?: boolean } & JsonOption) => {
      const { initCa } = await loadCerts();
      const days = intOption('--days', options.days, 1);
      const written = await withForceHint(() =>
        initCa(options.dir, {
          force: options.force === true,
          ...(days === undefined ? {} : { validityDays: days }),
        }),
      );
      ctx.io.stdout.write(
        options.json
          ? jsonLine({ certPath: written.certPath, keyPath: written.keyPath })
          : `created the cluster CA: ${written.certPath} and ${written.keyPath}\n`,
      );
    });

  certs
    .command('issue')
    .description(
      "issue a node's key and certificate signed by the CA: DIR/NAME.crt and DIR/NAME.key",
    )
    .argument('<name>', 'node name (a DNS label: a-z, 0-9, -), the same as "node" in its config')
    .option('--dir <dir>', 'certificate directory holding the CA', CERTS_DIR_DEFAULT)
    .option('--host <host...>', 'IP addresses or DNS names the node is reached at (SAN entries)')
    .option('--days <n>', 'validity in days (default 397)')
    .option('--force', 'overwrite existing files for this name')
    .option(
      '--client',
      'an API client certificate (clientAuth only; the mesh refuses it): list NAME in http.clientNames',
    )
    .option(
      '--json',
      'print {"name", "client", "nodeId", "certPath", "keyPath"} as one line of JSON (nodeId null for --client)',
    )
    .action(
      async (
        name: string,
        options: {
          dir: string;
          host?: string[];
          days?: string;
          force?: boolean;
          client?: boolean;
        } & JsonOption,
      ) => {
        const { issueClientCert, issueNodeCert } = await loadCerts();
        const days = intOption('--days', options.days, 1);
        if (name.startsWith('-'))
          throw new CliError(`node name ${name} looks like an option`, ExitCode.Usage);
        if (options.client === true) {
          if (options.host !== undefined) {
            throw new CliError(
              '--host names a node; a client certificate has none',
              ExitCode.Usage,
            );
          }
          const client = await withForceHint(() =>
            issueClientCert(options.dir, name, {
              force: options.force === true,
              ...(days === undefined ? {} : { validityDays: days }),
            }),
          );
          if (options.json) {
            const { certPath, keyPath } = client;
            ctx.io.stdout.write(jsonLine({ name, client: true, nodeId: null, certPath, keyPath }));
            return;
          }
          ctx.io.stdout.write(
            `issued client ${name}: ${client.certPath} and ${client.keyPath}\nAdd "${name}" to http.clientNames of the nodes it may call\n`,
          );
          return;
        }
        const written = await withForceHint(() =>
          issueNodeCert(options.dir, name, {
            force: options.force === true,
            hosts: options.host ?? [],
            ...(days === undefined ? {} : { validityDays: days }),
          }),
        );
        const nodeId = written.nodeId.toString(16).padStart(16, '0');
        if (options.json) {
          const { certPath, keyPath } = written;
          ctx.io.stdout.write(jsonLine({ name, client: false, nodeId, certPath, keyPath }));
          return;
        }
        ctx.io.stdout.write(
          `issued ${name}: ${written.certPath} and ${written.keyPath}\nNodeId ${nodeId} (put it in the members list as "nodeId": "${nodeId}")\n`,
        );
      },
    );
}
