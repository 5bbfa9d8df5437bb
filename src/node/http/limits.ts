// Every bound of the HTTP API in one place (docs/OPERATIONS.md lists them; tests cross each one).

/**
 * Body of `POST /channels/{name}/events` with JSON. Small on purpose: scanning, parsing and
 * base64-decoding JSON is synchronous work on the event loop (8 MiB took a few hundred ms), so
 * one request stays within tens of ms. Larger events go as application/octet-stream, larger
 * batches as application/vnd.redex.batch, neither of which is parsed.
 */
export const APPEND_JSON_BODY_BYTES_MAX = 1024 * 1024;
/** Body of `POST /channels/{name}/events` as application/octet-stream (one event). */
export const RAW_EVENT_BYTES_MAX = 4 * 1024 * 1024;
/** One event's payload, after decoding, whatever the format. */
export const EVENT_BYTES_MAX = RAW_EVENT_BYTES_MAX;
/** Body of `POST /channels/{name}/events` as application/vnd.redex.batch (length-prefixed). */
export const APPEND_BATCH_BODY_BYTES_MAX = 16 * 1024 * 1024;
/** Events in one batch append. */
export const BATCH_EVENTS_MAX = 10_000;
/** Body of `POST /channels`. */
export const CREATE_BODY_BYTES_MAX = 64 * 1024;
/**
 * JSON shapes, checked before parsing (a parse of deep or value-dense JSON holds the event loop):
 * an append is `{ "events": [...] }` (depth 2, one value per event plus the fields); a channel
 * spec nests `replication.placement.pinned` (depth 4) and holds a few dozen values at most.
 */
export const APPEND_JSON_DEPTH_MAX = 2;
export const APPEND_JSON_VALUES_MAX = BATCH_EVENTS_MAX + 8;
export const CHANNEL_SPEC_DEPTH_MAX = 4;
export const CHANNEL_SPEC_VALUES_MAX = 256;
/** Events per read answer (`limit`), and its default. */
export const READ_EVENTS_MAX = 10_000;
export const READ_EVENTS_DEFAULT = 1_000;
/** Payload bytes per read answer (`maxBytes`), and its default; one event always fits. */
export const READ_BYTES_MAX = 4 * 1024 * 1024;
export const READ_BYTES_DEFAULT = 1024 * 1024;
/** Replicas an append may wait for, and how long. */
export const APPEND_REPLICAS_MAX = 16;
export const APPEND_TIMEOUT_MS_DEFAULT = 5_000;
export const APPEND_TIMEOUT_MS_MAX = 60_000;
/** Open Server-Sent-Event streams (tails and status) at once; more are refused with 503. */
export const SSE_STREAMS_MAX = 1_024;
/** SSE streams one client address may hold open at once (besides the node-wide cap). */
export const SSE_STREAMS_PER_ADDRESS_MAX = 64;
/** An SSE write that cannot drain for this long ends the stream (the client stopped reading). */
export const SSE_WRITE_TIMEOUT_MS_DEFAULT = 30_000;
/** A comment line on every SSE stream this often keeps proxies from closing it. */
export const SSE_HEARTBEAT_MS_DEFAULT = 15_000;
/** Status stream: a push at least this often, and changes coalesced to at most one per min. */
export const STATUS_PUSH_INTERVAL_MS_DEFAULT = 1_000;
export const STATUS_PUSH_MIN_MS_DEFAULT = 100;
/** Receiving a whole request (headers and body) may take this long. */
export const REQUEST_TIMEOUT_MS = 60_000;
/** Receiving a request head may take this long; a client that never finishes one is cut. */
export const HEADERS_TIMEOUT_MS = 10_000;
/** Open connections in all (a backstop below the usual descriptor limits); more are refused. */
export const HTTP_CONNECTIONS_MAX = 4_096;
/** Connections waiting for a request head, in all and from one address; the oldest is closed. */
export const HTTP_WAITING_CONNECTIONS_MAX = 256;
// Per address: above the 64 connections a client keep-alive pool may hold, since a pooled connection
// idles between requests and counts as waiting then (it would be closed under the client).
export const HTTP_WAITING_PER_ADDRESS_MAX = 128;
/** `close()` waits this long for requests in flight before cutting connections. */
export const CLOSE_TIMEOUT_MS = 10_000;
