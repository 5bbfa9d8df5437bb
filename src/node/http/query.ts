// Query-string parameters, read by the route's query schema (api-schemas.ts): a parameter the
// schema does not list is refused (a typo like `form=5` would silently read from 0), a number is
// decimal digits only, and each value is checked against its own schema, with a message that
// names the parameter and the value.

import type { TObject, TSchema } from 'typebox';
import { NoQuery } from './api-schemas.js';
import { badRequest } from './errors.js';
import { compileCheck, expectation } from './schema-check.js';

const DIGITS = /^\d{1,16}$/;

export interface QueryReader<T> {
  readonly schema: TObject;
  read(params: URLSearchParams): T;
}

/**
 * A reader for `schema` (an object of optional parameters): the values it returns are numbers
 * where the schema takes integers, strings otherwise, and the schema's `default` when absent
 * (an empty value counts as absent).
 */
export function queryReader<T>(schema: TObject): QueryReader<T> {
  const properties = schema.properties as Record<string, TSchema>;
  const known = Object.keys(properties);
  const checks = new Map(known.map((name) => [name, compileCheck(properties[name]!)]));
  return {
    schema,
    read(params) {
      const out: Record<string, unknown> = {};
      checkParams(params, known);
      for (const name of known) {
        const raw = params.get(name);
        const property = properties[name] as TSchema & { default?: unknown };
        if (raw === null || raw === '') {
          if (property.default !== undefined) out[name] = property.default;
          continue;
        }
        const value = takesInteger(property) && DIGITS.test(raw) ? Number(raw) : raw;
        if (checks.get(name)!(value) !== null) {
          throw badRequest(
            `query parameter '${name}' must be ${expectation(property)}, got ${JSON.stringify(raw.slice(0, 40))}`,
          );
        }
        out[name] = value;
      }
      return out as T;
    },
  };
}

function takesInteger(schema: unknown): boolean {
  const s = schema as { type?: unknown; anyOf?: unknown[] };
  return s.type === 'integer' || (s.anyOf ?? []).some(takesInteger);
}

/** Refuses parameters outside `known` (for routes whose only parameter is the stream token). */
export function checkParams(params: URLSearchParams, known: readonly string[]): void {
  for (const name of params.keys()) {
    if (!known.includes(name)) {
      throw badRequest(
        `unknown query parameter ${JSON.stringify(name.slice(0, 40))}${known.length > 0 ? ` (known: ${known.join(', ')})` : ''}`,
      );
    }
  }
}

/** For routes that take no parameters. */
export const noQuery = queryReader<Record<string, never>>(NoQuery);
