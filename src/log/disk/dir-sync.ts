// One fsync of a directory for many callers. Opening thousands of channels at once creates
// entries in the same parent directories (the manager's root, a shared prefix such as `orders/`)
// concurrently; each creation must be durable before it is acknowledged, but one fsync of a
// directory covers every entry made in it before the fsync started. So a caller that arrives while
// a sync of the same directory is in flight waits for the next one (which starts once the current
// one ends and covers everyone who arrived meanwhile), and every caller shares that next sync.

/** Syncs directories, sharing each fsync between the callers waiting on the same directory. */
export class CoalescingDirSync {
  readonly #syncDir: (path: string) => Promise<void>;
  /** Per directory: the sync in flight and, if callers arrived since it started, the next one. */
  readonly #pending = new Map<string, { running: Promise<void>; next: Promise<void> | null }>();

  constructor(syncDir: (path: string) => Promise<void>) {
    this.#syncDir = syncDir;
  }

  /** Directories with a sync in flight (at most the number of distinct directories in use). */
  get inFlight(): number {
    return this.#pending.size;
  }

  /** Resolves once an fsync of `path` that started after this call has completed. */
  sync(path: string): Promise<void> {
    const pending = this.#pending.get(path);
    if (pending === undefined) return this.#start(path);
    // The sync in flight may have started before the caller's entry was made: wait for the next.
    pending.next ??= pending.running.then(
      () => this.#start(path),
      () => this.#start(path),
    );
    return pending.next;
  }

  #start(path: string): Promise<void> {
    const entry = { running: Promise.resolve(), next: null as Promise<void> | null };
    const running = this.#syncDir(path).finally(() => {
      // A queued next sync replaces this entry as it starts; only the last one removes it.
      if (this.#pending.get(path) === entry) this.#pending.delete(path);
    });
    entry.running = running;
    this.#pending.set(path, entry);
    return running;
  }
}
