// Query-string parameters, each checked with a message that names it.

import { badRequest } from './errors.js';

export function intParam(
  params: URLSearchParams,
  name: string,
  { min, max, fallback }: { min: number; max: number; fallback: number | null },
): number | null {
  const raw = params.get(name);
  if (raw === null || raw === '') return fallback;
  if (!/^\d{1,16}$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw badRequest(
      `query parameter '${name}' must be an integer in ${min}..${max}, got ${JSON.stringify(raw.slice(0, 40))}`,
    );
  }
  return Number(raw);
}

/** Refuses parameters a route does not know (a typo like `form=5` would silently read from 0). */
export function checkParams(params: URLSearchParams, known: readonly string[]): void {
  for (const name of params.keys()) {
    if (!known.includes(name)) {
      throw badRequest(
        `unknown query parameter ${JSON.stringify(name.slice(0, 40))}${known.length > 0 ? ` (known: ${known.join(', ')})` : ''}`,
      );
    }
  }
}
