/**
 * The OpenAPI document declares what the server enforces: each declared bound is probed against the
 * zod schema the route validates with (accepted at the bound, rejected past it), so the document
 * cannot drift from the validators in either direction. Schemathesis (npm run dast) relies on it.
 */
import type { z } from 'zod';
import { openApiDocument } from '../../api/openapi';
import { IDEMPOTENCY_KEY_PATTERN } from '../../api/openapi-schemas';
import { LoginBody, MfaBody, TokenBody } from '../../api/routes/auth';
import { CreateBankAccountBody, VerifyBody } from '../../api/routes/bank-accounts';
import { CaptureBody, CreatePaymentBody, RefundBody } from '../../api/routes/payments';
import { TokenizeBody } from '../../api/routes/vault';
import { CreateEndpointBody, UpdateEndpointBody } from '../../api/routes/webhook-endpoints';
import { currency } from '../../api/validation';
import { validatePan } from '../../domain/card';
import { MAX_AMOUNT } from '../../domain/money';

/** The zod schema each route validates its body with (the same ones api/openapi.ts documents). */
const REQUEST_VALIDATORS: Record<string, z.ZodType> = {
  'POST /v1/auth/token': TokenBody,
  'POST /v1/auth/login': LoginBody,
  'POST /v1/auth/mfa': MfaBody,
  'POST /v1/vault/cards': TokenizeBody,
  'POST /v1/payments': CreatePaymentBody,
  'POST /v1/payments/{id}/capture': CaptureBody,
  'POST /v1/payments/{id}/refunds': RefundBody,
  'POST /v1/bank-accounts': CreateBankAccountBody,
  'POST /v1/bank-accounts/{id}/verify': VerifyBody,
  'POST /v1/webhook-endpoints': CreateEndpointBody,
  'POST /v1/webhook-endpoints/{id}': UpdateEndpointBody,
};

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const doc = openApiDocument() as Json;
const op = (key: string): Json => {
  const [method, path] = key.split(' ') as [string, string];
  return doc.paths[path][method.toLowerCase()];
};
const bodySchema = (key: string): Json => op(key).requestBody.content['application/json'].schema;

/** A body each validator accepts; every probe below changes one field of it. */
const VALID: Record<string, Json> = {
  'POST /v1/auth/token': { clientId: 'cli_abcdefgh', clientSecret: 's' },
  'POST /v1/auth/login': { username: 'u', password: 'p' },
  'POST /v1/auth/mfa': { mfaToken: 't', code: '123456' },
  'POST /v1/vault/cards': { number: '4242424242424242', expMonth: 12, expYear: 2099 },
  'POST /v1/payments': {
    amount: 100,
    currency: 'USD',
    paymentMethod: { token: 'tok_abcdefgh' },
    capture: 'manual',
  },
  'POST /v1/payments/{id}/capture': {},
  'POST /v1/payments/{id}/refunds': {},
  'POST /v1/bank-accounts': {
    routingNumber: '011000015',
    accountNumber: '0001234',
    holderName: 'A B',
    accountType: 'checking',
  },
  'POST /v1/bank-accounts/{id}/verify': { amounts: [1, 2] },
  'POST /v1/webhook-endpoints': { url: 'https://example.com/h', events: ['payment.*'] },
  'POST /v1/webhook-endpoints/{id}': { status: 'enabled' },
};
const accepts = (key: string, body: Json) => REQUEST_VALIDATORS[key]!.safeParse(body).success;

test('every documented request body has a valid sample and a validator', () => {
  expect(Object.keys(VALID).sort()).toEqual(Object.keys(REQUEST_VALIDATORS).sort());
  for (const key of Object.keys(VALID)) expect([key, accepts(key, VALID[key]!)]).toEqual([key, true]);
});

test('amounts are integers in the minor unit with the server bounds, and the server agrees', () => {
  for (const key of [
    'POST /v1/payments',
    'POST /v1/payments/{id}/capture',
    'POST /v1/payments/{id}/refunds',
  ]) {
    expect(bodySchema(key).properties.amount).toEqual({ type: 'integer', minimum: 1, maximum: MAX_AMOUNT });
    const at = (amount: number) => accepts(key, { ...VALID[key], amount });
    expect([at(1), at(MAX_AMOUNT), at(0), at(MAX_AMOUNT + 1), at(1.5)]).toEqual([
      true,
      true,
      false,
      false,
      false,
    ]);
  }
});

test('the currency pattern accepts exactly the codes the validator accepts, in any case', () => {
  const re = new RegExp(bodySchema('POST /v1/payments').properties.currency.pattern);
  const letters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  const disagreements: string[] = [];
  for (const a of letters)
    for (const b of letters)
      for (const c of letters) {
        const code = a + b.toLowerCase() + c;
        if (re.test(code) !== currency.safeParse(code).success) disagreements.push(code);
      }
  expect(disagreements).toEqual([]);
  expect([re.test('usd'), re.test('USD'), re.test('US'), re.test('USDX')]).toEqual([
    true,
    true,
    false,
    false,
  ]);
});

