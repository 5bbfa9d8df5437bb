// A tiny scripted HTTP node for the client's unit tests: every request is recorded (method, path,
// query, headers, body) and answered by the test's handler. `close` cuts kept-alive connections.

import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Recorded {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
}

export type Handler = (request: Recorded, res: ServerResponse) => void | Promise<void>;

export interface FakeNode {
  readonly url: string;
  readonly requests: Recorded[];
  handler: Handler;
  close(): Promise<void>;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(text);
}

export function sendError(
  res: ServerResponse,
  status: number,
  code: string,
  extra: Record<string, unknown> = {},
): void {
  sendJson(res, status, { error: { code, message: `redex: ${code.toLowerCase()}`, ...extra } });
}

export async function startFakeNode(handler: Handler): Promise<FakeNode> {
  const requests: Recorded[] = [];
  const node: FakeNode = {
    url: '',
    requests,
    handler,
    close: async () => {},
  };
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://fake');
    const recorded: Recorded = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body: Buffer.concat(chunks),
    };
    requests.push(recorded);
    await node.handler(recorded, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(node, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

/** A URL nothing listens on (a port that was free a moment ago). */
export async function deadUrl(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/** Splits a binary batch body (4-byte big-endian lengths) back into payload strings. */
export function batchPayloads(body: Buffer): string[] {
  const out: string[] = [];
  let offset = 0;
  while (offset < body.byteLength) {
    const length = body.readUInt32BE(offset);
    out.push(body.subarray(offset + 4, offset + 4 + length).toString('utf8'));
    offset += 4 + length;
  }
  return out;
}

/** One SSE event frame as the node writes it. */
export function sseEvent(seq: number, payload: string): string {
  const data = { seq, timestampNs: '1', payload: Buffer.from(payload).toString('base64') };
  return `id: ${seq}\ndata: ${JSON.stringify(data)}\n\n`;
}

export function sseStart(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  res.write(': hello\n\n');
}
