// `redex completion bash|zsh`: prints a completion script for the shell (src/cli/completion.ts).

import type { Command } from 'commander';
import { COMPLETION_SHELLS, type CompletionShell, completionScript } from '../completion.js';
import type { CommandContext } from '../context.js';
import { CliError, ExitCode } from '../errors.js';

export function registerCompletion(program: Command, ctx: CommandContext): void {
  program
    .command('completion')
    .description(
      'print a shell completion script: source <(redex completion bash), or zsh after compinit',
    )
    .argument('<shell>', COMPLETION_SHELLS.join(' or '))
    .action((shell: string) => {
      if (!(COMPLETION_SHELLS as readonly string[]).includes(shell)) {
        throw new CliError(
          `completion: the shell must be ${COMPLETION_SHELLS.join(' or ')}, got ${JSON.stringify(shell)}`,
          ExitCode.Usage,
        );
      }
      ctx.io.stdout.write(completionScript(program, shell as CompletionShell));
    });
}
