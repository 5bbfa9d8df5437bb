// Plain-text rendering for the terminal: aligned tables and event payloads.

/**
 * The one machine-readable output shape of every `--json`: JSON Lines, one complete JSON value
 * per line (a command with one result prints one line, a streaming command one line per item).
 */
export function jsonLine(value: unknown): string {
  return `${JSON.stringify(value)}\n`;
}

/** Left-aligned columns separated by two spaces; numbers are right-aligned. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const numeric = header.map(
    (_, column) =>
      rows.length > 0 && rows.every((row) => /^-?[\d,.]+$|^—$/.test(row[column] ?? '')),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) =>
        numeric[column] ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!),
      )
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function dash(value: unknown): string {
  return value === null || value === undefined ? '—' : String(value);
}

export function duration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s}s`;
  return `${s}s`;
}

export type EventFormat = 'text' | 'json' | 'base64';
export const EVENT_FORMATS: readonly EventFormat[] = ['text', 'json', 'base64'];

export interface WireEvent {
  readonly seq: number;
  readonly timestampNs: string;
  readonly payload: string;
  readonly encoding?: 'base64';
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * An event as the API's JSON would show it: the payload as text when `format` prints text and
 * the bytes are UTF-8, else base64 (marked `"encoding": "base64"` in a text format).
 */
export function wireEvent(
  event: { readonly seq: number; readonly payload: Uint8Array; readonly timestampNs: bigint },
  format: EventFormat,
): WireEvent {
  const base = { seq: event.seq, timestampNs: event.timestampNs.toString() };
  const bytes = Buffer.from(
    event.payload.buffer,
    event.payload.byteOffset,
    event.payload.byteLength,
  );
  if (format === 'base64') return { ...base, payload: bytes.toString('base64') };
  try {
    return { ...base, payload: strictUtf8.decode(bytes) };
  } catch {
    return { ...base, payload: bytes.toString('base64'), encoding: 'base64' };
  }
}

/**
 * One output line for an event fetched with `encoding=utf8` (text, json) or base64 (base64).
 * Text mode prints the payload; an event that is not UTF-8 comes as base64 and `onBinary` is told.
 */
export function formatEvent(event: WireEvent, format: EventFormat, onBinary: () => void): string {
  if (format === 'json') return JSON.stringify(event);
  if (format === 'text' && event.encoding === 'base64') onBinary();
  return event.payload;
}

/** The API encoding a format asks for. */
export function encodingFor(format: EventFormat): 'utf8' | 'base64' {
  return format === 'base64' ? 'base64' : 'utf8';
}
