import type { FastifyRequest } from 'fastify';
import { badRequest, fieldError } from './problem.js';

/**
 * MAX_JSON_DEPTH bounds how deeply a JSON body may nest. Validation, size checks and storage walk
 * values recursively, so a body nested 100,000 levels deep would overflow the stack: a 500.
 */
export const MAX_JSON_DEPTH = 64;

/** jsonDepthExceeds tells whether a parsed JSON value nests deeper than `limit`, without recursion. */
export function jsonDepthExceeds(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth > limit) return true;
    for (const child of Object.values(current)) stack.push([child, depth + 1]);
  }
  return false;
}

/**
 * findNul returns the dotted path of the first string (key or value) holding a NUL character.
 * PostgreSQL cannot store NUL in text, so such input is refused up front, on both engines alike.
 */
export function findNul(value: unknown, prefix = ''): string | undefined {
  const stack: [unknown, string][] = [[value, prefix]];
  while (stack.length > 0) {
    const [current, path] = stack.pop()!;
    if (typeof current === 'string') {
      if (current.includes('\0')) return path || '(root)';
    } else if (current !== null && typeof current === 'object') {
      for (const [key, child] of Object.entries(current)) {
        const childPath = path ? `${path}.${key}` : key;
        if (key.includes('\0')) return childPath;
        stack.push([child, childPath]);
      }
    }
  }
  return undefined;
}

/** tooDeep is the 400 for a body nested deeper than MAX_JSON_DEPTH. */
export function tooDeep(): Error {
  return badRequest(`The JSON body nests deeper than ${MAX_JSON_DEPTH} levels.`);
}

/** refuseNul is a preValidation hook: a NUL in a path parameter, the query or the body is a 400. */
export async function refuseNul(request: FastifyRequest): Promise<void> {
  const sources: [unknown, string][] = [
    [request.params, 'path.'],
    [request.query, 'query.'],
    [request.body, ''],
  ];
  for (const [value, prefix] of sources) {
    const at = findNul(value);
    if (at !== undefined) throw fieldError(`${prefix}${at}`, 'must not contain NUL characters');
  }
}
