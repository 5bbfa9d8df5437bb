// What the node needs from a logger. pino's `Logger` satisfies it; tests pass a silent one or a
// recorder. Kept tiny so the cluster service and tests do not depend on pino.

import { pino } from 'pino';
import type { LogLevel } from './config.js';

type LogFn = (fields: object, message?: string) => void;

export interface NodeLogger {
  readonly error: LogFn;
  readonly warn: LogFn;
  readonly info: LogFn;
  readonly debug: LogFn;
}

/** JSON lines on stderr (stdout stays free for command output). */
export function createLogger(level: LogLevel, name: string): NodeLogger {
  return pino({ level, base: { node: name } }, pino.destination(2));
}

export const silentLogger: NodeLogger = {
  error: () => {},
  warn: () => {},
  info: () => {},
  debug: () => {},
};
