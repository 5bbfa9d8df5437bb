// Public surface of the pure replication core (REDEX.md §6).
export * from './budget.js';
export * from './catchup.js';
export * from './config.js';
export * from './coordinator.js';
export * from './election.js';
export * from './heartbeat-tracker.js';
export * from './metrics.js';
export * from './placement.js';
export * from './roles.js';
export * from './tick.js';
