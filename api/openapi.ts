/**
 * The OpenAPI document served at GET /openapi.json. Request schemas are generated from the same zod
 * schemas the routes validate with; test/integration/openapi.test.ts checks every route is here.
 */
import { z } from 'zod';
import { ERROR_TYPES } from '../domain/errors';
import { LoginBody, MfaBody, TokenBody } from './routes/auth';
import { CreateBankAccountBody, VerifyBody } from './routes/bank-accounts';
import { CaptureBody, CreatePaymentBody, RefundBody } from './routes/payments';
import { TokenizeBody } from './routes/vault';
import { CreateEndpointBody } from './routes/webhook-endpoints';

type Op = Record<string, unknown>;
const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' });
const errorRef = { $ref: '#/components/schemas/Error' };
const errors = (...codes: number[]) =>
  Object.fromEntries(
    codes.map((c) => [
      String(c),
      { description: 'Error (contract shape)', content: { 'application/json': { schema: errorRef } } },
    ]),
  );
const body = (s: z.ZodType) => ({ required: true, content: { 'application/json': { schema: schema(s) } } });
const idem = {
  name: 'Idempotency-Key',
  in: 'header',
  required: true,
  schema: { type: 'string', minLength: 1, maxLength: 255 },
};
const ok = (d: string) => ({
  description: d,
  content: { 'application/json': { schema: { type: 'object' } } },
});
const list = (d: string) => ({
  description: d,
  content: {
    'application/json': {
      schema: { type: 'object', properties: { data: { type: 'array' }, hasMore: { type: 'boolean' } } },
    },
  },
});
const pageParams = [
  { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } },
  { name: 'startingAfter', in: 'query', schema: { type: 'string' } },
];
const id = (name = 'id') => ({ name, in: 'path', required: true, schema: { type: 'string' } });
const pub = (op: Op): Op => ({ security: [], ...op });
/** A mutating POST: Idempotency-Key required, plus the idempotency errors. */
const post = (summary: string, _status: string, extra: Op = {}, codes: number[] = []): Op => ({
  summary,
  parameters: [idem, ...((extra.parameters as unknown[]) ?? [])],
  ...(extra.requestBody ? { requestBody: extra.requestBody } : {}),
  responses: { ...(extra.responses as object), ...errors(400, 401, 403, 409, 422, 429, ...codes) },
});

