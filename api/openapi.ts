/**
 * The OpenAPI document served at GET /openapi.json. Request schemas are generated from the same zod
 * schemas the routes validate with (api/openapi-bodies.ts; builders in api/openapi-ops.ts); every
 * operation lists every status it can answer, errors in the contract's shape.
 * test/integration/openapi.test.ts checks every route is here; test/unit/openapi-document.test.ts
 * checks the declared rules against the validators; `npm run dast` fuzzes the server against it.
 */
import { DISPUTE_STATUSES } from '../domain/dispute';
import { PAYMENT_STATUSES } from '../domain/payment-state';
import { RESPONSE_SCHEMAS, idPattern, listOf } from './openapi-schemas';
import { requestBodies } from './openapi-bodies';
import {
  AUTHED,
  body,
  emptyBody,
  errors,
  json,
  pageParams,
  pathId,
  pub,
  PUBLIC_POST,
  read,
  ref,
  write,
} from './openapi-ops';

export function openApiDocument(): Record<string, unknown> {
  const b = requestBodies();
  const payment = json('Payment', ref('Payment'));
  return {
    openapi: '3.1.0',
    info: {
      title: 'Settle API',
      version: '1.0.0',
      description:
        'The contract is API.md. Implementer choices documented here: admin routes (clients, operators, signing keys), webhook-endpoint reads and delivery log, logout, JWKS. Free-text fields, metadata and webhook URLs also reject anything that could be a card number (not expressible in JSON Schema): 13-19 digits passing Luhn across any separators, UUIDs included, so about 1 random UUID in 350 is refused; use letters-and-digits references.',
    },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT (EdDSA, at most 15 minutes)' },
      },
      schemas: RESPONSE_SCHEMAS,
    },
    security: [{ bearer: [] }],
    paths: {
      '/healthz': {
        get: pub({ summary: 'Liveness', responses: { '200': json('Alive', { type: 'object' }) } }),
      },
      '/readyz': {
        get: pub({
          summary: 'Readiness (PostgreSQL, Temporal)',
          responses: {
            '200': json('Ready', { type: 'object' }),
            '503': json('Not ready', { type: 'object' }),
          },
        }),
      },
      '/openapi.json': {
        get: pub({ summary: 'This document', responses: { '200': json('OpenAPI 3.1', { type: 'object' }) } }),
      },
      '/.well-known/jwks.json': {
        get: pub({
          summary: 'Public keys that verify access tokens',
          responses: { '200': json('JWKS', { type: 'object', required: ['keys'] }) },
        }),
      },
      '/v1/auth/token': {
        post: pub({
          summary: 'Service-client token',
          requestBody: body(b.token),
          responses: { '200': json('Access token', ref('AccessToken')), ...errors(PUBLIC_POST) },
        }),
      },
      '/v1/auth/login': {
        post: pub({
          summary: 'Operator password step',
          requestBody: body(b.login),
          responses: {
            '200': json('MFA challenge', { type: 'object', required: ['mfaToken'] }),
            ...errors(PUBLIC_POST),
          },
        }),
      },
      '/v1/auth/mfa': {
        post: pub({
          summary: 'Operator TOTP step',
          requestBody: body(b.mfa),
          responses: { '200': json('Access token', ref('AccessToken')), ...errors(PUBLIC_POST) },
        }),
      },
      '/v1/auth/logout': {
        post: {
          summary: 'End the operator session (a service token simply expires)',
          responses: { '204': { description: 'Logged out' }, ...errors([...AUTHED, 413]) },
        },
      },
      '/v1/vault/cards': {
        post: write('Tokenize a card', '201', json('Card metadata (never the number)', ref('Card')), {
          requestBody: body(b.card),
        }),
      },
      '/v1/vault/cards/{token}': {
        get: read('Card metadata', json('Card metadata', ref('Card')), [pathId('tok', 'token')], [404]),
        delete: {
          summary: 'Delete (crypto-shred) a card',
          parameters: [pathId('tok', 'token')],
          responses: { '204': { description: 'Shredded' }, ...errors([...AUTHED, 404]) },
        },
      },
      '/v1/payments': {
        post: write(
          'Create and authorize a payment',
          '201',
          json('Payment (authorized or captured)', ref('Payment')),
          {
            requestBody: body(b.payment),
            more: [402, 404],
          },
        ),
        get: read(
          'List payments',
          json('Payments', listOf('Payment')),
          [
            ...pageParams,
            { name: 'status', in: 'query', schema: { type: 'string', enum: [...PAYMENT_STATUSES] } },
          ],
          [404],
        ),
      },
      '/v1/payments/{id}': { get: read('Read a payment', payment, [pathId('pay')], [404]) },
      '/v1/payments/{id}/capture': {
        post: write('Capture (partial or full)', '200', payment, {
          parameters: [pathId('pay')],
          requestBody: body(b.capture, false),
          more: [404],
        }),
      },
      '/v1/payments/{id}/void': {
        post: write('Void before capture', '200', payment, {
          parameters: [pathId('pay')],
          requestBody: emptyBody,
          more: [404],
        }),
      },
      '/v1/payments/{id}/refunds': {
        post: write('Refund (partial or full)', '201', json('Refund', ref('Refund')), {
          parameters: [pathId('pay')],
          requestBody: body(b.refund, false),
          more: [404],
        }),
      },
      '/v1/disputes': {
        get: read(
          'List disputes',
          json('Disputes', listOf('Dispute')),
          [
            ...pageParams,
            { name: 'paymentId', in: 'query', schema: { type: 'string', pattern: idPattern('pay') } },
            { name: 'status', in: 'query', schema: { type: 'string', enum: [...DISPUTE_STATUSES] } },
          ],
          [404],
        ),
      },
      '/v1/disputes/{id}': {
        get: read('Read a dispute', json('Dispute', ref('Dispute')), [pathId('dp')], [404]),
      },
      '/v1/disputes/{id}/evidence': {
        post: write(
          'Submit evidence (text, and up to 5 PDF/PNG/JPEG files of at most 4 MiB each, 8 MiB in all, base64); only while needs_response and before evidenceDueBy, else 409. A card number in the text or a file is a 400 and nothing is stored',
          '200',
          json('Dispute (under_review)', ref('Dispute')),
          { parameters: [pathId('dp')], requestBody: body(b.evidence), more: [404] },
        ),
      },
      '/v1/disputes/{id}/accept': {
        post: write('Accept (concede) the dispute', '200', json('Dispute (accepted)', ref('Dispute')), {
          parameters: [pathId('dp')],
          requestBody: emptyBody,
          more: [404],
        }),
      },
      '/v1/bank-accounts': {
        post: write('Add a bank account and verify it', '201', json('Bank account', ref('BankAccount')), {
          requestBody: body(b.bankAccount),
        }),
      },
      '/v1/bank-accounts/{id}': {
        get: read('Read a bank account', json('Bank account', ref('BankAccount')), [pathId('ba')], [404]),
      },
      '/v1/bank-accounts/{id}/verify': {
        post: write('Submit micro-deposit amounts', '200', json('Bank account', ref('BankAccount')), {
          parameters: [pathId('ba')],
          requestBody: body(b.verify),
          more: [404],
        }),
      },
      '/v1/webhook-endpoints': {
        post: write(
          'Register a webhook endpoint (secret shown once)',
          '201',
          json('Endpoint with its secret', {
            allOf: [ref('WebhookEndpoint'), { type: 'object', required: ['secret'] }],
          }),
          { requestBody: body(b.endpoint) },
        ),
        get: read('List webhook endpoints', json('Endpoints', listOf('WebhookEndpoint')), pageParams, [404]),
      },
      '/v1/webhook-endpoints/{id}': {
        get: read('Read a webhook endpoint', json('Endpoint', ref('WebhookEndpoint')), [pathId('we')], [404]),
        post: write(
          'Enable or disable an endpoint, or change its events',
          '200',
          json('Endpoint', ref('WebhookEndpoint')),
          { parameters: [pathId('we')], requestBody: body(b.endpointUpdate), more: [404] },
        ),
        delete: {
          summary: 'Delete an endpoint (its pending deliveries stop)',
          parameters: [pathId('we')],
          responses: { '204': { description: 'Deleted' }, ...errors([...AUTHED, 404]) },
        },
      },
      '/v1/events/{id}/redeliver': {
        post: write(
          'Send an event again to every enabled endpoint subscribed to it',
          '202',
          json('Redelivery accepted', {
            type: 'object',
            required: ['id', 'redelivery'],
            properties: {
              id: { type: 'string', pattern: idPattern('evt') },
              redelivery: { type: 'integer' },
            },
          }),
          { parameters: [pathId('evt')], more: [404] },
        ),
      },
      '/v1/webhook-endpoints/{id}/deliveries': {
        get: read(
          'Delivery log of an endpoint',
          json('Deliveries', listOf('Delivery')),
          [pathId('we'), ...pageParams],
          [404],
        ),
      },
      '/v1/ledger/entries': {
        get: read(
          "Journal entries, newest first (a service client's own; operators: all merchants)",
          json('Journal entries', listOf('LedgerEntry')),
          [
            ...pageParams,
            { name: 'paymentId', in: 'query', schema: { type: 'string', pattern: idPattern('pay') } },
          ],
        ),
      },
      '/v1/ledger/balances': {
        get: read(
          "Balance of every ledger account (a service client's own; operators: all merchants)",
          json('Balances', {
            type: 'object',
            required: ['data'],
            properties: { data: { type: 'array', items: ref('LedgerBalance') } },
          }),
        ),
      },
      '/v1/reconciliation/runs': {
        post: write(
          'Start a reconciliation of the ledger with one enabled provider over [from, to): from before to, at most SETTLE_RECONCILIATION_MAX_DAYS (31) days apart, years 1970-9999 (admin)',
          '202',
          json('Run started', {
            type: 'object',
            required: ['id', 'status'],
            properties: {
              id: { type: 'string', pattern: idPattern('rc') },
              status: { type: 'string', enum: ['running'] },
            },
          }),
          { requestBody: body(b.reconciliationRun) },
        ),
        get: read(
          'Reconciliation runs, newest first (admin, auditor)',
          json('Runs', listOf('ReconciliationRun')),
          pageParams,
        ),
      },
      '/v1/reconciliation/runs/{id}': {
        get: read(
          'A reconciliation run and its discrepancies',
          json('Run', ref('ReconciliationRun')),
          [pathId('rc')],
          [404],
        ),
      },
      '/v1/audit-events': {
        get: read(
          'Audit events (hash-chained)',
          json('Audit events', listOf('AuditEvent')),
          pageParams,
          [404],
        ),
      },
      '/v1/audit-events/verify': {
        get: read('Verify the audit chain', json('Verification', ref('AuditVerification'))),
      },
      '/v1/clients': { get: read('List API clients (admin)', json('Clients', listOf('Client')), pageParams) },
      '/v1/clients/{id}': {
        get: read('Read an API client (admin)', json('Client', ref('Client')), [pathId('cli')], [404]),
      },
      '/v1/clients/{id}/disable': {
        post: write('Disable an API client (admin)', '200', json('Client', ref('Client')), {
          parameters: [pathId('cli')],
          more: [404],
        }),
      },
      '/v1/operators': {
        get: read('List operators (admin)', json('Operators', listOf('Operator')), pageParams),
      },
      '/v1/operators/{id}': {
        get: read('Read an operator (admin)', json('Operator', ref('Operator')), [pathId('op')], [404]),
      },
      '/v1/operators/{id}/unlock': {
        post: write('Unlock a locked operator (admin)', '200', json('Operator', ref('Operator')), {
          parameters: [pathId('op')],
          more: [404],
        }),
      },
      '/v1/operators/{id}/revoke-sessions': {
        post: write(
          "Revoke an operator's sessions (admin)",
          '200',
          json('Result', { type: 'object', required: ['id', 'revokedSessions'] }),
          { parameters: [pathId('op')], more: [404] },
        ),
      },
      '/v1/operators/{id}/disable': {
        post: write('Disable an operator (admin)', '200', json('Operator', ref('Operator')), {
          parameters: [pathId('op')],
          more: [404],
        }),
      },
      '/v1/signing-keys': {
        get: read('Token signing keys (admin)', json('Keys', listOf('SigningKey'))),
      },
      '/v1/signing-keys/rotate': {
        post: write(
          'Rotate the token signing key in this process (admin)',
          '200',
          json('The new and previous key ids', { type: 'object', required: ['kid', 'previousKid'] }),
        ),
      },
      '/webhooks/stripe': {
        post: pub({
          summary: 'Stripe events (Stripe-Signature over the raw body)',
          requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } } } },
          responses: { '200': json('Stored once', { type: 'object' }), ...errors([400, 404, 413, 500, 503]) },
        }),
      },
      '/webhooks/braintree': {
        post: pub({
          summary: 'Braintree notifications (bt_signature, bt_payload)',
          requestBody: {
            required: true,
            content: {
              'application/x-www-form-urlencoded': {
                schema: {
                  type: 'object',
                  required: ['bt_signature', 'bt_payload'],
                  properties: { bt_signature: { type: 'string' }, bt_payload: { type: 'string' } },
                },
              },
            },
          },
          responses: { '200': json('Stored once', { type: 'object' }), ...errors([400, 404, 413, 500, 503]) },
        }),
      },
      '/webhooks/sandbox': {
        post: pub({
          summary: 'Sandbox provider events (Sandbox-Signature over the raw body)',
          requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } } } },
          responses: { '200': json('Stored once', { type: 'object' }), ...errors([400, 404, 413, 500, 503]) },
        }),
      },
    },
  };
}
