/** zod -> contract errors. Bodies are strict: unknown fields are a 400, never ignored. */
import { z } from 'zod';
import { invalidRequest } from '../domain/errors';
import { normalizeCurrency, isValidAmount } from '../domain/money';
import { containsCardNumber } from '../security/redaction';

export function parse<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const field = issue?.path.join('.') || undefined;
  const unknownKeys = issue?.code === 'unrecognized_keys' ? issue.keys : undefined;
  throw invalidRequest(
    unknownKeys ? 'unknown_field' : 'invalid_field',
    unknownKeys
      ? `Unknown field(s): ${unknownKeys.join(', ')}`
      : `Invalid value for ${field ?? 'body'}: ${issue?.message ?? 'invalid'}`,
    { field: unknownKeys ? unknownKeys[0] : field },
  );
}

/** Free text that reaches Temporal history or search attributes must not carry card numbers. */
const noCardData = (s: string) => !containsCardNumber(s);
export const freeText = (max: number) =>
  z.string().max(max).refine(noCardData, 'must not contain a card number');

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
    startingAfter: z.string().min(1).max(100).optional(),
  })
  .strict();
