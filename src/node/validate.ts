// Small field checkers for JSON read from config files and request bodies. Each failure is a
// `NodeConfigError` naming the field's JSON path, so an operator can find the typo.

import { NodeConfigError } from './errors.js';

export interface FieldContext {
  /** What is being read, for the message prefix (default: the node config file). */
  readonly source?: string;
}

export function fail(ctx: FieldContext, field: string, message: string, cause?: unknown): never {
  throw new NodeConfigError(field, message, { cause, source: ctx.source });
}

export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  if (text === undefined) return typeof value;
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function checkObject(
  ctx: FieldContext,
  field: string,
  value: unknown,
): Record<string, unknown> {
  if (!isPlainObject(value)) fail(ctx, field, `must be an object, got ${describe(value)}`);
  return value;
}

/** Refuses keys outside `known`: a misspelt field would otherwise silently take its default. */
export function checkKeys(
  ctx: FieldContext,
  prefix: string,
  value: Record<string, unknown>,
  known: readonly string[],
): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      fail(ctx, join(prefix, key), `is not a known field (expected one of: ${known.join(', ')})`);
    }
  }
}

export function checkString(
  ctx: FieldContext,
  field: string,
  value: unknown,
  { minLength = 1, maxLength = 4096 } = {},
): string {
  if (typeof value !== 'string' || value.length < minLength || value.length > maxLength) {
    fail(
      ctx,
      field,
      `must be a string of ${minLength}..${maxLength} characters, got ${describe(value)}`,
    );
  }
  return value;
}

export function checkInteger(
  ctx: FieldContext,
  field: string,
  value: unknown,
  min: number,
  max: number,
): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    fail(ctx, field, `must be an integer in ${min}..${max}, got ${describe(value)}`);
  }
  return value;
}

export function checkBoolean(ctx: FieldContext, field: string, value: unknown): boolean {
  if (typeof value !== 'boolean') fail(ctx, field, `must be true or false, got ${describe(value)}`);
  return value;
}

export function checkArray(
  ctx: FieldContext,
  field: string,
  value: unknown,
  maxLength: number,
): unknown[] {
  if (!Array.isArray(value)) fail(ctx, field, `must be an array, got ${describe(value)}`);
  if (value.length > maxLength)
    fail(ctx, field, `has ${value.length} entries; the limit is ${maxLength}`);
  return value;
}

/** `a.b`, or just `b` at the top level. */
export function join(prefix: string, key: string): string {
  return prefix === '' ? key : `${prefix}.${key}`;
}
