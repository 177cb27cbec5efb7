/**
 * Building blocks of the OpenAPI document (api/openapi.ts): request schemas converted from the zod
 * schemas the routes validate with, the rules that conversion cannot see (refinements, transforms),
 * and the response objects. The document must declare what the server enforces, no more and no
 * less: test/unit/openapi-document.test.ts probes each declared bound against the zod schemas.
 */
import { z } from 'zod';
import { ERROR_TYPES } from '../domain/errors';
import { MAX_AMOUNT, normalizeCurrency } from '../domain/money';
import { PAYMENT_STATUSES } from '../domain/payment-state';
import { DISPUTE_STATUSES } from '../domain/dispute';
import { ENTRY_KINDS, LEDGER_ACCOUNTS } from '../domain/ledger';
import { PROVIDER_NAMES } from '../domain/providers';
import { DISCREPANCY_KINDS, MONEY_STATUSES, RECONCILIATION_STATUSES } from '../domain/reconciliation';
import { amount, currency, metadata } from './validation';

type Json = Record<string, unknown>;

/** Every request string: well-formed Unicode without NUL or any other C0/C1 control (API.md). */
export const NO_CONTROLS = '^[^\\u0000-\\u001f\\u007f-\\u009f]*$';

/** The Idempotency-Key grammar the middleware enforces: 1-255 printable ASCII characters. */
export const IDEMPOTENCY_KEY_PATTERN = '^[\\x20-\\x7e]{1,255}$';

/** Money in the minor unit; the same bounds as domain/money isValidAmount. */
export const AMOUNT_SCHEMA = { type: 'integer', minimum: 1, maximum: MAX_AMOUNT } as const;

/**
 * The accepted currencies, case-insensitive, exactly as normalizeCurrency decides: every three-letter
 * code is asked once when the document is built, so a currency added to domain/money appears here.
 */
export function currencyPattern(): string {
  const letters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  const codes: string[] = [];
  for (const a of letters)
    for (const b of letters) for (const c of letters) if (normalizeCurrency(a + b + c)) codes.push(a + b + c);
  const either = (ch: string) => `[${ch}${ch.toLowerCase()}]`;
  return `^(?:${codes.map((code) => [...code].map(either).join('')).join('|')})$`;
}

/** Merchant metadata (validation.ts `metadata`): the key count and key length are refinements/pipes. */
const METADATA_SCHEMA = {
  type: 'object',
  maxProperties: 20,
  propertyNames: { type: 'string', minLength: 1, maxLength: 40, pattern: NO_CONTROLS },
  additionalProperties: { type: 'string', maxLength: 500, pattern: NO_CONTROLS },
};

/** Ids in the contract: `<prefix>_` then 8-64 base62 characters (validation.ts idString). */
export const idPattern = (prefix = '[a-z]{2,5}') => `^${prefix}_[0-9A-Za-z]{8,64}$`;

/**
 * zod -> JSON Schema for a request body. The shared `amount` and `currency` schemas are refinements
 * and transforms, which JSON Schema cannot express from the zod side: they are declared from the
 * same domain rules instead. Every plain string gets the no-control-characters pattern.
 */
export function requestSchema(s: z.ZodType, patch: (schema: Json) => void = () => undefined): Json {
  const currencyRule = { type: 'string', pattern: currencyPattern() };
  const out = z.toJSONSchema(s, {
    io: 'input',
    unrepresentable: 'any',
    override: (ctx) => {
      const js = ctx.jsonSchema as Json;
      if (ctx.zodSchema === amount) replace(js, AMOUNT_SCHEMA);
      else if (ctx.zodSchema === currency) replace(js, currencyRule);
      else if (ctx.zodSchema === metadata) replace(js, METADATA_SCHEMA);
      else if (js.type === 'string' && !js.pattern && !js.enum && !js.format) js.pattern = NO_CONTROLS;
    },
  }) as Json;
  delete out.$schema;
  patch(out);
  return out;
}

function replace(target: Json, source: Json): void {
  for (const k of Object.keys(target)) delete target[k];
  Object.assign(target, source);
}

/** The property schema at `path` (object properties, then array prefixItems by index). */
export function prop(schema: Json, ...path: string[]): Json {
  let cur: Json = schema;
  for (const p of path) {
    const props = cur.properties as Record<string, Json> | undefined;
    const next = props?.[p];
    if (!next) throw new Error(`OpenAPI: no property ${path.join('.')}`);
    cur = next;
  }
  return cur;
}

