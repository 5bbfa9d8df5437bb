// How the client sends requests. A caller's own `fetch` always wins. In Node, without one, the
// client loads undici (a dynamic import, so browsers and Deno never see it) and keeps a pool of
// keep-alive connections per node, optionally with TLS client certificates; it uses undici's
// `request` rather than its `fetch`, because fetch must send a request answered 421 (how a node
// says NOT_LEADER) a second time on a fresh connection, dropping a pooled one each time.
// Elsewhere the global `fetch`, whose connection reuse is the platform's business.

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface BodyReader {
  read(): Promise<{ done: true; value?: undefined } | { done: false; value: Uint8Array }>;
  cancel(): Promise<void>;
}

/** What the client needs of an answer (a fetch `Response` is one). */
export interface HttpAnswer {
  readonly status: number;
  readonly body: { getReader(): BodyReader } | null;
}

export interface SendInit {
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body?: Uint8Array;
  readonly signal: AbortSignal;
}

/** PEM material for https nodes (Node only; a browser's certificates are the browser's). */
export interface ClientTls {
  readonly ca?: string | undefined;
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
}

export interface Transport {
  send(url: string, init: SendInit): Promise<HttpAnswer>;
  close(): Promise<void>;
}

function fetchTransport(fetch: FetchLike): Transport {
  return {
    send: (url, init) => fetch(url, init as RequestInit) as Promise<HttpAnswer>,
    close: async () => {},
  };
}

/** Connections kept open per node (appends, pages and tails of one client share them). */
export const CONNECTIONS_PER_NODE_DEFAULT = 16;
/** An idle kept-alive connection is closed after this (below Node's server default of 5 s). */
const KEEP_ALIVE_TIMEOUT_MS = 4_000;

function isNode(): boolean {
  const process = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof process?.versions?.node === 'string';
}

export async function openTransport(options: {
  readonly fetch?: FetchLike | undefined;
  readonly tls?: ClientTls | undefined;
  readonly connectionsPerNode?: number | undefined;
}): Promise<Transport> {
  if (options.fetch !== undefined) return fetchTransport(options.fetch);
  if (!isNode()) {
    if (typeof globalThis.fetch !== 'function') {
      throw new Error('redex: no fetch in this environment; pass one as the `fetch` option');
    }
    return fetchTransport((input, init) => globalThis.fetch(input, init));
  }
  let undici: typeof import('undici');
  try {
    undici = await import('undici');
  } catch {
    // undici 7 needs Node 20.18.1 or newer; an older Node still has its global fetch.
    return fetchTransport((input, init) => globalThis.fetch(input, init));
  }
  const tls = options.tls ?? {};
  const agent = new undici.Agent({
    connections: options.connectionsPerNode ?? CONNECTIONS_PER_NODE_DEFAULT,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    connect: {
      ...(tls.ca === undefined ? {} : { ca: tls.ca }),
      ...(tls.cert === undefined ? {} : { cert: tls.cert }),
      ...(tls.key === undefined ? {} : { key: tls.key }),
    },
  });
  return {
    async send(url, init) {
      const answer = await undici.request(url, {
        method: init.method as 'GET',
        headers: init.headers,
        body: init.body ?? null,
        signal: init.signal,
        dispatcher: agent,
      });
      const chunks = answer.body[Symbol.asyncIterator]();
      const reader: BodyReader = {
        async read() {
          const next = await chunks.next();
          return next.done ? { done: true } : { done: false, value: next.value as Uint8Array };
        },
        async cancel() {
          answer.body.destroy();
        },
      };
      return { status: answer.statusCode, body: { getReader: () => reader } };
    },
    close: () => agent.destroy(),
  };
}
