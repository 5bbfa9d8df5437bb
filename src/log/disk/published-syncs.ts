// The fsyncs of the groups a disk log published before they were durable (ship before fsync,
// src/log/disk/disk-log.ts): a replicated leader's group is handed to replication once written,
// and fsynced while replicas fetch it and while the next group is written. One fsync runs at a
// time and covers every group written before it started; when it lands its groups become
// visible and their appends resolve, and the groups written meanwhile get the next one. If it
// fails, every group not yet durable fails with the error the log gives (outcome unknown: they
// stay published), and none becomes visible.
//
// Owns: the appends waiting for an fsync, the fsync in flight, and where the durable (visible)
// events end while any wait. Called by: DiskLog only.

import type { PendingAppend } from './group-commit.js';

export interface PublishedSyncsHost {
  /** Where the written events end now (everything an fsync started now covers). */
  writtenEnd(): number;
  /** Fsyncs what is written: the data, and the index when it lags. */
  fsync(): Promise<void>;
  /** Groups became durable: the events below `durableEnd` (or all, when null) are visible. */
  onDurable(): void;
  /** The fsync failed: the error every waiting append gets (the log turns read-only). */
  onFailed(cause: unknown): Error;
}

export class PublishedSyncs {
  readonly #host: PublishedSyncsHost;
  /**
   * While published groups wait for an fsync (and for good after one failed): where the durable,
   * visible events end. Null when nothing waits.
   */
  #durableEnd: number | null = null;
  /** Appends of published groups that no running fsync covers yet. */
  #unsynced: PendingAppend[] = [];
  #running: Promise<void> | null = null;

  constructor(host: PublishedSyncsHost) {
    this.#host = host;
  }

  get durableEnd(): number | null {
    return this.#durableEnd;
  }

  /** True while an fsync runs or published appends wait for one. */
  get waiting(): boolean {
    return this.#running !== null || this.#unsynced.length > 0;
  }

  /**
   * A group was written and published; `visibleEnd` is where the visible events ended before it.
   * Its appends resolve (or fail) once an fsync covers it.
   */
  add(accepted: readonly PendingAppend[], visibleEnd: number): void {
    this.#durableEnd ??= visibleEnd;
    for (const item of accepted) this.#unsynced.push(item);
    if (this.#running === null) this.#start();
  }

  /** Resolves once no fsync runs and none waits (a failure ends them too). */
  async drain(): Promise<void> {
    while (this.#running !== null) await this.#running;
  }

  #start(): void {
    const covered = this.#unsynced;
    this.#unsynced = [];
    const end = this.#host.writtenEnd();
    this.#running = this.#host.fsync().then(
      () => {
        this.#running = null;
        this.#durableEnd = this.#unsynced.length > 0 ? end : null;
        this.#host.onDurable();
        for (const item of covered) item.resolve(item.firstSeq);
        if (this.#unsynced.length > 0) this.#start();
      },
      (cause: unknown) => {
        this.#running = null;
        const failure = this.#host.onFailed(cause);
        for (const item of covered) item.reject(failure);
        for (const item of this.#unsynced.splice(0)) item.reject(failure);
      },
    );
  }

  /** `failed`: an fsync of published groups failed (the durable end then stays for good). */
  assertInvariants(writtenEnd: number, failed: boolean): void {
    const end = this.#durableEnd;
    if (end !== null && end > writtenEnd)
      throw new Error('published syncs: durable end past the written end');
    if (end === null ? this.waiting : !this.waiting && !failed)
      throw new Error('published syncs: durable end without fsyncs in flight');
  }
}