const str = { type: 'string' };
const time = { type: 'string', format: 'date-time' };
const nullable = (s: Json) => ({ anyOf: [s, { type: 'null' }] });
const obj = (required: string[], properties: Record<string, unknown>): Json => ({
  type: 'object',
  required,
  properties,
});

export const ErrorSchema = obj(['error'], {
  error: obj(['type', 'code', 'message', 'requestId'], {
    type: { type: 'string', enum: [...ERROR_TYPES] },
    code: str,
    message: str,
    details: { type: 'object' },
    requestId: { type: 'string', pattern: '^req_[0-9A-Za-z]+$' },
  }),
});

/** Response objects (never a card number, never a secret except the endpoint secret shown once). */
/** One side of a reconciliation discrepancy (domain/reconciliation.ts MoneyFacts). */
const MONEY_FACTS = obj(['status', 'currency', 'amountCaptured', 'amountRefunded'], {
  status: { type: 'string', enum: [...MONEY_STATUSES] },
  currency: { type: 'string', pattern: '^[A-Z]{3}$' },
  amountCaptured: { type: 'integer', minimum: 0 },
  amountRefunded: { type: 'integer', minimum: 0 },
});

export const RESPONSE_SCHEMAS: Record<string, Json> = {
  Error: ErrorSchema,
  Payment: obj(
    [
      'id',
      'status',
      'amount',
      'currency',
      'amountCapturable',
      'amountCaptured',
      'amountRefunded',
      'amountDisputed',
      'capture',
      'provider',
      'providerReference',
      'paymentMethod',
      'createdAt',
      'updatedAt',
    ],
    {
      id: { type: 'string', pattern: idPattern('pay') },
      status: { type: 'string', enum: [...PAYMENT_STATUSES] },
      amount: AMOUNT_SCHEMA,
      currency: { type: 'string', pattern: '^[A-Z]{3}$' },
      amountCapturable: { type: 'integer', minimum: 0 },
      amountCaptured: { type: 'integer', minimum: 0 },
      amountRefunded: { type: 'integer', minimum: 0 },
      amountDisputed: { type: 'integer', minimum: 0 },
      capture: { type: 'string', enum: ['manual', 'automatic'] },
      provider: str,
      providerReference: nullable(str),
      paymentMethod: obj(['token', 'brand', 'last4'], {
        token: { type: 'string', pattern: idPattern('tok') },
        brand: str,
        last4: { type: 'string', pattern: '^[0-9]{4}$' },
      }),
      declineCode: str,
      authorizationExpiresAt: time,
      merchantReference: str,
      createdAt: time,
      updatedAt: time,
    },
  ),
  Dispute: obj(
    ['id', 'paymentId', 'amount', 'currency', 'reason', 'status', 'evidenceDueBy', 'createdAt', 'updatedAt'],
    {
      id: { type: 'string', pattern: idPattern('dp') },
      paymentId: { type: 'string', pattern: idPattern('pay') },
      amount: { type: 'integer', minimum: 0 },
      currency: { type: 'string', pattern: '^[A-Z]{3}$' },
      reason: str,
      status: { type: 'string', enum: [...DISPUTE_STATUSES] },
      evidenceDueBy: time,
      evidenceSubmittedAt: time,
      createdAt: time,
      updatedAt: time,
    },
  ),
  Refund: obj(['id', 'paymentId', 'amount', 'status', 'createdAt'], {
    id: { type: 'string', pattern: idPattern('re') },
    paymentId: { type: 'string', pattern: idPattern('pay') },
    amount: AMOUNT_SCHEMA,
    status: str,
    createdAt: time,
  }),
  Card: obj(['token', 'brand', 'bin', 'last4', 'expMonth', 'expYear', 'fingerprint'], {
    token: { type: 'string', pattern: idPattern('tok') },
    brand: str,
    bin: { type: 'string', pattern: '^[0-9]{0,8}$' },
    last4: { type: 'string', pattern: '^[0-9]{4}$' },
    expMonth: { type: 'integer', minimum: 1, maximum: 12 },
    expYear: { type: 'integer' },
    fingerprint: str,
  }),
  BankAccount: obj(['id', 'status', 'verificationMethod', 'last4'], {
    id: { type: 'string', pattern: idPattern('ba') },
    status: {
      type: 'string',
      enum: ['pending', 'awaiting_microdeposits', 'verified', 'verification_failed', 'expired'],
    },
    verificationMethod: { type: 'string', enum: ['instant', 'microdeposits'] },
    last4: { type: 'string', pattern: '^[0-9]{4}$' },
    attemptsRemaining: { type: 'integer', minimum: 0 },
    verificationExpiresAt: time,
  }),
  WebhookEndpoint: obj(['id', 'url', 'events', 'status', 'createdAt'], {
    id: { type: 'string', pattern: idPattern('we') },
    url: str,
    events: { type: 'array', items: str },
    status: { type: 'string', enum: ['enabled', 'disabled'] },
    createdAt: time,
  }),
  Delivery: obj(['id', 'eventId', 'endpointId', 'status', 'attempts', 'createdAt'], {
    id: str,
    eventId: { type: 'string', pattern: idPattern('evt') },
    endpointId: { type: 'string', pattern: idPattern('we') },
    status: { type: 'string', enum: ['pending', 'succeeded', 'failed', 'cancelled'] },
    attempts: { type: 'integer', minimum: 0 },
    createdAt: time,
  }),
  AuditEvent: obj(['id', 'at', 'actor', 'action', 'resource', 'outcome', 'sourceIp', 'hash', 'prevHash'], {
    id: str,
    at: time,
    actor: str,
    action: str,
    resource: str,
    outcome: str,
    sourceIp: nullable(str),
    hash: str,
    prevHash: str,
  }),
  AuditVerification: obj(['valid', 'checked'], {
    valid: { type: 'boolean' },
    checked: { type: 'integer', minimum: 0 },
    firstBrokenId: str,
    anchoredAt: time,
  }),
  LedgerEntry: obj(['id', 'clientId', 'kind', 'currency', 'lines', 'createdAt'], {
    id: { type: 'string', pattern: idPattern('je') },
    clientId: { type: 'string', pattern: idPattern('cli') },
    paymentId: { type: 'string', pattern: idPattern('pay') },
    kind: { type: 'string', enum: [...ENTRY_KINDS] },
    currency: { type: 'string', pattern: '^[A-Z]{3}$' },
    lines: {
      type: 'array',
      minItems: 2,
      items: obj(['account', 'amount'], {
        account: { type: 'string', enum: [...LEDGER_ACCOUNTS] },
        amount: { type: 'integer', description: 'Signed minor units: debit > 0, credit < 0' },
      }),
    },
    createdAt: time,
  }),
  LedgerBalance: obj(['clientId', 'account', 'currency', 'balance'], {
    clientId: { type: 'string', pattern: idPattern('cli') },
    account: { type: 'string', enum: [...LEDGER_ACCOUNTS] },
    currency: { type: 'string', pattern: '^[A-Z]{3}$' },
    balance: { type: 'integer', description: 'Sum of the account lines (debit > 0)' },
  }),
  ReconciliationRun: obj(['id', 'provider', 'from', 'to', 'status', 'checked', 'discrepancies'], {
    id: { type: 'string', pattern: idPattern('rc') },
    provider: { type: 'string', enum: [...PROVIDER_NAMES] },
    from: time,
    to: time,
    status: { type: 'string', enum: [...RECONCILIATION_STATUSES] },
    checked: { type: 'integer', minimum: 0 },
    discrepancies: {
      type: 'array',
      items: obj(['kind'], {
        kind: { type: 'string', enum: [...DISCREPANCY_KINDS] },
        paymentId: { type: 'string', pattern: idPattern('pay') },
        providerReference: str,
        expected: MONEY_FACTS,
        actual: MONEY_FACTS,
      }),
    },
  }),
  Client: obj(['id', 'name', 'role', 'createdAt', 'disabledAt'], {
    id: { type: 'string', pattern: idPattern('cli') },
    name: str,
    role: str,
    createdAt: time,
    disabledAt: nullable(time),
  }),
  Operator: obj(['id', 'username', 'role', 'locked', 'createdAt', 'disabledAt'], {
    id: str,
    username: str,
    role: { type: 'string', enum: ['admin', 'auditor'] },
    locked: { type: 'boolean' },
    createdAt: time,
    disabledAt: nullable(time),
  }),
  SigningKey: obj(['kid', 'signing', 'acceptedUntil'], {
    kid: str,
    signing: { type: 'boolean' },
    acceptedUntil: nullable(time),
  }),
  AccessToken: obj(['accessToken', 'tokenType', 'expiresIn'], {
    accessToken: str,
    tokenType: { type: 'string', enum: ['Bearer'] },
    expiresIn: { type: 'integer', minimum: 1, maximum: 900 },
  }),
};

/** `{ data: [...], hasMore }` of a component. */
export const listOf = (component: string): Json =>
  obj(['data', 'hasMore'], {
    data: { type: 'array', items: { $ref: `#/components/schemas/${component}` } },
    hasMore: { type: 'boolean' },
  });
