// Zeros written ahead of the data file's end under `fsync: always` (DEV DOCS).
//
// Why: on ext4 (and journaling file systems in general) the fdatasync after a write that grows a
// file must also commit the new size and the new blocks to the journal; a write into blocks that
// already hold zeros changes no metadata, so its fdatasync only flushes the data. Measured on the
// benchmark machine: a 256 B or 16 KiB append + fdatasync took 0.55–1.1 ms p50, the same write
// into zero-filled space 0.37–0.75 ms. Write-ahead logs such as etcd's preallocate their segments
// for the same reason; Node has no fallocate (and its unwritten extents would still need the
// journal), so the space is written as zeros.
//
// Policy (pure, no I/O here): a file starts zero-filling once ZERO_FILL_AFTER_GROUPS groups were
// written to it since it was opened, so a channel that appends rarely keeps no zeros; then, when
// fewer than half a step of zeros is left past a group, the next step is written beside that
// group's own write. Steps double from ZERO_FILL_STEP_MIN to ZERO_FILL_STEP_MAX. The zeros are
// never part of the log: a zero record header fails its checksum, so recovery treats them as the
// end of the records and cuts them quietly (they are not a torn tail), and `close` cuts them too.

/** Groups a file takes before it is zero-filled at all. */
export const ZERO_FILL_AFTER_GROUPS = 32;
/** First step of zeros. */
export const ZERO_FILL_STEP_MIN = 64 << 10;
/** Largest step of zeros; also the most zeros a file holds past its data. */
export const ZERO_FILL_STEP_MAX = 1 << 20;

let zeros: Uint8Array | null = null;

/** `bytes` zero bytes (at most ZERO_FILL_STEP_MAX), shared and never written to. */
export function zeroBytes(bytes: number): Uint8Array {
  zeros ??= new Uint8Array(ZERO_FILL_STEP_MAX);
  return zeros.subarray(0, bytes);
}

export interface ZeroFillPlan {
  readonly from: number;
  readonly bytes: number;
}

/** Where the data file's bytes end, zeros included, and when to write more zeros. */
export class ZeroedTail {
  #fileEnd: number;
  #groups = 0;
  #step = ZERO_FILL_STEP_MIN;
  #enabled = true;

  constructor(fileEnd: number) {
    this.#fileEnd = fileEnd;
  }

  /** The end of the file's bytes: the data's end, or the zeros' end past it. */
  get fileEnd(): number {
    return this.#fileEnd;
  }

  /** Zeros to write beside a group whose data will end at `dataEnd`, or null. */
  plan(dataEnd: number): ZeroFillPlan | null {
    if (!this.#enabled) return null;
    this.#groups++;
    if (this.#groups < ZERO_FILL_AFTER_GROUPS) return null;
    if (this.#fileEnd - dataEnd >= this.#step / 2) return null;
    return { from: Math.max(this.#fileEnd, dataEnd), bytes: this.#step };
  }

  /** A group's data now ends at `dataEnd`, and the zeros of `plan` (if any) are written. */
  wrote(dataEnd: number, plan: ZeroFillPlan | null): void {
    this.#fileEnd = Math.max(this.#fileEnd, dataEnd);
    if (plan === null) return;
    this.#fileEnd = Math.max(this.#fileEnd, plan.from + plan.bytes);
    this.#step = Math.min(this.#step * 2, ZERO_FILL_STEP_MAX);
  }

  /**
   * Writing zeros failed (a full disk, say) while the group's own write succeeded: the file may
   * hold some of them, which the next appends overwrite; no more are written to this file.
   */
  disable(dataEnd: number, plan: ZeroFillPlan): void {
    this.#enabled = false;
    this.#fileEnd = Math.max(this.#fileEnd, dataEnd, plan.from + plan.bytes);
  }

  /** The file was cut (or replaced) to `size` bytes. */
  cut(size: number): void {
    this.#fileEnd = size;
  }

  assertInvariants(dataSize: number): void {
    if (this.#fileEnd < dataSize) throw new Error('DiskLog invariant broken: zeroed tail');
  }
}
