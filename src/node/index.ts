// The node daemon's public surface: config, the service contract and its single-node
// implementation, the HTTP server, and `startNode`.

export * from './address.js';
export * from './channel-spec.js';
export * from './config.js';
export { DASHBOARD_CSP, DASHBOARD_HTML } from './dashboard/page.js';
export * from './errors.js';
export { HttpError, HttpErrorCode } from './http/errors.js';
export * from './http/limits.js';
export {
  type HttpTlsMaterial,
  NodeHttpServer,
  type NodeHttpServerOptions,
  ROUTES,
} from './http/server.js';
export { LocalNodeService, type LocalNodeServiceOptions } from './local-service.js';
export { createLogger, type NodeLogger, silentLogger } from './logger.js';
export { leaderHint, type ResolvedMember, resolveMembers } from './members.js';
export { CHANNELS_DIR, type RunningNode, type StartNodeOptions, startNode } from './node.js';
export { formatNodeId, parseNodeIdHex } from './node-id.js';
export type * from './service.js';