export function openApiDocument(): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Settle API',
      version: '1.0.0',
      description:
        'The contract is API.md. Implementer choices documented here: admin routes (clients, operators, signing keys), webhook-endpoint reads and delivery log, logout, JWKS.',
    },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT (EdDSA, at most 15 minutes)' },
      },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['type', 'code', 'message', 'requestId'],
              properties: {
                type: { type: 'string', enum: [...ERROR_TYPES] },
                code: { type: 'string' },
                message: { type: 'string' },
                details: { type: 'object' },
                requestId: { type: 'string' },
              },
            },
          },
        },
      },
    },
    security: [{ bearer: [] }],
    paths: {
      '/healthz': { get: pub({ summary: 'Liveness', responses: { '200': ok('Alive') } }) },
      '/readyz': {
        get: pub({
          summary: 'Readiness (PostgreSQL, Temporal)',
          responses: { '200': ok('Ready'), '503': ok('Not ready') },
        }),
      },
      '/.well-known/jwks.json': {
        get: pub({ summary: 'Public keys that verify access tokens', responses: { '200': ok('JWKS') } }),
      },
      '/v1/auth/token': {
        post: pub({
          summary: 'Service-client token',
          requestBody: body(TokenBody),
          responses: { '200': ok('{ accessToken, tokenType, expiresIn }'), ...errors(400, 401, 429) },
        }),
      },
      '/v1/auth/login': {
        post: pub({
          summary: 'Operator password step',
          requestBody: body(LoginBody),
          responses: { '200': ok('{ mfaToken }'), ...errors(400, 401, 429) },
        }),
      },
      '/v1/auth/mfa': {
        post: pub({
          summary: 'Operator TOTP step',
          requestBody: body(MfaBody),
          responses: { '200': ok('{ accessToken, tokenType, expiresIn }'), ...errors(400, 401, 429) },
        }),
      },
      '/v1/auth/logout': {
        post: {
          summary: 'End the operator session',
          responses: { '204': { description: 'Logged out' }, ...errors(401) },
        },
      },
      '/v1/vault/cards': {
        post: post('Tokenize a card', '201', {
          requestBody: body(TokenizeBody),
          responses: { '201': ok('Card metadata (never the number)') },
        }),
      },
      '/v1/vault/cards/{token}': {
        get: {
          summary: 'Card metadata',
          parameters: [id('token')],
          responses: { '200': ok('Card metadata'), ...errors(401, 403, 404) },
        },
        delete: {
          summary: 'Delete (crypto-shred) a card',
          parameters: [id('token')],
          responses: { '204': { description: 'Shredded' }, ...errors(401, 403, 404) },
        },
      },
      '/v1/payments': {
        post: post('Create and authorize a payment', '201', {
          requestBody: body(CreatePaymentBody),
          responses: {
            '201': ok('Payment (authorized or captured)'),
            '402': ok('card_error with details.paymentId'),
            '503': ok('provider_unavailable; the payment continues'),
          },
        }),
        get: {
          summary: 'List payments',
          parameters: [...pageParams, { name: 'status', in: 'query', schema: { type: 'string' } }],
          responses: { '200': list('Payments'), ...errors(400, 401, 403) },
        },
      },
      '/v1/payments/{id}': {
        get: {
          summary: 'Read a payment',
          parameters: [id()],
          responses: { '200': ok('Payment'), ...errors(401, 403, 404) },
        },
      },
      '/v1/payments/{id}/capture': {
        post: post(
          'Capture (partial or full)',
          '200',
          { parameters: [id()], requestBody: body(CaptureBody), responses: { '200': ok('Payment') } },
          [404, 503],
        ),
      },
      '/v1/payments/{id}/void': {
        post: post(
          'Void before capture',
          '200',
          { parameters: [id()], responses: { '200': ok('Payment') } },
          [404, 503],
        ),
      },
      '/v1/payments/{id}/refunds': {
        post: post(
          'Refund (partial or full)',
          '201',
          { parameters: [id()], requestBody: body(RefundBody), responses: { '201': ok('Refund') } },
          [404, 503],
        ),
      },
      '/v1/bank-accounts': {
        post: post(
          'Add a bank account and verify it',
          '201',
          { requestBody: body(CreateBankAccountBody), responses: { '201': ok('Bank account') } },
          [503],
        ),
      },
      '/v1/bank-accounts/{id}': {
        get: {
          summary: 'Read a bank account',
          parameters: [id()],
          responses: { '200': ok('Bank account'), ...errors(401, 403, 404) },
        },
      },
      '/v1/bank-accounts/{id}/verify': {
        post: post(
          'Submit micro-deposit amounts',
          '200',
          { parameters: [id()], requestBody: body(VerifyBody), responses: { '200': ok('Bank account') } },
          [404],
        ),
      },
      '/v1/webhook-endpoints': {
        post: post(
          'Register a webhook endpoint (secret shown once)',
          '201',
          { requestBody: body(CreateEndpointBody), responses: { '201': ok('Endpoint with secret') } },
          [503],
        ),
        get: {
          summary: 'List webhook endpoints',
          parameters: pageParams,
          responses: { '200': list('Endpoints'), ...errors(401, 403) },
        },
      },
      '/v1/webhook-endpoints/{id}': {
        get: {
          summary: 'Read a webhook endpoint',
          parameters: [id()],
          responses: { '200': ok('Endpoint'), ...errors(401, 403, 404) },
        },
      },
      '/v1/webhook-endpoints/{id}/deliveries': {
        get: {
          summary: 'Delivery log of an endpoint',
          parameters: [id(), ...pageParams],
          responses: { '200': list('Deliveries'), ...errors(401, 403, 404) },
        },
      },
      '/v1/audit-events': {
        get: {
          summary: 'Audit events (hash-chained)',
          parameters: pageParams,
          responses: { '200': list('Audit events'), ...errors(400, 401, 403) },
        },
      },
      '/v1/audit-events/verify': {
        get: {
          summary: 'Verify the audit chain',
          responses: { '200': ok('{ valid, checked, firstBrokenId? }'), ...errors(401, 403) },
        },
      },
      '/v1/clients': {
        get: {
          summary: 'List API clients (admin)',
          parameters: pageParams,
          responses: { '200': list('Clients'), ...errors(401, 403) },
        },
      },
      '/v1/clients/{id}': {
        get: {
          summary: 'Read an API client (admin)',
          parameters: [id()],
          responses: { '200': ok('Client'), ...errors(401, 403, 404) },
        },
      },
      '/v1/clients/{id}/disable': {
        post: post(
          'Disable an API client (admin)',
          '200',
          { parameters: [id()], responses: { '200': ok('Client') } },
          [404],
        ),
      },
      '/v1/operators': {
        get: {
          summary: 'List operators (admin)',
          parameters: pageParams,
          responses: { '200': list('Operators'), ...errors(401, 403) },
        },
      },
      '/v1/operators/{id}': {
        get: {
          summary: 'Read an operator (admin)',
          parameters: [id()],
          responses: { '200': ok('Operator'), ...errors(401, 403, 404) },
        },
      },
      '/v1/operators/{id}/unlock': {
        post: post(
          'Unlock a locked operator (admin)',
          '200',
          { parameters: [id()], responses: { '200': ok('Operator') } },
          [404],
        ),
      },
      '/v1/operators/{id}/revoke-sessions': {
        post: post(
          "Revoke an operator's sessions (admin)",
          '200',
          { parameters: [id()], responses: { '200': ok('Result') } },
          [404],
        ),
      },
      '/v1/operators/{id}/disable': {
        post: post(
          'Disable an operator (admin)',
          '200',
          { parameters: [id()], responses: { '200': ok('Operator') } },
          [404],
        ),
      },
      '/v1/signing-keys': {
        get: { summary: 'Token signing keys (admin)', responses: { '200': ok('Keys'), ...errors(401, 403) } },
      },
      '/v1/signing-keys/rotate': {
        post: post('Rotate the token signing key in this process (admin)', '200', {
          responses: { '200': ok('Keys') },
        }),
      },
      '/webhooks/stripe': {
        post: pub({
          summary: 'Stripe events (Stripe-Signature over the raw body)',
          responses: { '200': ok('Stored once'), ...errors(400) },
        }),
      },
      '/webhooks/braintree': {
        post: pub({
          summary: 'Braintree notifications (bt_signature, bt_payload)',
          responses: { '200': ok('Stored once'), ...errors(400) },
        }),
      },
    },
  };
}
