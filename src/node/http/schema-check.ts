// Checks a value against a TypeBox schema compiled once, and turns the first failure into one
// sentence that names the field, says what the schema expects and shows the bad value:
// `events[1] must be a string, got 7`. The expectation is written from the schema itself (its
// type, bounds and allowed constants), so the message, the check and the OpenAPI document cannot
// disagree.

import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { Value } from 'typebox/value';
import { describe } from '../validate.js';

export interface SchemaFailure {
  /** The JSON path of the bad value (`events[1]`, `file.fsync`), '' for the whole value. */
  readonly field: string;
  /** `must be …, got …` or `is not a known field (…)`. */
  readonly message: string;
}

type Check = (value: unknown) => SchemaFailure | null;

/** A checker for `schema`, compiled once; it returns the first failure or null. */
export function compileCheck(schema: TSchema): Check {
  const validator = Compile(schema);
  return (value) => (validator.Check(value) ? null : locate(schema, value, []));
}

type Path = readonly (string | number)[];

/**
 * Walks `schema` and `value` together to the innermost value that breaks it. It runs only after
 * the compiled check failed, on bodies whose depth and size are already bounded. Of alternatives, the one of the value's JSON type is followed
 * when it is the only one (an object under `{…} or null`); otherwise the message lists them all.
 */
function locate(schema: TSchema, value: unknown, path: Path): SchemaFailure {
  const s = schema as Record<string, unknown>;
  const fail = (): SchemaFailure => ({
    field: fieldName(path),
    message: `must be ${expectation(schema)}, got ${shown(value)}`,
  });
  if (Array.isArray(s.anyOf)) {
    const kind = jsonType(value);
    let same = (s.anyOf as TSchema[]).filter((branch) => branchType(branch) === kind);
    // Objects of several shapes (`{ everyN }` or `{ intervalMs, maxBytes? }`): the one whose
    // fields the value has.
    if (same.length > 1 && kind === 'object') same = same.filter((b) => fieldsMatch(b, value));
    return same.length === 1 ? locate(same[0]!, value, path) : fail();
  }
  if (s.type === 'object') {
    if (jsonType(value) !== 'object') return fail();
    const record = value as Record<string, unknown>;
    const properties = (s.properties ?? {}) as Record<string, TSchema>;
    for (const key of (s.required as string[] | undefined) ?? []) {
      if (record[key] === undefined) return locate(properties[key]!, undefined, [...path, key]);
    }
    if (s.additionalProperties === false) {
      const extra = Object.keys(record).find((key) => !(key in properties));
      if (extra !== undefined) {
        return {
          field: fieldName([...path, extra]),
          message: `is not a known field (expected one of: ${Object.keys(properties).join(', ')})`,
        };
      }
    }
    for (const [key, inner] of Object.entries(properties)) {
      if (record[key] !== undefined && !Value.Check(inner, record[key])) {
        return locate(inner, record[key], [...path, key]);
      }
    }
    return fail();
  }
  if (s.type === 'array' && Array.isArray(value) && Value.Check({ ...s, items: {} }, value)) {
    const index = value.findIndex((item) => !Value.Check(s.items as TSchema, item));
    if (index >= 0) return locate(s.items as TSchema, value[index], [...path, index]);
  }
  return fail();
}

function fieldsMatch(branch: unknown, value: unknown): boolean {
  const b = branch as { properties?: object; required?: string[] };
  const keys = Object.keys(value as object);
  return (
    (b.required ?? []).every((key) => keys.includes(key)) &&
    keys.every((key) => key in (b.properties ?? {}))
  );
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value === 'number' ? 'number' : typeof value;
}

function branchType(schema: unknown): string {
  const s = schema as { type?: unknown; const?: unknown };
  if (s.type === 'integer') return 'number';
  if (typeof s.type === 'string') return s.type;
  return 'const' in s ? jsonType(s.const) : 'unknown';
}

/** What a schema accepts, in words: `an integer in 1..16`, `"base64" or "utf8"`. */
export function expectation(schema: unknown): string {
  const s = schema as Record<string, unknown>;
  if (Array.isArray(s.anyOf)) return alternatives(s.anyOf.map(expectation));
  if ('const' in s) return JSON.stringify(s.const);
  if (Array.isArray(s.enum)) return alternatives(s.enum.map((entry) => JSON.stringify(entry)));
  switch (s.type) {
    case 'integer':
    case 'number': {
      const noun = s.type === 'integer' ? 'an integer' : 'a number';
      if ('exclusiveMinimum' in s || 'exclusiveMaximum' in s) {
        const low = s.exclusiveMinimum ?? s.minimum;
        const high = s.exclusiveMaximum ?? s.maximum;
        return `${noun} in ${'exclusiveMinimum' in s ? '(' : '['}${low}, ${high}${'exclusiveMaximum' in s ? ')' : ']'}`;
      }
      if (typeof s.minimum === 'number' && typeof s.maximum === 'number') {
        return `${noun} in ${s.minimum}..${s.maximum}`;
      }
      if (typeof s.minimum === 'number') return `${noun} of at least ${s.minimum}`;
      return noun;
    }
    case 'string':
      return typeof s.maxLength === 'number'
        ? `a string of ${s.minLength ?? 0}..${s.maxLength} characters`
        : 'a string';
    case 'boolean':
      return 'true or false';
    case 'null':
      return 'null';
    case 'array': {
      const items = s.items === undefined ? 'entries' : plural(expectation(s.items));
      if (typeof s.maxItems !== 'number') return `an array of ${items}`;
      return typeof s.minItems === 'number' && s.minItems > 0
        ? `an array of ${s.minItems}..${s.maxItems} ${items}`
        : `an array of at most ${s.maxItems} ${items}`;
    }
    case 'object': {
      // `{ intervalMs, maxBytes? }`: the fields, the optional ones marked.
      const fields = Object.keys((s.properties as object | undefined) ?? {});
      if (fields.length === 0 || fields.length > 4) return 'an object';
      const required = new Set((s.required as string[] | undefined) ?? []);
      return `{ ${fields.map((key) => (required.has(key) ? key : `${key}?`)).join(', ')} }`;
    }
    default:
      return 'valid';
  }
}

function alternatives(parts: readonly string[]): string {
  return parts.length <= 1
    ? (parts[0] ?? 'valid')
    : `${parts.slice(0, -1).join(', ')} or ${parts.at(-1)}`;
}

function plural(expect: string): string {
  return expect.replace(/^an? (string|integer|number|object)/, '$1s').replace(/^an? /, '');
}

function shown(value: unknown): string {
  return Array.isArray(value) && value.length > 8 ? `${value.length} entries` : describe(value);
}

/** ['events', '1'] → `events[1]`; ['file', 'fsync'] → `file.fsync`. */
function fieldName(path: Path): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? part : `.${part}`;
  }
  return out;
}
