// Writing and reading backup files. A backup is written to `<file>.partial` and renamed to its
// name only after the trailer is written and fsynced, so a name that exists is a finished backup;
// a failed or interrupted run removes the partial file. Reading checks everything as it goes
// (the header, each event's checksum, consecutive seqs, the trailer's count, end and whole-file
// checksum) and fails with a `BackupFormatError` naming the file and where it went wrong.

import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import { crc32c } from '@node-rs/crc32';
import { CliError } from '../errors.js';
import {
  type BackupEvent,
  type BackupHeader,
  type BackupTrailer,
  decodeEvent,
  decodeHeader,
  decodeTrailer,
  EVENT_HEADER_BYTES,
  encodeEvent,
  encodeHeader,
  encodeTrailer,
  eventLength,
  HEADER_FIXED_BYTES,
  headerLength,
  TRAILER_BYTES,
} from './format.js';

/** Events are written, and read, in chunks of about this many bytes. */
export const BACKUP_IO_CHUNK_BYTES = 1024 * 1024;
export const PARTIAL_SUFFIX = '.partial';

export class BackupFormatError extends CliError {
  readonly path: string;

  constructor(path: string, reason: string) {
    super(`${path} is not a valid backup: ${reason}`);
    this.path = path;
  }
}

/** A file-system failure as a CLI error naming the file (ENOENT, EACCES, ENOSPC, ...). */
async function naming<T>(path: string, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`${path}: ${(error as Error).message}`);
  }
}

export class BackupWriter {
  readonly path: string;
  readonly partialPath: string;
  readonly #file: FileHandle;
  #position = 0;
  #crc = 0;
  #count = 0;
  #nextSeq: number;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;

  private constructor(path: string, file: FileHandle, firstSeq: number) {
    this.path = path;
    this.partialPath = path + PARTIAL_SUFFIX;
    this.#file = file;
    this.#nextSeq = firstSeq;
  }

  /** Creates `<path>.partial` (replacing a leftover one) and writes the header. */
  static async create(path: string, header: BackupHeader): Promise<BackupWriter> {
    const file = await naming(path, () => open(path + PARTIAL_SUFFIX, 'w', 0o600));
    const writer = new BackupWriter(path, file, header.firstSeq);
    writer.#queue(encodeHeader(header));
    return writer;
  }

  get count(): number {
    return this.#count;
  }

  get bytes(): number {
    return this.#position + this.#pendingBytes;
  }

  /** Adds the next event; its seq must follow the previous one's. */
  async add(event: BackupEvent): Promise<void> {
    if (event.seq !== this.#nextSeq) {
      throw new CliError(`the node sent event ${event.seq} where ${this.#nextSeq} was expected`);
    }
    this.#nextSeq++;
    this.#count++;
    this.#queue(encodeEvent(event));
    if (this.#pendingBytes >= BACKUP_IO_CHUNK_BYTES) await naming(this.path, () => this.#flush());
  }

  /** Writes the trailer, fsyncs, and renames the partial file to its name. */
  async finish(): Promise<{ count: number; endSeq: number; bytes: number }> {
    await naming(this.path, async () => {
      await this.#flush();
      this.#queue(encodeTrailer(this.#count, this.#nextSeq, this.#crc));
      await this.#flush();
      await this.#file.sync();
      await this.#file.close();
      await rename(this.partialPath, this.path);
    });
    return { count: this.#count, endSeq: this.#nextSeq, bytes: this.#position };
  }

  /** Closes and removes the partial file (a failed or interrupted backup leaves nothing). */
  async abort(): Promise<void> {
    await this.#file.close().catch(() => {});
    await rm(this.partialPath, { force: true });
  }

  #queue(bytes: Uint8Array): void {
    this.#pending.push(bytes);
    this.#pendingBytes += bytes.byteLength;
  }

  async #flush(): Promise<void> {
    if (this.#pendingBytes === 0) return;
    const chunk = Buffer.concat(this.#pending);
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#crc = crc32c(chunk, this.#crc);
    let written = 0;
    while (written < chunk.byteLength) {
      const { bytesWritten } = await this.#file.write(
        chunk,
        written,
        chunk.byteLength - written,
        this.#position + written,
      );
      written += bytesWritten;
    }
    this.#position += chunk.byteLength;
  }
}

/** Sequential reads of a byte range of a file through one buffer, with a running CRC-32C. */
class RangeReader {
  readonly #path: string;
  readonly #file: FileHandle;
  #position: number;
  readonly #end: number;
  #buffer = Buffer.alloc(0);
  #at = 0;
  crc = 0;

  constructor(path: string, file: FileHandle, start: number, end: number) {
    this.#path = path;
    this.#file = file;
    this.#position = start;
    this.#end = end;
  }

  get remaining(): number {
    return this.#buffer.byteLength - this.#at + (this.#end - this.#position);
  }