test('the card number pattern is the vault format rule (12-19 digits with spaces or dashes)', () => {
  const re = new RegExp(bodySchema('POST /v1/vault/cards').properties.number.pattern);
  const formatError = (s: string) => {
    const r = validatePan(s);
    return 'field' in r && /12 to 19 digits/.test(r.message);
  };
  const samples = ['4242424242424242', '4242 4242 4242 4242', '4242-4242-4242-4242', ' 4242424242424242 '];
  for (let n = 10; n <= 21; n++) samples.push('4'.repeat(n), `${'4'.repeat(n - 1)}x`, '4 '.repeat(n));
  expect(samples.filter((s) => re.test(s) === formatError(s))).toEqual([]);
});

test('every declared string length and array size is the validator bound', () => {
  const disagreements: string[] = [];
  for (const [key, valid] of Object.entries(VALID)) {
    const props = (bodySchema(key).properties ?? {}) as Record<string, Json>;
    for (const [name, s] of Object.entries(props)) {
      const isArray = s.type === 'array';
      if (!isArray && (s.type !== 'string' || s.pattern?.startsWith('^[^') === false)) continue;
      const sample = (n: number) =>
        isArray ? Array(n).fill(valid[name]?.[0] ?? 'payment.*') : 'a'.repeat(n);
      const [min, max] = isArray ? [s.minItems, s.maxItems] : [s.minLength, s.maxLength];
      const probes: Array<[number, boolean]> = [];
      if (typeof max === 'number') probes.push([max, true], [max + 1, false]);
      if (typeof min === 'number' && min > 0) probes.push([min, true], [min - 1, false]);
      for (const [n, ok] of probes)
        if (accepts(key, { ...valid, [name]: sample(n) }) !== ok) disagreements.push(`${key} ${name} ${n}`);
    }
  }
  expect(disagreements).toEqual([]);
});

test('metadata: at most 20 keys of 1-40 characters, as the validator enforces', () => {
  const m = bodySchema('POST /v1/payments').properties.metadata;
  expect(m).toMatchObject({ maxProperties: 20, propertyNames: { minLength: 1, maxLength: 40 } });
  const meta = (n: number, key = (i: number) => `k${i}`) =>
    Object.fromEntries(Array.from({ length: n }, (_, i) => [key(i), 'v']));
  const at = (metadata: Json) => accepts('POST /v1/payments', { ...VALID['POST /v1/payments'], metadata });
  expect([
    at(meta(20)),
    at(meta(21)),
    at({ ['k'.repeat(40)]: 'v' }),
    at({ ['k'.repeat(41)]: 'v' }),
    at({ '': 'v' }),
  ]).toEqual([true, false, true, false, false]);
});

test('every request object rejects unknown fields, and the document says so', () => {
  const open: string[] = [];
  const walk = (s: Json, at: string) => {
    if (s.type === 'object' && s.properties && s.additionalProperties !== false) open.push(at);
    for (const [k, v] of Object.entries((s.properties ?? {}) as Record<string, Json>)) walk(v, `${at}.${k}`);
  };
  for (const key of Object.keys(VALID)) {
    walk(bodySchema(key), key);
    expect([key, accepts(key, { ...VALID[key], zzUnknown: 1 })]).toEqual([key, false]);
  }
  expect(open).toEqual([]);
});

test('every mutating /v1 POST requires an Idempotency-Key of 1-255 printable ASCII characters', () => {
  const missing: string[] = [];
  for (const [path, ops] of Object.entries(doc.paths as Record<string, Json>)) {
    const post = ops.post as Json | undefined;
    if (!post || !path.startsWith('/v1/') || path.startsWith('/v1/auth/')) continue;
    const p = (post.parameters ?? []).find((x: Json) => x.in === 'header' && x.name === 'Idempotency-Key');
    if (!p?.required || p.schema.pattern !== IDEMPOTENCY_KEY_PATTERN) missing.push(path);
  }
  expect(missing).toEqual([]);
  const re = new RegExp(IDEMPOTENCY_KEY_PATTERN);
  expect([
    re.test('k'),
    re.test('~'.repeat(255)),
    re.test(''),
    re.test('k'.repeat(256)),
    re.test('a\u007f'),
    re.test('é'),
  ]).toEqual([true, true, false, false, false, false]);
});

test('every error response of every operation is the contract error shape', () => {
  const wrong: string[] = [];
  for (const [path, ops] of Object.entries(doc.paths as Record<string, Json>))
    for (const [method, o] of Object.entries(ops))
      for (const [status, r] of Object.entries(o.responses as Record<string, Json>))
        if (Number(status) >= 400 && !(path === '/readyz' && status === '503'))
          if (r.content?.['application/json']?.schema?.$ref !== '#/components/schemas/Error')
            wrong.push(`${method} ${path} ${status}`);
  expect(wrong).toEqual([]);
  expect(doc.components.schemas.Error.properties.error.required).toEqual([
    'type',
    'code',
    'message',
    'requestId',
  ]);
});
