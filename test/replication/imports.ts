// One import point for the replication tests: the public surface plus the shared types.
export * from '../../src/log/errors.js';
export * from '../../src/replication/index.js';
export * from '../../src/wire/types.js';
