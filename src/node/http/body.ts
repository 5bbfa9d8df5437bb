// Request bodies under a byte cap. The cap is checked against Content-Length before reading and
// against the bytes as they arrive (chunked uploads); past it the request is answered 413 and the
// connection closed, without buffering the rest.

import type { IncomingMessage } from 'node:http';
import { HttpError, HttpErrorCode } from './errors.js';
import { checkJsonShape, type JsonShapeLimits } from './json-scan.js';

function tooLarge(limit: number, what: string): HttpError {
  return new HttpError(413, HttpErrorCode.BodyTooLarge, `${what} is larger than ${limit} bytes`, {
    headers: { connection: 'close' },
    details: { limitBytes: limit },
  });
}

export function readBody(req: IncomingMessage, limit: number, what = 'the body'): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    return Promise.reject(tooLarge(limit, what));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > limit) {
        cleanup();
        // Stop reading; the 413 goes out with `connection: close`, which drops the rest.
        req.pause();
        reject(tooLarge(limit, what));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = () => {
      cleanup();
      reject(new HttpError(400, HttpErrorCode.BadRequest, 'the request body was cut off'));
    };
    // A client that goes away mid-body: 'close' without 'end'.
    const onClose = () => {
      if (!req.complete) onError();
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses a JSON body no deeper and no larger in values than `limits` (checked before parsing);
 * anything else, and anything that is not UTF-8 JSON, is BAD_JSON.
 */
export function parseJson(body: Buffer, limits: JsonShapeLimits, what = 'the body'): unknown {
  checkJsonShape(body, limits, what);
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new HttpError(400, HttpErrorCode.BadJson, 'the body is not valid UTF-8');
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HttpError(
      400,
      HttpErrorCode.BadJson,
      `the body is not valid JSON: ${(error as Error).message}`,
    );
  }
}

/** The media type of the request, lowercased, without parameters ('' when absent). */
export function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

export function requireMediaType(req: IncomingMessage, allowed: readonly string[]): string {
  const type = mediaType(req);
  if (!allowed.includes(type)) {
    throw new HttpError(
      415,
      HttpErrorCode.UnsupportedMediaType,
      `content-type must be ${allowed.join(' or ')}, got ${type === '' ? 'none' : JSON.stringify(type)}`,
    );
  }
  return type;
}
