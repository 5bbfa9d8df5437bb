// The safety rules the simulation must be able to catch when broken, each as one rewrite of one
// source file at load time (hooks.mjs). `npm run dst -- --mutation NAME` runs the swarm with one
// of them; every seed that fails is a seed that caught it.
//
// Patterns match tsx's emitted JavaScript (minified whitespace, no types), so they allow any
// spacing; a pattern that stops matching fails the run rather than testing nothing.

import { register } from 'node:module';
import { setTimeout as delay } from 'node:timers/promises';
import { MessageChannel } from 'node:worker_threads';

export interface Mutation {
  readonly name: string;
  readonly description: string;
  /** Path suffix of the source file to rewrite. */
  readonly file: string;
  /** Regular expression (source text) matching the code to break; must match exactly once. */
  readonly find: string;
  readonly replace: string;
}

export const MUTATIONS: readonly Mutation[] = [
  {
    name: 'figure8',
    description:
      'a leader counts a majority for entries of earlier epochs (the figure-8 rule is off)',
    file: 'src/replication/quorum/commit.ts',
    find: String.raw`if\s*\(\s*majorityHeld\s*>\s*input\.epochStartSeq\s*\)`,
    replace: 'if (true)',
  },
  {
    name: 'vote-persistence',
    description:
      'a vote is kept in memory only, so a node that restarts can vote twice in an epoch',
    file: 'src/log/disk/quorum-state.ts',
    find: String.raw`(saveVote\s*\([^]*?checkNewVote\([^]*?)await\s+this\.#write\(\s*\(\)\s*=>\s*this\.#writeVote\(\s*loaded\s*,\s*next\s*\)\s*\)`,
    replace: '$1loaded.vote = next',
  },
  {
    name: 'fetch-epoch',
    description:
      'a leader serves every fetch without comparing epochs (no Diverged, no truncation)',
    file: 'src/replication/quorum/fetch-check.ts',
    find: String.raw`if\s*\(\s*sinceSeq\s*<=\s*0\s*\|\|\s*lastFetchedEpoch\s*===\s*UNKNOWN_EPOCH\s*\)\s*return\s+MATCH\s*;`,
    replace: 'return MATCH;',
  },
];

export function mutationNamed(name: string): Mutation | undefined {
  return MUTATIONS.find((mutation) => mutation.name === name);
}

/** How long to wait for the hook's word that it rewrote the file (it comes from another thread). */
const APPLIED_WAIT_MS = 2_000;

/**
 * Registers the rewrite for every module loaded from now on; import the code under test
 * dynamically afterwards. `applied()` resolves true once the target file was rewritten, false if
 * that was not heard of in time (the file was never loaded).
 */
export function installMutation(mutation: Mutation): { applied: () => Promise<boolean> } {
  const { port1, port2 } = new MessageChannel();
  const rewritten = new Promise<boolean>((resolve) => port1.once('message', () => resolve(true)));
  port1.unref();
  const { name, file, find, replace } = mutation;
  register('./hooks.mjs', import.meta.url, {
    data: { mutation: { name, file, find, replace }, port: port2 },
    transferList: [port2],
  });
  return {
    applied: () =>
      Promise.race([rewritten, delay(APPLIED_WAIT_MS, false, { ref: false }) as Promise<boolean>]),
  };
}
