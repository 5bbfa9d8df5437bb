// INTERNAL (replication): the durable quorum state of a persistent channel, in two files of its
// store directory (layouts in docs/STORAGE.md). `EPOCH` (epoch, vote, clean-shutdown flag) holds
// two slots: a change is written in place over the older one and fdatasynced (the file keeps its
// size, so that is one cheap flush); the first write creates the file through a temp file, rename
// and directory fsync, so an `EPOCH` that exists always holds a valid slot. `EPOCHS` (leader-epoch history) grows by one
// checksummed record per new epoch, fsynced before the append resolves, and is rewritten through
// a temp file when entries are dropped. A crash at any step leaves the old state or the new one.
//
// Writes are serialized. A write that fails leaves what the disk holds unknown, so the store
// refuses writes (IoError, readOnly) until `load` reads the files again.

import { join } from 'node:path';
import { IoError, RedexError } from '../errors.js';
import {
  checkCount,
  checkNewEpoch,
  checkNewVote,
  type EpochEntry,
  historyBelow,
  notLoaded,
  type QuorumState,
  type QuorumStateStore,
} from '../quorum-state.js';
import { decodeFailure } from './format-version.js';
import type { FileSystem } from './fs.js';
import { readWholeFile } from './generation.js';
import {
  decodeHistoryFile,
  decodeVoteFile,
  encodeHistoryFile,
  encodeHistoryRecord,
  encodeVoteFile,
  encodeVoteSlot,
  HISTORY_FILE_NAME,
  HISTORY_MAGIC,
  HISTORY_RECORD_BYTES,
  HISTORY_TEMP_NAME,
  nextVoteSlot,
  VOTE_FILE_NAME,
  VOTE_MAGIC,
  VOTE_TEMP_NAME,
  type VoteSlotPosition,
  type VoteState,
  voteSlotOffset,
} from './quorum-format.js';

/** True for the names of the quorum-state files and their temporaries. */
export function isQuorumStateFileName(name: string): boolean {
  return (
    name === VOTE_FILE_NAME ||
    name === VOTE_TEMP_NAME ||
    name === HISTORY_FILE_NAME ||
    name === HISTORY_TEMP_NAME
  );
}

interface Loaded {
  vote: VoteState;
  /** Where `EPOCH` holds `vote`, or null when there is no `EPOCH` yet. */
  voteSlot: VoteSlotPosition | null;
  history: EpochEntry[];
  /** Size of the history file, or null when it does not exist yet. */
  historyBytes: number | null;
}

export class DiskQuorumState implements QuorumStateStore {
  readonly #fs: FileSystem;
  readonly #dir: string;
  #chain: Promise<void> = Promise.resolve();
  #loaded: Loaded | null = null;
  #failed: IoError | null = null;
  /**
   * Whether a write of this store ever failed. After one, what `load` read may sit in the page
   * cache only, so an unchanged flag is written again rather than trusted to be on disk.
   */
  #everFailed = false;

  /** True until the first load of a store known to hold no quorum-state file (created just now). */
  #knownAbsent: boolean;

  /**
   * The epoch the `EPOCH` file holds as far as this store knows: updated once a write of it
   * resolved, so never ahead of what is durable (null before the first load). The replication
   * layer may adopt a higher epoch in memory a moment before it is durable; a crash in between
   * loses only that moment. For status and the simulation's checks.
   */
  get durableEpoch(): number | null {
    return this.#loaded?.vote.epoch ?? null;
  }

  /** `knownAbsent`: the caller just created the directory's contents, with no file of ours. */
  constructor(fs: FileSystem, dir: string, knownAbsent = false) {
    this.#fs = fs;
    this.#dir = dir;
    this.#knownAbsent = knownAbsent;
  }

