// One daemon per data directory: `<dataDir>/redex.pid` holds the owner's pid. A second `serve` on
// the same directory would interleave writes to the same log files, so it is refused while the
// recorded process is alive; a file left by a crashed (dead) process is taken over.
//
// Every write is an exclusive create (O_EXCL, mode 0600): it never follows a symlink planted at
// the path and never truncates a file another starter just created. Taking over a stale file
// first renames it away (atomic: of two starters racing for the same stale file, one rename
// wins), checks that what it moved really was stale, and then creates the file afresh.

import { link, open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { IoError } from '../log/errors.js';
import { NodeError, NodeErrorCode } from './errors.js';

export const PID_FILE = 'redex.pid';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function ownerOf(path: string): Promise<number | null> {
  const owner = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
  return Number.isSafeInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)
    ? owner
    : null;
}

function locked(dataDir: string, path: string, owner: number | null): NodeError {
  return new NodeError(
    NodeErrorCode.DataDirLocked,
    owner === null
      ? `${dataDir} is being taken over by another process (${path}); try again`
      : `${dataDir} is in use by process ${owner} (${path}); stop it first, or delete the file if that process is not a redex node`,
  );
}

/** Creates `path` holding our pid; false when it already exists. */
async function createExclusive(path: string): Promise<boolean> {
  try {
    const handle = await open(path, 'wx', 0o600);
    try {
      await handle.writeFile(`${process.pid}\n`);
    } finally {
      await handle.close();
    }
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new IoError(`creating ${path} failed`, error);
  }
}

export class PidLock {
  readonly path: string;
  #released = false;

  private constructor(path: string) {
    this.path = path;
  }

  static async acquire(dataDir: string): Promise<PidLock> {
    const path = join(dataDir, PID_FILE);
    if (await createExclusive(path)) return new PidLock(path);
    const owner = await ownerOf(path);
    if (owner !== null) throw locked(dataDir, path, owner);
    const moved = `${path}.stale-${process.pid}`;
    try {
      await rename(path, moved);
    } catch (error) {
      // ENOENT: another starter moved it first; the create below settles who wins.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new IoError(`taking over ${path} failed`, error);
      }
    }
    // What was moved may be a lock another starter created after our check: put it back.
    const movedOwner = await ownerOf(moved);
    if (movedOwner !== null) {
      await link(moved, path).catch(() => {});
      await unlink(moved).catch(() => {});
      throw locked(dataDir, path, movedOwner);
    }
    await unlink(moved).catch(() => {});
    if (await createExclusive(path)) return new PidLock(path);
    throw locked(dataDir, path, await ownerOf(path));
  }

  /** Removes the pid file; idempotent. */
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    await unlink(this.path).catch(() => {});
  }
}
