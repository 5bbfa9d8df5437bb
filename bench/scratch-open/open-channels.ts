// Times opening N persistent channels in one process (issue 17: opening channels in bulk).
// Creates them in a fresh directory, closes them, then reopens them, with `openMany` as
// bench/channels does (64 in flight; run with UV_THREADPOOL_SIZE=64). The replication layer is not
// started: after each open the script does what attaching it does to the storage (load the quorum
// state, mark it open), so the file-system work per channel is the same.
//
//   UV_THREADPOOL_SIZE=64 npx tsx bench/scratch-open/open-channels.ts [count=1000] [dir]
//   strace -f -c -e trace=fsync,fdatasync … (fsyncs per channel: divide by count)

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openMany } from '../../src/log/open-many.js';
import { Redex } from '../../src/log/redex.js';
import type { RedexFile } from '../../src/log/redex-file.js';

const count = Number(process.argv[2] ?? 1000);
const given = process.argv[3];
const dir = given ?? (await mkdtemp(join(tmpdir(), 'redex-open-')));
const phases = (process.env.PHASES ?? 'create,reopen').split(',');
const specs = Array.from({ length: count }, (_, i) => ({
  name: `many/c${i}`,
  config: { persistent: true, fsync: 'never' as const },
}));

async function openAll(label: string): Promise<void> {
  const redex = new Redex({ dir });
  const t0 = performance.now();
  const files = await openMany(redex, specs, { concurrency: 64 });
  const opened = performance.now();
  await runBounded(files, async (file) => {
    await file.quorumState.load(file.nextSeq);
    await file.openQuorumState();
  });
  const t1 = performance.now();
  console.log(
    `${label}: ${count} channels in ${(t1 - t0).toFixed(0)} ms (${((t1 - t0) / count).toFixed(2)} ms each; storage ${(opened - t0).toFixed(0)} ms, quorum state ${(t1 - opened).toFixed(0)} ms)`,
  );
  const c0 = performance.now();
  // A replicated channel marks a clean shutdown as it closes; the next open clears the mark.
  await runBounded(files, async (file) => {
    await file.quorumState.markCleanShutdown();
    await file.close();
  });
  console.log(`  close: ${(performance.now() - c0).toFixed(0)} ms`);
}

async function runBounded(files: RedexFile[], body: (file: RedexFile) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < files.length) await body(files[next++]!);
  };
  await Promise.all(Array.from({ length: 64 }, worker));
}

for (const phase of phases) await openAll(phase);
if (given === undefined) await rm(dir, { recursive: true, force: true });
