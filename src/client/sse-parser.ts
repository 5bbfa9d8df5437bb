// An incremental Server-Sent-Events parser (the WHATWG event-stream format): feed it text as it
// arrives, get whole messages back. Comments (`: ...`) are heartbeats and are dropped; a message
// is dispatched at a blank line. A line longer than `SSE_LINE_CHARS_MAX` is a broken or hostile
// server: the parser throws rather than buffering it.

export const SSE_LINE_CHARS_MAX = 16 * 1024 * 1024;

export interface SseMessage {
  /** `message` when the stream named none. */
  readonly event: string;
  readonly data: string;
  readonly id: string | null;
}

export class SseParser {
  #buffer = '';
  #event = '';
  #data: string[] = [];
  #id: string | null = null;

  push(chunk: string): SseMessage[] {
    this.#buffer += chunk;
    const messages: SseMessage[] = [];
    for (;;) {
      const newline = this.#buffer.search(/\r\n|\r|\n/);
      if (newline < 0) break;
      const line = this.#buffer.slice(0, newline);
      const width = this.#buffer.startsWith('\r\n', newline) ? 2 : 1;
      this.#buffer = this.#buffer.slice(newline + width);
      const message = this.#line(line);
      if (message !== null) messages.push(message);
    }
    if (this.#buffer.length > SSE_LINE_CHARS_MAX) {
      throw new Error(`an event-stream line is longer than ${SSE_LINE_CHARS_MAX} characters`);
    }
    return messages;
  }

  #line(line: string): SseMessage | null {
    if (line === '') {
      if (this.#data.length === 0) {
        this.#event = '';
        return null;
      }
      const message = {
        event: this.#event || 'message',
        data: this.#data.join('\n'),
        id: this.#id,
      };
      this.#event = '';
      this.#data = [];
      return message;
    }
    if (line.startsWith(':')) return null;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.#event = value;
    else if (field === 'data') this.#data.push(value);
    else if (field === 'id') this.#id = value;
    return null;
  }
}
