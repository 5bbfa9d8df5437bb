import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import type { RedexFileConfig } from '../../../src/log/config.js';
import { type FileSystem, nodeFileSystem } from '../../../src/log/disk/fs.js';
import { DiskQuorumState } from '../../../src/log/disk/quorum-state.js';
import { Redex } from '../../../src/log/redex.js';
import type { RedexFile } from '../../../src/log/redex-file.js';
import { VirtualClock } from '../../../src/time/virtual-clock.js';

const made: string[] = [];
after(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A fresh directory, removed when the test file ends. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'redex-test-'));
  made.push(dir);
  return dir;
}

export const CHANNEL = 'orders/audit';

export function storeDir(root: string, channel = CHANNEL): string {
  return join(root, ...channel.split('/'), '@redex');
}

export async function openPersistent(
  dir: string,
  config: RedexFileConfig = {},
  options: { fs?: FileSystem; clock?: VirtualClock; channel?: string } = {},
): Promise<{ redex: Redex; file: RedexFile; clock: VirtualClock }> {
  const clock = options.clock ?? new VirtualClock();
  const redex = new Redex({ dir, clock, ...(options.fs ? { fs: options.fs } : {}) });
  const file = await redex.openFile(options.channel ?? CHANNEL, { persistent: true, ...config });
  return { redex, file, clock };
}

/** Payload of event number `index`: varied lengths, including empty. */
export function payloadFor(index: number, length = (index * 37) % 300): Uint8Array {
  const payload = new Uint8Array(length);
  for (let i = 0; i < length; i++) payload[i] = (index * 131 + i * 7) & 0xff;
  return payload;
}

export async function readAll(file: RedexFile): Promise<{ seq: number; payload: Uint8Array }[]> {
  return (await file.readRange(0, file.nextSeq)).map(({ seq, payload }) => ({
    seq,
    payload: payload.slice(),
  }));
}

/** A `nextSeq` far past any test's history: loading with it drops no epoch. */
export const FAR = 1_000_000;

/** A quorum-state store in a new directory, loaded. */
export async function freshQuorumState(fs: FileSystem = nodeFileSystem, dir = tempDir()) {
  await fs.mkdir(dir);
  const store = new DiskQuorumState(fs, dir);
  await store.load(FAR);
  return { dir, store };
}
