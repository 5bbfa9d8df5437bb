// The OpenAPI 3.1 document of the HTTP API (`GET /openapi.json`), generated from the schemas the
// handlers check requests with (api-schemas.ts). OpenAPI 3.1 takes JSON Schema as it is, so each
// TypeBox schema goes in unchanged. `test/node/http-openapi.test.ts` calls every route of a real
// node and validates each answer against the schema this document gives for its status, and
// checks that the document and the route table list the same routes.

import type { TObject, TSchema } from 'typebox';
import { packageVersion } from '../version.js';
import {
  AppendBody,
  AppendQuery,
  AppendResult,
  ChannelList,
  ChannelName,
  ChannelSpecBody,
  ChannelStatus,
  CreateResult,
  ErrorBody,
  Health,
  LeadershipQuery,
  LeadershipResult,
  NodeStatus,
  NoQuery,
  Readiness,
  ReadQuery,
  ReadResult,
  StreamQuery,
  TailQuery,
} from './api-schemas.js';
import { type RequestContext, sendJson } from './context.js';
import { noQuery } from './query.js';

/** One answer of an operation: a JSON schema, another media type, or no body. */
export type ResponseDoc =
  | { readonly description: string; readonly json: TSchema; readonly binary?: string }
  | { readonly description: string; readonly media: string; readonly headers?: readonly string[] }
  | { readonly description: string };

export interface OperationDoc {
  readonly method: 'get' | 'post' | 'delete';
  /** OpenAPI path, `{name}` for the channel. */
  readonly path: string;
  /** The operationId (what a generated client names the call). */
  readonly id: string;
  readonly summary: string;
  readonly query: TObject;
  readonly body?: { readonly json?: TSchema; readonly raw?: readonly string[] };
  readonly responses: Readonly<Record<number, ResponseDoc>>;
}

const error = (description: string): ResponseDoc => ({ description, json: ErrorBody });
const CHANNEL_ERRORS = {
  400: error('BAD_REQUEST (a query parameter), CHANNEL_NAME'),
  404: error('CHANNEL_NOT_FOUND'),
};
const STREAM = 'text/event-stream';

export const OPERATIONS: readonly OperationDoc[] = [
  {
    method: 'get',
    path: '/',
    id: 'getDashboard',
    summary: 'the dashboard (public)',
    query: NoQuery,
    responses: { 200: { description: 'an HTML page', media: 'text/html' } },
  },
  {
    method: 'get',
    path: '/healthz',
    id: 'getHealth',
    summary: 'liveness (public)',
    query: NoQuery,
    responses: {
      200: { description: 'serving', json: Health },
      503: { description: 'shutting down', json: Health },
    },
  },
  {
    method: 'get',
    path: '/readyz',
    id: 'getReadiness',
    summary: 'readiness: log open, mesh up, every replicated channel has a leader (public)',
    query: NoQuery,
    responses: {
      200: { description: 'ready', json: Readiness },
      503: { description: 'not ready; `failing` says why', json: Readiness },
    },
  },
  {
    method: 'get',
    path: '/openapi.json',
    id: 'getOpenApi',
    summary: 'this document',
    query: NoQuery,
    responses: { 200: { description: 'OpenAPI 3.1', media: 'application/json' } },
  },
  {
    method: 'get',
    path: '/status',
    id: 'getStatus',
    summary: 'the node, its peers, its channels',
    query: NoQuery,
    responses: { 200: { description: 'status', json: NodeStatus }, 400: error('BAD_REQUEST') },
  },
  {
    method: 'get',
    path: '/events/status',
    id: 'streamStatus',
    summary: 'the status as Server-Sent Events (`event: status`)',
    query: StreamQuery,
    responses: {
      200: { description: 'a stream of status events', media: STREAM },
      503: error('TOO_MANY_STREAMS, SHUTTING_DOWN'),
    },
  },
  {
    method: 'get',
    path: '/metrics',
    id: 'getMetrics',
    summary: 'Prometheus text',
    query: NoQuery,
    responses: { 200: { description: 'metrics', media: 'text/plain' } },
  },
  {
    method: 'get',
    path: '/channels',
    id: 'listChannels',
    summary: 'every channel open on this node',
    query: NoQuery,
    responses: { 200: { description: 'the channels', json: ChannelList } },
  },
  {
    method: 'post',
    path: '/channels',
    id: 'createChannel',
    summary: 'create a channel (cluster: on its whole replica set)',
    query: NoQuery,
    body: { json: ChannelSpecBody },
    responses: {
      200: { description: 'already open with this spec', json: CreateResult },
      201: { description: 'created', json: CreateResult },
      400: error('CONFIG (with field), BAD_JSON'),
      409: error('CHANNEL_EXISTS: open with a different spec'),
      413: error('BODY_TOO_LARGE'),
      415: error('UNSUPPORTED_MEDIA_TYPE'),
    },
  },
  {
    method: 'get',
    path: '/channels/{name}',
    id: 'getChannel',
    summary: "one channel's status",
    query: NoQuery,
    responses: { 200: { description: 'the channel', json: ChannelStatus }, ...CHANNEL_ERRORS },
  },
  {
    method: 'delete',
    path: '/channels/{name}',
    id: 'deleteChannel',
    summary: 'close a channel, forget it and delete its files (cluster: on its replica set)',
    query: NoQuery,
    responses: {
      204: { description: 'deleted; x-redex-delete-pending names members that did not confirm' },
      ...CHANNEL_ERRORS,
      409: error('CHANNEL_IN_CONFIG: a channel of the config file'),
      503: error('SHUTTING_DOWN'),
    },
  },
  {
    method: 'post',
    path: '/channels/{name}/events',
    id: 'appendEvents',
    summary: 'append one event or a batch (all or nothing)',
    query: AppendQuery,
    body: { json: AppendBody, raw: ['application/octet-stream', 'application/vnd.redex.batch'] },
    responses: {
      200: { description: 'an empty batch', json: AppendResult },
      201: { description: 'stored (and acknowledged as acks asks)', json: AppendResult },
      ...CHANNEL_ERRORS,
      409: error('SEQ_MISMATCH: ifNextSeq is not the next seq (nextSeq in the body)'),
      413: error('BODY_TOO_LARGE'),
      415: error('UNSUPPORTED_MEDIA_TYPE'),
      421: error('NOT_LEADER (with leader)'),
      501: error('UNAVAILABLE: acks above 0 without replicas'),
      503: error('SHUTTING_DOWN, LEADERSHIP_LOST'),
      504: error('REPLICATION_TIMEOUT'),
      507: error('PAYLOAD_TOO_LARGE'),
    },
  },
  {
    method: 'get',
    path: '/channels/{name}/events',
    id: 'readEvents',
    summary: 'read one page of a range (JSON, or binary with Accept: application/octet-stream)',
    query: ReadQuery,
    responses: {
      200: {
        description: 'a page',
        json: ReadResult,
        binary:
          'with Accept: application/octet-stream, per event: seq (u64 big-endian), length (u32 big-endian), payload; headers x-redex-next, x-redex-next-seq, x-redex-count, x-redex-first-seq',
      },
      ...CHANNEL_ERRORS,
    },
  },
  {
    method: 'post',
    path: '/channels/{name}/leadership',
    id: 'transferLeadership',
    summary: "hand the channel's leadership to another member (send it to the leader)",
    query: LeadershipQuery,
    responses: {
      200: { description: 'who leads now', json: LeadershipResult },
      ...CHANNEL_ERRORS,
      421: error('NOT_LEADER (with the leader)'),
      501: error('UNAVAILABLE: the channel is not replicated'),
      503: error('TRANSFER_FAILED, SHUTTING_DOWN'),
    },
  },
  {
    method: 'get',
    path: '/channels/{name}/tail',
    id: 'tailEvents',
    summary: 'history from `from`, then live events, as Server-Sent Events',
    query: TailQuery,
    responses: {
      200: { description: 'a stream of events', media: STREAM },
      ...CHANNEL_ERRORS,
      503: error('TOO_MANY_STREAMS, SHUTTING_DOWN'),
    },
  },
];

