/** One event of a channel. `payload` is a read-only view; copy it if you keep it past a retention sweep of a huge log. */
export interface RedexEvent {
  readonly seq: number;
  readonly payload: Uint8Array;
  /** Append time, nanoseconds since the Unix epoch, from the file's clock. */
  readonly timestampNs: bigint;
}
