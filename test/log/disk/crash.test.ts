// Kill -9 at random moments: every append the child saw resolve (under fsync 'always') must be on
// disk with its payload after reopening, and appends must continue at the right seq.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Redex } from '../../../src/log/redex.js';
import { SeededRandom } from '../../../src/time/random.js';
import { payloadOf } from './fixtures/payload.js';
import { tempDir } from './helpers.js';

const CHILD = fileURLToPath(new URL('./fixtures/append-forever.ts', import.meta.url));
const ROUNDS = 12;
const SEED = Number(process.env.REDEX_CRASH_SEED ?? 20261126);

/** Runs the child until it has acknowledged `killAfter` appends, then SIGKILLs it. */
function runAndKill(dir: string, killAfter: number): Promise<Map<number, string>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, '4'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const acknowledged = new Map<number, string>();
    let killed = false;
    const guard = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child did not acknowledge ${killAfter} appends in 60 s`));
    }, 60_000);
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith('ready') || killed) return;
      const [seq, label] = line.split(' ');
      acknowledged.set(Number(seq), label!);
      if (acknowledged.size >= killAfter) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('exit', (_code, signal) => {
      clearTimeout(guard);
      if (signal !== 'SIGKILL') reject(new Error(`child exited on its own (${signal ?? _code})`));
      else resolve(acknowledged);
    });
  });
}

test(`SIGKILL during fsync-always appends loses nothing acknowledged (${ROUNDS} rounds, seed ${SEED})`, {
  timeout: 300_000,
}, async () => {
  const random = new SeededRandom(SEED);
  const dir = tempDir();
  const expected = new Map<number, string>();
  let nextSeq = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const acknowledged = await runAndKill(dir, 1 + random.nextInt(300));
    for (const [seq, label] of acknowledged) expected.set(seq, label);

    const redex = new Redex({ dir });
    const file = await redex.openFile('crash/test', { persistent: true, fsync: 'always' });
    assert.ok(file.nextSeq >= nextSeq, `round ${round}: the log never shrinks`);
    for (const [seq, label] of expected) {
      const event = await file.readOne(seq);
      assert.ok(
        event !== null,
        `round ${round}: acknowledged seq ${seq} is missing (seed ${SEED})`,
      );
      assert.deepEqual(
        event.payload,
        payloadOf(label),
        `round ${round}: seq ${seq} has the wrong payload`,
      );
    }
    // Every retained record reads back clean, and appends continue right after the last one.
    const all = await file.readRange(0, file.nextSeq);
    assert.equal(all.length, file.nextSeq);
    nextSeq = file.nextSeq;
    assert.equal(await file.append(payloadOf(`parent-${round}`)), nextSeq);
    expected.set(nextSeq, `parent-${round}`);
    nextSeq++;
    await redex.close();
  }
});
