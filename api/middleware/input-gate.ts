/**
 * The one input gate (API.md "Conventions"): every string that enters the API must be well-formed
 * Unicode without NUL or any other C0/C1 control character: the path (each segment strictly
 * percent-decoded), the query (keys and values), the header values the API reads, and the JSON
 * body at any depth including object keys. JSON nesting and key counts are bounded, so nothing
 * behind the gate (validation, hashing, logging, audit) walks an unbounded tree. Anything else is a
 * 400 `invalid_request` naming the field, before routing, so nothing is stored or started.
 *
 * No field documents an exception, so the rule has none. Card numbers in free text are the
 * schemas' business (api/validation.ts `freeText`): only they know which strings are free text.
 */
import { isUtf8 } from 'node:buffer';
import type { NextFunction, Request, Response } from 'express';
import { AppError, invalidRequest } from '../../domain/errors';
import { fieldPath } from '../validation';

export const LIMITS = { depth: 32, entriesPerContainer: 100, entriesTotal: 1000 } as const;

/** Headers the API reads; the others are not input to anything. */
const READ_HEADERS = [
  'authorization',
  'idempotency-key',
  'content-type',
  'stripe-signature',
  'x-forwarded-for',
];

/** C0, DEL, C1; with the u flag the surrogate class matches only a lone (unpaired) surrogate. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /[\ud800-\udfff]/u;

/** Why a string is refused, or undefined when it is acceptable. */
export function stringProblem(s: string): string | undefined {
  if (LONE_SURROGATE.test(s)) return 'must be well-formed Unicode (no unpaired surrogate)';
  if (CONTROL.test(s)) return 'must not contain NUL or other control characters';
  return undefined;
}

const refuse = (field: string, problem: string, code = 'invalid_string') =>
  invalidRequest(code, `Invalid value for ${field}: ${problem}`, { field });

/** Strict percent-decoding: an escape that is not UTF-8 (`%FF`, an encoded surrogate) throws. */
function decode(raw: string, plusIsSpace: boolean): string | undefined {
  try {
    return decodeURIComponent(plusIsSpace ? raw.replace(/\+/g, ' ') : raw);
  } catch {
    return undefined;
  }
}

function checkPath(path: string): void {
  for (const segment of path.split('/')) {
    const decoded = decode(segment, false);
    if (decoded === undefined) throw refuse('path', 'not a valid percent-encoded UTF-8 path');
    const problem = stringProblem(decoded);
    if (problem) throw refuse('path', problem);
  }
  // Strict routing: `/v1/payments/` is not `/v1/payments` (a mount point would otherwise accept both).
  if (path.length > 1 && path.endsWith('/'))
    throw new AppError('not_found', 'route_not_found', 'No such route');
}

function checkQuery(url: string): void {
  const q = url.indexOf('?');
  if (q < 0) return;
  for (const pair of url.slice(q + 1).split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = decode(eq < 0 ? pair : pair.slice(0, eq), true);
    if (name === undefined || stringProblem(name)) throw refuse('query', 'a parameter name is invalid');
    const field = fieldPath(['query', name]);
    const value = decode(eq < 0 ? '' : pair.slice(eq + 1), true);
    if (value === undefined) throw refuse(field, 'not valid percent-encoded UTF-8');
    const problem = stringProblem(value);
    if (problem) throw refuse(field, problem);
  }
}

/**
 * Read headers that must come at most once: Node joins repeated unknown headers (`a, b`) and keeps
 * only the first of some known ones, so a second copy would be silently merged or ignored.
 */
const SINGLE_HEADERS = new Set(['authorization', 'idempotency-key', 'content-type', 'stripe-signature']);

function checkHeaders(req: Request): void {
  const seen = new Set<string>();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = (req.rawHeaders[i] ?? '').toLowerCase();
    if (!SINGLE_HEADERS.has(name)) continue;
    if (seen.has(name)) throw refuse(`header.${name}`, 'must be sent at most once', 'duplicate_header');
    seen.add(name);
  }
  // The server accepts a missing Host (requireHostHeader: false) so that this answer has the
  // contract's shape instead of Node's bare 400; HTTP/1.1 still requires it (RFC 9112 3.2).
  if (req.httpVersionMajor === 1 && req.httpVersionMinor >= 1 && req.headers.host === undefined)
    throw refuse('header.host', 'is required in HTTP/1.1', 'missing_header');
  for (const name of READ_HEADERS) {
    const v = req.headers[name];
    for (const value of Array.isArray(v) ? v : v === undefined ? [] : [v]) {
      const problem = stringProblem(value);
      if (problem) throw refuse(`header.${name}`, problem);
    }
  }
}

/** Path, query and headers: before anything else looks at the request (provider webhooks included). */
export function requestGate(req: Request, _res: Response, next: NextFunction): void {
  const url = req.originalUrl;
  const q = url.indexOf('?');
  checkPath(q < 0 ? url : url.slice(0, q));
  checkQuery(url);
  checkHeaders(req);
  next();
}

/**
 * Walks a parsed JSON body without recursion past the depth limit: strings (values and keys) must
 * pass `stringProblem`, containers are at most LIMITS deep and wide.
 */
export function checkJson(body: unknown): void {
  let total = 0;
  const visit = (value: unknown, at: Array<string | number>): void => {
    if (typeof value === 'string') {
      const problem = stringProblem(value);
      if (problem) throw refuse(fieldPath(at), problem);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    const field = fieldPath(at);
    if (at.length >= LIMITS.depth)
      throw refuse(field, `nested deeper than ${LIMITS.depth} levels`, 'too_deep');
    const entries: Array<[string | number, unknown]> = Array.isArray(value)
      ? value.map((v, i) => [i, v])
      : Object.entries(value);
    if (entries.length > LIMITS.entriesPerContainer)
      throw refuse(field, `more than ${LIMITS.entriesPerContainer} entries`, 'too_many_entries');
    total += entries.length;
    if (total > LIMITS.entriesTotal)
      throw refuse('body', `more than ${LIMITS.entriesTotal} entries in all`, 'too_many_entries');
    for (const [k, v] of entries) {
      if (typeof k === 'string' && stringProblem(k)) throw refuse(field, 'an object key is invalid');
      visit(v, [...at, k]);
    }
  };
  visit(body, []);
}

/** The JSON body, once express.json has parsed it. */
export function bodyGate(req: Request, _res: Response, next: NextFunction): void {
  checkJson(req.body);
  next();
}

/**
 * express.json `verify`: the raw bytes must be UTF-8. The parser would otherwise turn invalid
 * bytes into U+FFFD, and the request would be stored altered instead of refused.
 */
export function requireUtf8Body(_req: unknown, _res: unknown, buf: Buffer): void {
  if (!isUtf8(buf)) throw refuse('body', 'not valid UTF-8', 'invalid_encoding');
}
