// `redex demo [--drill]`: a local three-node cluster (issue 9). It needs `redex serve` to run the
// mesh and the replication runtime; until it does, the command says so and points at what works.

import type { Command } from 'commander';
import { CliError } from '../errors.js';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'run a local three-node cluster with a steady writer and the dashboard (needs the mesh)',
    )
    .option(
      '--drill',
      'kill the leader, measure the failover, restart it and verify nothing was lost',
    )
    .action(async () => {
      throw new CliError(
        'the demo runs three replicating nodes and needs the mesh, which redex serve does not run yet. Today a single node works: `redex serve --config node.json` (docs/OPERATIONS.md), then open its URL for the dashboard; `npm run example:cluster` shows replication in one process.',
      );
    });
}
