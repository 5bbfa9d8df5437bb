export * from './log/errors.js';
export * from './time/index.js';
export * from './wire/index.js';