function parameters(operation: OperationDoc): object[] {
  const out: object[] = [];
  if (operation.path.includes('{name}')) {
    out.push({
      name: 'name',
      in: 'path',
      required: true,
      description: "the channel name, percent-encoded as one segment ('/' is %2F)",
      schema: ChannelName,
    });
  }
  for (const [name, schema] of Object.entries(operation.query.properties)) {
    out.push({ name, in: 'query', required: false, schema });
  }
  return out;
}

function response(doc: ResponseDoc): object {
  if ('json' in doc) {
    const content: Record<string, object> = { 'application/json': { schema: doc.json } };
    if (doc.binary !== undefined) {
      // The binary page of a read (binary-read.ts).
      content['application/octet-stream'] = {
        schema: {
          type: 'string',
          contentMediaType: 'application/octet-stream',
          description: doc.binary,
        },
      };
    }
    return { description: doc.description, content };
  }
  if ('media' in doc) {
    return {
      description: doc.description,
      content: { [doc.media]: { schema: { type: 'string' } } },
    };
  }
  return { description: doc.description };
}

function build(): object {
  const paths: Record<string, Record<string, object>> = {};
  for (const operation of OPERATIONS) {
    const responses: Record<string, object> = {};
    for (const [status, doc] of Object.entries(operation.responses)) {
      responses[status] = response(doc);
    }
    responses['401'] = {
      description: 'UNAUTHORIZED',
      content: { 'application/json': { schema: ErrorBody } },
    };
    const content: Record<string, object> = {};
    if (operation.body?.json !== undefined) {
      content['application/json'] = { schema: operation.body.json };
    }
    for (const media of operation.body?.raw ?? []) {
      content[media] = { schema: { type: 'string', contentMediaType: media } };
    }
    paths[operation.path] ??= {};
    paths[operation.path]![operation.method] = {
      operationId: operation.id,
      summary: operation.summary,
      parameters: parameters(operation),
      ...(operation.body === undefined ? {} : { requestBody: { required: true, content } }),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'RedEX node HTTP API',
      version: packageVersion(),
      description: 'docs/OPERATIONS.md describes every route, its errors and its limits.',
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: { Error: ErrorBody },
    },
    security: [{ bearer: [] }, {}],
    paths,
  };
}

let cached: object | null = null;

/** The document (built once: it depends on nothing but the code). */
export function openApiDocument(): object {
  cached ??= build();
  return cached;
}

/** GET /openapi.json */
export async function serveOpenApi(ctx: RequestContext): Promise<void> {
  noQuery.read(ctx.url.searchParams);
  sendJson(ctx.res, 200, openApiDocument());
}
