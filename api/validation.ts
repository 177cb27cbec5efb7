/**
 * zod -> contract errors, and the string rules every schema shares. Bodies are strict: unknown
 * fields are a 400, never ignored. Well-formedness (no lone surrogate, no control character) is
 * checked for every string by the input gate (api/middleware/input-gate.ts) before any schema runs.
 */
import { z } from 'zod';
import { invalidRequest } from '../domain/errors';
import { normalizeCurrency, isValidAmount } from '../domain/money';
import { containsCardNumber } from '../security/redaction';

export function parse<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const at = issue?.path ?? [];
  const field = fieldPath(at);
  const unknownKeys = issue?.code === 'unrecognized_keys' ? issue.keys : undefined;
  if (unknownKeys) {
    const names = unknownKeys.map((k) => fieldPath([...at, k]));
    throw invalidRequest('unknown_field', `Unknown field(s): ${names.join(', ')}`, { field: names[0] });
  }
  throw invalidRequest('invalid_field', `Invalid value for ${field}: ${issue?.message ?? 'invalid'}`, {
    field,
  });
}

/**
 * For routes that take no body: nothing, or exactly `{}`. Anything else (an unknown field, an array,
 * a scalar) is refused like an unknown field of any other body, never ignored.
 */
export function noBody(value: unknown): void {
  parse(z.object({}).strict(), value);
}

/** A name the client chose can be echoed only when it is short, printable and holds no card number. */
const ECHOABLE = /^[\x21-\x7e]{1,64}$/;

/**
 * The dotted field name for an error's `details.field`. It stops at the first segment that cannot be
 * echoed back (a metadata key holding a card number names `metadata`); the root is `body`.
 */
export function fieldPath(at: ReadonlyArray<string | number | symbol>): string {
  const out: string[] = [];
  for (const seg of at) {
    const s = typeof seg === 'symbol' ? '' : String(seg);
    if (!ECHOABLE.test(s) || containsCardNumber(s)) break;
    out.push(s);
  }
  return out.join('.') || 'body';
}

/**
 * Ids (`pay_…`, `tok_…`, `cli_…`): a type prefix and 8-64 base62 characters (domain/ids.ts), the same
 * rule for body fields, path parameters and `startingAfter`, so a free-text id cannot smuggle text.
 */
const ID_PATTERN = /^[a-z]{2,5}_[0-9A-Za-z]{8,64}$/;
/** Server-made ids are random base62: one holding a card number was made up by the client. */
export const isId = (s: string, prefix?: string) =>
  ID_PATTERN.test(s) && (!prefix || s.startsWith(`${prefix}_`)) && !containsCardNumber(s);
export const idString = (prefix?: string) =>
  z
    .string()
    .regex(
      prefix ? new RegExp(`^${prefix}_[0-9A-Za-z]{8,64}$`) : ID_PATTERN,
      prefix ? `must be a ${prefix}_ id` : 'must be an id',
    )
    .refine((s) => !containsCardNumber(s), 'must not contain a card number');

/**
 * Free text that reaches Temporal history or search attributes must not carry card numbers: the
 * strict scan (any separators, no identifier exemptions), so a UUID whose digits form a Luhn-valid
 * 13-19 digit run is refused too.
 */
const noCardData = (s: string) => !containsCardNumber(s);
export const freeText = (max: number) =>
  z.string().max(max).refine(noCardData, 'must not contain a card number');

/** Merchant metadata: keys and values are both free text. */
export const metadata = z
  .record(freeText(40).pipe(z.string().min(1)), freeText(500))
  .refine((m) => Object.keys(m).length <= 20, 'at most 20 keys');

export const amount = z.number().refine(isValidAmount, 'must be a positive integer in the minor unit');
export const currency = z
  .string()
  .length(3)
  .transform((c, ctx) => {
    const n = normalizeCurrency(c);
    if (!n) {
      ctx.addIssue({ code: 'custom', message: 'unsupported ISO 4217 currency' });
      return z.NEVER;
    }
    return n;
  });

export const listQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(20),
    startingAfter: idString().optional(),
  })
  .strict();
