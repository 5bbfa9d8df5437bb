// One daemon per data directory: `<dataDir>/redex.pid` holds the owner's pid. A second `serve` on
// the same directory would interleave writes to the same log files, so it is refused while the
// recorded process is alive; a file left by a crashed (dead) process is taken over.

import { open, readFile, unlink, writeFile } from 'node:fs/promises';
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

export class PidLock {
  readonly path: string;
  #released = false;

  private constructor(path: string) {
    this.path = path;
  }

  static async acquire(dataDir: string): Promise<PidLock> {
    const path = join(dataDir, PID_FILE);
    try {
      const handle = await open(path, 'wx', 0o644);
      try {
        await handle.writeFile(`${process.pid}\n`);
      } finally {
        await handle.close();
      }
      return new PidLock(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST')
        throw new IoError(`creating ${path} failed`, error);
    }
    const owner = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
    if (Number.isSafeInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) {
      throw new NodeError(
        NodeErrorCode.DataDirLocked,
        `${dataDir} is in use by process ${owner} (${path}); stop it first, or delete the file if that process is not a redex node`,
      );
    }
    try {
      await writeFile(path, `${process.pid}\n`);
    } catch (error) {
      throw new IoError(`taking over ${path} failed`, error);
    }
    return new PidLock(path);
  }

  /** Removes the pid file; idempotent. */
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    await unlink(this.path).catch(() => {});
  }
}