  load(nextSeq: number): Promise<QuorumState> {
    return this.#serial(async () => {
      checkCount('nextSeq', nextSeq);
      this.#loaded = null;
      this.#failed = null;
      let loaded: Loaded;
      try {
        loaded = await this.#read();
      } catch (error) {
        if (error instanceof RedexError) throw error;
        throw new IoError(`reading the quorum state in ${this.#dir} failed`, error);
      }
      const kept = historyBelow(loaded.history, nextSeq);
      if (kept.length < loaded.history.length) {
        // Entries past the log's end (the log was cut, the history not yet): drop them for good,
        // or a later epoch appended after them would break the order.
        await this.#write(() => this.#replaceHistory(kept));
        loaded.history = kept;
        loaded.historyBytes = encodeHistoryFile(kept).byteLength;
      }
      this.#loaded = loaded;
      return this.#snapshot(loaded);
    });
  }

  saveVote(epoch: number, votedFor: bigint | null): Promise<void> {
    return this.#serial(async () => {
      const loaded = this.#writable();
      const vote = checkNewVote(this.#snapshot(loaded), epoch, votedFor);
      const next = { ...loaded.vote, ...vote };
      await this.#write(() => this.#writeVote(loaded, next));
    });
  }

  appendEpoch(epoch: number, startSeq: number): Promise<void> {
    return this.#serial(async () => {
      const loaded = this.#writable();
      const history = checkNewEpoch(loaded.history, epoch, startSeq);
      const at = loaded.historyBytes;
      await this.#write(async () => {
        if (at === null) {
          await this.#replaceHistory(history);
          return;
        }
        // An empty file (made with the first EPOCH, its name already durable) gets its header
        // and first record in place: one fsync, where a new file needs a rename and two.
        const bytes =
          at === 0 ? encodeHistoryFile(history) : encodeHistoryRecord({ epoch, startSeq });
        const file = await this.#fs.open(join(this.#dir, HISTORY_FILE_NAME), 'readwrite');
        try {
          await file.write(bytes, at);
          await file.sync();
        } finally {
          await file.close();
        }
      });
      loaded.history = history;
      loaded.historyBytes =
        at === null || at === 0 ? encodeHistoryFile(history).byteLength : at + HISTORY_RECORD_BYTES;
    });
  }

  truncateHistory(fromSeq: number): Promise<void> {
    return this.#serial(async () => {
      const loaded = this.#writable();
      const kept = historyBelow(loaded.history, checkCount('fromSeq', fromSeq));
      if (kept.length === loaded.history.length) return;
      await this.#write(() => this.#replaceHistory(kept));
      loaded.history = kept;
      loaded.historyBytes = encodeHistoryFile(kept).byteLength;
    });
  }

  markOpen(): Promise<void> {
    return this.#setClean(false);
  }

  markCleanShutdown(): Promise<void> {
    return this.#setClean(true);
  }

  #setClean(cleanShutdown: boolean): Promise<void> {
    return this.#serial(async () => {
      const loaded = this.#writable();
      // Already so on disk (a new channel has no EPOCH file, which reads as "not clean"): no
      // write, so opening a new channel costs no file and no fsync here.
      if (loaded.vote.cleanShutdown === cleanShutdown && !this.#everFailed) return;
      const next = { ...loaded.vote, cleanShutdown };
      await this.#write(() => this.#writeVote(loaded, next));
    });
  }

  #serial<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(operation);
    this.#chain = run.then(
      () => {},
      () => {},
    );
    return run;
  }

  #writable(): Loaded {
    if (this.#failed !== null) throw this.#failed;
    if (this.#loaded === null) throw notLoaded();
    return this.#loaded;
  }

  async #write(body: () => Promise<void>): Promise<void> {
    try {
      await body();
    } catch (error) {
      this.#everFailed = true;
      this.#failed = new IoError(
        `writing the quorum state in ${this.#dir} failed; it refuses writes until it is loaded again`,
        error,
        true,
      );
      throw this.#failed;
    }
  }

  async #read(): Promise<Loaded> {
    const fs = this.#fs;
    const knownAbsent = this.#knownAbsent;
    this.#knownAbsent = false;
    if (knownAbsent) {
      return {
        vote: { epoch: 0, votedFor: null, cleanShutdown: false },
        voteSlot: null,
        history: [],
        historyBytes: null,
      };
    }
    const names = await fs.readdir(this.#dir);
    // A temporary file is a replacement that never reached its rename: the old file is in force.
    for (const temp of [VOTE_TEMP_NAME, HISTORY_TEMP_NAME]) {
      if (names.includes(temp)) await this.#write(() => fs.unlink(join(this.#dir, temp)));
    }
    let vote: VoteState = { epoch: 0, votedFor: null, cleanShutdown: false };
    let voteSlot: VoteSlotPosition | null = null;
    if (names.includes(VOTE_FILE_NAME)) {
      const path = join(this.#dir, VOTE_FILE_NAME);
      const bytes = await readWholeFile(fs, path);
      const decoded = decodeVoteFile(bytes);
      if (typeof decoded === 'string') throw decodeFailure(path, bytes, VOTE_MAGIC, decoded);
      vote = decoded.vote;
      voteSlot = { slot: decoded.slot, counter: decoded.counter };
    }
    if (!names.includes(HISTORY_FILE_NAME))
      return { vote, voteSlot, history: [], historyBytes: null };
    const path = join(this.#dir, HISTORY_FILE_NAME);
    const bytes = await readWholeFile(fs, path);
    const decoded = decodeHistoryFile(bytes);
    if (typeof decoded === 'string') throw decodeFailure(path, bytes, HISTORY_MAGIC, decoded);
    // Empty or shorter than its header: no entry was ever acknowledged. Its name may not be
    // durable (a crash before the directory fsync that was to cover it), so the first append
    // replaces it whole, as if it did not exist.
    if (decoded.validBytes === 0) return { vote, voteSlot, history: [], historyBytes: null };
    if (decoded.validBytes < bytes.byteLength) {
      // A torn last record: an epoch append that was never acknowledged.
      await this.#write(async () => {
        const file = await fs.open(path, 'readwrite');
        try {
          await file.truncate(decoded.validBytes);
          await file.sync();
        } finally {
          await file.close();
        }
      });
    }
    return { vote, voteSlot, history: decoded.history, historyBytes: decoded.validBytes };
  }

  #snapshot(loaded: Loaded): QuorumState {
    return { ...loaded.vote, history: loaded.history.slice() };
  }

  /**
   * Writes `vote` over the slot that does not hold the newest state, then one fdatasync: a crash
   * meanwhile tears at most that slot, and the other still holds the state before. A file of the
   * previous layout (slot 0 only) thus gains its slot 1 first, and is converted with no window.
   */
  async #writeVote(loaded: Loaded, vote: VoteState): Promise<void> {
    if (loaded.voteSlot === null) {
      const first = { slot: 0, counter: 1 } as const;
      // An empty EPOCHS made now shares this directory fsync: a node that later leads the channel
      // for the first time (a failover of thousands at once) then writes its first epoch entry in
      // place with one fsync, instead of a temporary file, a rename and two fsyncs. An empty or
      // short EPOCHS reads as no history.
      const withHistory = loaded.historyBytes === null;
      await this.#replace(
        VOTE_FILE_NAME,
        VOTE_TEMP_NAME,
        encodeVoteFile(vote, first.counter),
        withHistory ? () => this.#createEmpty(HISTORY_FILE_NAME) : undefined,
      );
      if (withHistory) loaded.historyBytes = 0;
      loaded.voteSlot = first;
      loaded.vote = vote;
      return;
    }
    const target = nextVoteSlot(loaded.voteSlot);
    const file = await this.#fs.open(join(this.#dir, VOTE_FILE_NAME), 'readwrite');
    try {
      await file.write(encodeVoteSlot(vote, target.counter), voteSlotOffset(target.slot));
      await file.sync();
    } finally {
      await file.close();
    }
    loaded.voteSlot = target;
    loaded.vote = vote;
  }

  #replaceHistory(history: readonly EpochEntry[]): Promise<void> {
    return this.#replace(HISTORY_FILE_NAME, HISTORY_TEMP_NAME, encodeHistoryFile(history));
  }

  async #createEmpty(name: string): Promise<void> {
    const file = await this.#fs.open(join(this.#dir, name), 'create');
    await file.close();
  }

  /**
   * temp → fsync → rename → fsync dir: a crash leaves the old file or the new one. `beside`
   * creates another entry of the directory before the rename, made durable by the same fsync.
   */
  async #replace(
    name: string,
    tempName: string,
    bytes: Uint8Array,
    beside?: () => Promise<void>,
  ): Promise<void> {
    const fs = this.#fs;
    const tempPath = join(this.#dir, tempName);
    const temp = await fs.open(tempPath, 'create');
    try {
      await temp.truncate(0);
      await temp.write(bytes, 0);
      await temp.sync();
    } finally {
      await temp.close();
    }
    if (beside !== undefined) await beside();
    await fs.rename(tempPath, join(this.#dir, name));
    await fs.syncDir(this.#dir);
  }
}
