export { CHANNEL_NAME_BYTES_MAX, validateChannelName } from './channel-name.js';
export type {
  FsyncPolicy,
  RedexFileConfig,
  ResolvedFileConfig,
  RetentionPolicy,
} from './config.js';
export { MAX_LIVE_BYTES_DEFAULT, resolveFileConfig, TAIL_BUFFER_SIZE_DEFAULT } from './config.js';
export * from './errors.js';
export type { RedexEvent } from './event.js';
export {
  OPEN_MANY_CONCURRENCY_DEFAULT,
  OPEN_MANY_CONCURRENCY_MAX,
  type OpenManyOptions,
  type OpenSpec,
  openMany,
} from './open-many.js';
export { Redex, type RedexOptions } from './redex.js';
export {
  type AppendOptions,
  type FileReplication,
  PAGE_EVENT_OVERHEAD_BYTES,
  type ReadStreamOptions,
  RedexFile,
  type TailOptions,
  type WaitForReplicasOptions,
} from './redex-file.js';
export { RETENTION_EVENT_OVERHEAD_BYTES } from './retention.js';
export { RedexTail } from './tail.js';
