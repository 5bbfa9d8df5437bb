export * from './log/index.js';
export * from './mesh/index.js';
export * from './replication/index.js';
export * from './time/index.js';
export * from './wire/index.js';
