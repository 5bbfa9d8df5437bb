// A bounded pre-scan of a JSON body before `JSON.parse` builds any value. `JSON.parse` has no
// depth or size option: 8 MiB of `[[[[…` or of `[[],[],…` makes it build millions of values and
// hold the event loop for seconds, and a deep value later overflows the stack in whatever walks
// it (`JSON.stringify` in an error message). One linear pass over the bytes with two counters is
// cheap (no allocation, a few ms per MiB) and refuses such bodies before anything is built; a
// full incremental parser dependency would do the same work with more code to trust.
//
// The scan counts containers and separators only; it does not check the JSON grammar, which
// `JSON.parse` does afterwards on a body already known to be shallow and short.

import { HttpError, HttpErrorCode } from './errors.js';

export interface JsonShapeLimits {
  /** Containers nested inside each other: `{"events":["…"]}` is 2. */
  readonly depthMax: number;
  /** Values inside containers (array elements and object members), over the whole body. */
  readonly valuesMax: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const COMMA = 0x2c;

/** Throws a 400 when `body` nests deeper or holds more values than `limits` allow. */
export function checkJsonShape(body: Uint8Array, limits: JsonShapeLimits, what: string): void {
  let depth = 0;
  // Every container holds at least one value once it holds anything; each comma adds one more.
  let values = 0;
  let inString = false;
  let justOpened = false;
  for (let index = 0; index < body.length; index++) {
    const byte = body[index]!;
    if (inString) {
      if (byte === BACKSLASH) index++;
      else if (byte === QUOTE) inString = false;
      continue;
    }
    if (justOpened && byte > 0x20 && byte !== CLOSE_ARRAY && byte !== CLOSE_OBJECT) {
      values++;
      justOpened = false;
    }
    switch (byte) {
      case QUOTE:
        inString = true;
        break;
      case OPEN_ARRAY:
      case OPEN_OBJECT:
        depth++;
        if (depth > limits.depthMax) {
          throw shapeError(`${what} nests deeper than ${limits.depthMax} levels`, limits);
        }
        justOpened = true;
        break;
      case CLOSE_ARRAY:
      case CLOSE_OBJECT:
        depth--;
        justOpened = false;
        break;
      case COMMA:
        values++;
        break;
    }
    if (values > limits.valuesMax) {
      throw shapeError(`${what} holds more than ${limits.valuesMax} values`, limits);
    }
  }
}

function shapeError(message: string, limits: JsonShapeLimits): HttpError {
  return new HttpError(400, HttpErrorCode.BadJson, message, {
    details: { depthMax: limits.depthMax, valuesMax: limits.valuesMax },
  });
}
