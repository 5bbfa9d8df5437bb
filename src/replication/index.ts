// Public surface of the replication layer (docs/DESIGN.md#replication): the pure core, the
// runtime, the router,
// and the pieces a host (the mesh) implements or calls.
export * from './backoff.js';
export * from './budget.js';
export * from './catchup.js';
export * from './config.js';
export * from './coordinator.js';
export * from './disk-pressure.js';
export * from './dispatcher.js';
export * from './election.js';
export * from './enable.js';
export * from './handle.js';
export * from './heartbeat-tracker.js';
export * from './host.js';
export * from './inbox.js';
export * from './metrics.js';
export * from './outstanding.js';
export * from './placement.js';
export * from './progress.js';
export * from './replicator.js';
export * from './roles.js';
export * from './router.js';
export * from './runtime.js';
export * from './runtime-stats.js';
export * from './tick.js';
