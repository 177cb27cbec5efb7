/**
 * Builders for the OpenAPI document (api/openapi.ts): the error responses every operation lists (in
 * the contract's error shape), the shared parameters (Idempotency-Key, list paging, typed path ids)
 * and the read / write / public operation shapes.
 */
import { IDEMPOTENCY_KEY_PATTERN, idPattern } from './openapi-schemas';

export type Op = Record<string, unknown>;
export type Param = Record<string, unknown>;

export const ERRORS: Record<number, string> = {
  400: 'invalid_request: malformed body, field, path, query or header (details.field names it)',
  401: 'authentication: missing, invalid or expired token or credentials',
  402: 'card_error: declined (details.paymentId)',
  403: 'authorization: role or source address not allowed',
  404: 'not_found: no such resource for this caller',
  409: 'conflict (state does not allow it) or idempotency_key_in_use',
  413: 'invalid_request: body_too_large',
  415: 'invalid_request: unsupported_encoding or unsupported_charset (bodies are UTF-8 JSON)',
  422: 'idempotency_key_reused, or a business rule (amount_exceeds_captured, verification_amounts_mismatch)',
  429: 'rate_limit',
  500: 'internal: an unexpected error (never a stack trace, SQL or card data)',
  503: 'provider_unavailable (no provider answered in time), or internal / service_unavailable (PostgreSQL or Temporal is down; retry later)',
};
export const errorContent = { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } };
export const errors = (codes: number[]) =>
  Object.fromEntries(
    [...new Set(codes)].map((c) => [String(c), { description: ERRORS[c] ?? 'Error', content: errorContent }]),
  );
export const json = (description: string, schema: unknown) => ({
  description,
  content: { 'application/json': { schema } },
});
export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
export const body = (schema: unknown, required = true) => ({
  required,
  content: { 'application/json': { schema } },
});

export const idem: Param = {
  name: 'Idempotency-Key',
  in: 'header',
  required: true,
  description:
    'Unique per operation; same key + same body replays the first answer (24 h), except a 5xx: the retry re-attaches to the same operation',
  schema: { type: 'string', pattern: IDEMPOTENCY_KEY_PATTERN },
};
export const pageParams: Param[] = [
  { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } },
  { name: 'startingAfter', in: 'query', schema: { type: 'string', pattern: idPattern() } },
];
export const pathId = (prefix: string, name = 'id'): Param => ({
  name,
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: idPattern(prefix) },
});

/** Errors any authenticated /v1 request can get (input gate, token, role, rate limit, dependencies). */
export const AUTHED = [400, 401, 403, 429, 500, 503];
/** ...and any mutating POST (idempotency, body size, state and business rules). */
export const MUTATING = [...AUTHED, 409, 413, 415, 422];
export const PUBLIC_POST = [400, 401, 413, 415, 429, 500, 503];

export const read = (summary: string, ok: unknown, parameters: Param[] = [], more: number[] = []): Op => ({
  summary,
  ...(parameters.length ? { parameters } : {}),
  responses: { '200': ok, ...errors([...AUTHED, ...more]) },
});
export const write = (
  summary: string,
  status: string,
  ok: unknown,
  opts: { parameters?: Param[]; requestBody?: unknown; more?: number[] } = {},
): Op => ({
  summary,
  parameters: [idem, ...(opts.parameters ?? [])],
  ...(opts.requestBody ? { requestBody: opts.requestBody } : {}),
  responses: { [status]: ok, ...errors([...MUTATING, ...(opts.more ?? [])]) },
});
export const pub = (op: Op): Op => ({ security: [], ...op });

/** A body that must be absent or `{}` (the route rejects any field). */
export const emptyBody = body({ type: 'object', additionalProperties: false, maxProperties: 0 }, false);