  /** The next `length` bytes, or null when the range holds fewer. */
  async take(length: number): Promise<Uint8Array | null> {
    if (length > this.remaining) return null;
    if (this.#buffer.byteLength - this.#at < length) {
      const kept = this.#buffer.subarray(this.#at);
      const wanted = Math.min(
        Math.max(length, BACKUP_IO_CHUNK_BYTES) - kept.byteLength,
        this.#end - this.#position,
      );
      const next = Buffer.allocUnsafe(kept.byteLength + wanted);
      kept.copy(next, 0);
      let filled = kept.byteLength;
      while (filled < next.byteLength) {
        const { bytesRead } = await naming(this.#path, () =>
          this.#file.read(next, filled, next.byteLength - filled, this.#position),
        );
        if (bytesRead === 0) break;
        filled += bytesRead;
        this.#position += bytesRead;
      }
      this.#buffer = next.subarray(0, filled);
      this.#at = 0;
      if (filled < length) return null;
    }
    const bytes = this.#buffer.subarray(this.#at, this.#at + length);
    this.#at += length;
    this.crc = crc32c(bytes, this.crc);
    return bytes;
  }
}

export interface BackupContents {
  readonly header: BackupHeader;
  /** Every event, checked, in order; each payload is its own copy. */
  readonly events: AsyncIterable<BackupEvent>;
  /** The trailer, checked against what the iteration read; resolves once it has ended. */
  readonly trailer: () => BackupTrailer;
  readonly close: () => Promise<void>;
}

/**
 * Opens a backup and checks its header and trailer shape; `events` then walks and checks every
 * event, and throws `BackupFormatError` at the first fault (the trailer's count, end seq and
 * whole-file checksum are checked when the walk reaches it).
 */
export async function openBackup(path: string): Promise<BackupContents> {
  const file = await naming(path, () => open(path, 'r'));
  try {
    const fail = (reason: string) => new BackupFormatError(path, reason);
    const size = (await file.stat()).size;
    const fixed = Buffer.alloc(HEADER_FIXED_BYTES);
    await file.read(fixed, 0, HEADER_FIXED_BYTES, 0);
    const length = headerLength(size < HEADER_FIXED_BYTES ? fixed.subarray(0, size) : fixed);
    if (typeof length === 'string') throw fail(length);
    if (size < length + TRAILER_BYTES) throw fail('it is cut short (no trailer)');
    const trailerBytes = Buffer.alloc(TRAILER_BYTES);
    await file.read(trailerBytes, 0, TRAILER_BYTES, size - TRAILER_BYTES);
    const decodedTrailer = decodeTrailer(trailerBytes);
    if (typeof decodedTrailer === 'string') throw fail(decodedTrailer);
    const trailer: BackupTrailer = decodedTrailer;
    const reader = new RangeReader(path, file, 0, size - TRAILER_BYTES);
    const decodedHeader = decodeHeader((await reader.take(length))!);
    if (typeof decodedHeader === 'string') throw fail(decodedHeader);
    const header: BackupHeader = decodedHeader;
    let checked = false;
    async function* events(): AsyncGenerator<BackupEvent> {
      let seq = header.firstSeq;
      let count = 0;
      while (reader.remaining > 0) {
        const eventHeader = await reader.take(EVENT_HEADER_BYTES);
        if (eventHeader === null) throw fail(`event ${count} is cut short`);
        const payloadLength = eventLength(eventHeader);
        if (typeof payloadLength === 'string') throw fail(`event ${count}: ${payloadLength}`);
        // The header's bytes may move when the buffer refills: copy them before reading on.
        const whole = new Uint8Array(EVENT_HEADER_BYTES + payloadLength);
        whole.set(eventHeader, 0);
        const payload = await reader.take(payloadLength);
        if (payload === null) throw fail(`event ${count} is cut short`);
        whole.set(payload, EVENT_HEADER_BYTES);
        const event = decodeEvent(whole);
        if (typeof event === 'string') throw fail(`event ${count} (seq ${seq}): ${event}`);
        if (event.seq !== seq) throw fail(`event ${count} has seq ${event.seq}; expected ${seq}`);
        yield event;
        seq++;
        count++;
      }
      if (count !== trailer.count || seq !== trailer.endSeq) {
        throw fail(
          `it holds ${count} events ending at ${seq}; its trailer says ${trailer.count} ending at ${trailer.endSeq}`,
        );
      }
      const crc = crc32c(trailerBytes.subarray(0, TRAILER_BYTES - 4), reader.crc);
      if (crc !== trailer.crc) throw fail('its whole-file checksum does not match');
      checked = true;
    }
    return {
      header,
      events: events(),
      trailer: () => {
        if (!checked) throw new Error('backup: the trailer is checked once every event is read');
        return trailer;
      },
      close: () => file.close(),
    };
  } catch (error) {
    await file.close();
    if (error instanceof CliError) throw error;
    throw new CliError(`${path}: ${(error as Error).message}`);
  }
}
