/**
 * Classification of stripe-node errors onto Settle's FailureType, by a table (stripe-node's own
 * generateV1Error is keyed on HTTP status; so is this). We read `statusCode`, `type` (the SDK sets it
 * to a string such as 'StripeConnectionError' that survives bundling, unlike `constructor.name`),
 * `code` and the connection error's `detail.code`: never `instanceof` or class names.
 *
 * A card decline is a RESULT, not an error: it is returned as `{ kind: 'decline' }` and the adapter
 * turns it into `{ outcome: 'declined' }`.
 *
 * Messages are built here from the status and Stripe's error code only. Stripe's own `message` is
 * never forwarded: some messages echo request parameters, and a request parameter may be card data.
 */
import { ProviderError, type DeclineCode } from '../types';
import { stripeDeclineCode } from './codes';

/** A read has no effect at Stripe, so an interrupted read is simply retryable; a write may have run. */
export type CallKind = 'read' | 'write';

export type StripeErrorClassification =
  | { kind: 'decline'; declineCode: DeclineCode; providerReference?: string | undefined }
  | { kind: 'error'; error: ProviderError };

/** The fields of a stripe-node error we rely on (all optional: anything may be thrown). */
interface StripeErrorShape {
  type?: unknown;
  statusCode?: unknown;
  code?: unknown;
  decline_code?: unknown;
  payment_intent?: unknown;
  detail?: unknown;
}

type Outcome = 'decline' | 'unavailable' | 'invalid' | 'unknown_if_write';

interface Rule {
  matches(e: { status: number | undefined; type: string; code: string | undefined }): boolean;
  outcome: Outcome;
  /** Why this outcome retries (or does not): kept next to the rule on purpose. */
  why: string;
}

/** First matching rule wins. */
const RULES: readonly Rule[] = [
  {
    matches: (e) => e.status === 402 || e.type === 'StripeCardError',
    outcome: 'decline',
    why: 'The issuer answered. A decline is a result; sending it again asks the same question and gets the same answer.',
  },
  {
    matches: (e) =>
      e.status === 429 || (e.status === 400 && e.code === 'rate_limit') || e.type === 'StripeRateLimitError',
    outcome: 'unavailable',
    why: 'Stripe shed load before running the request: retry with backoff; the Idempotency-Key covers any doubt.',
  },
  {
    matches: (e) => e.status === 409,
    outcome: 'unavailable',
    why: 'A concurrent request with the same Idempotency-Key is still running (lock_timeout): retry later and Stripe replays its result.',
  },
  {
    matches: (e) => e.status === 401 || e.status === 403,
    outcome: 'invalid',
    why: 'Bad or under-privileged API key: a configuration error that no retry fixes.',
  },
  {
    matches: (e) => e.status === 400 || e.status === 404 || e.type === 'StripeIdempotencyError',
    outcome: 'invalid',
    why: 'Stripe refused the request as malformed, in the wrong state, reusing a key with other parameters, or for a missing object; the same request fails the same way.',
  },
  {
    matches: (e) => e.status !== undefined && e.status >= 500,
    outcome: 'unavailable',
    why: 'Stripe-side failure. Retrying is safe because every write carries the same deterministic Idempotency-Key: Stripe runs it once or replays it.',
  },
];

/** Connection error codes meaning the request never left this host or never reached Stripe. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** Only Stripe-style codes (`snake_case`) go into messages; anything else is dropped. */
function safeCode(code: string | undefined): string | undefined {
  return code !== undefined && /^[a-z0-9_]{1,64}$/.test(code) ? code : undefined;
}

function connectionDetailCode(detail: unknown): string | undefined {
  if (detail && typeof detail === 'object' && 'code' in detail) return str(detail.code);
  return undefined;
}

function paymentIntentId(pi: unknown): string | undefined {
  if (typeof pi === 'string') return pi;
  if (pi && typeof pi === 'object' && 'id' in pi) return str(pi.id);
  return undefined;
}

export function classifyStripeError(err: unknown, call: CallKind): StripeErrorClassification {
  const e = (err && typeof err === 'object' ? err : {}) as StripeErrorShape;
  const status = typeof e.statusCode === 'number' ? e.statusCode : undefined;
  const type = str(e.type) ?? '';
  const code = safeCode(str(e.code));

  // No HTTP status: the request failed on the wire (or something unexpected was thrown).
  if (status === undefined && type === 'StripeConnectionError') {
    const detail = connectionDetailCode(e.detail);
    if (detail !== undefined && NOT_SENT_CODES.has(detail)) {
      // The connection was never established: nothing reached Stripe, so a retry cannot duplicate.
      return { kind: 'error', error: ProviderError.unavailable('stripe', `Stripe unreachable (${detail})`) };
    }
    // A timeout (ETIMEDOUT) or a dropped connection (ECONNRESET, EPIPE, truncated body) after the
    // request was written: a write may have taken effect. Resending blindly could double-charge, so
    // the workflow must sync first. A read has no effect: plain retry.
    const what = detail === 'ETIMEDOUT' ? 'timed out' : 'connection lost';
    return call === 'write'
      ? {
          kind: 'error',
          error: ProviderError.unknownOutcome('stripe', `Stripe request ${what} after it was sent`),
        }
      : { kind: 'error', error: ProviderError.unavailable('stripe', `Stripe read ${what}`) };
  }

  const rule = RULES.find((r) => r.matches({ status, type, code }));
  const label = `HTTP ${status ?? 'n/a'}${code ? `, code ${code}` : ''}`;
  switch (rule?.outcome) {
    case 'decline':
      return {
        kind: 'decline',
        declineCode: stripeDeclineCode(str(e.decline_code), str(e.code)),
        providerReference: paymentIntentId(e.payment_intent),
      };
    case 'unavailable':
      return {
        kind: 'error',
        error: ProviderError.unavailable('stripe', `Stripe unavailable (${label})`, status),
      };
    case 'invalid':
      return {
        kind: 'error',
        error: ProviderError.invalid('stripe', `Stripe rejected the request (${label})`, status),
      };
    default:
      // Unrecognized failure with no clear meaning. For a write we cannot know whether it ran, so the
      // safe answer is "unknown" (sync before resend); for a read, retrying is harmless.
      return call === 'write'
        ? {
            kind: 'error',
            error: ProviderError.unknownOutcome('stripe', `Stripe request failed unexpectedly (${label})`),
          }
        : {
            kind: 'error',
            error: ProviderError.unavailable('stripe', `Stripe read failed unexpectedly (${label})`, status),
          };
  }
}

/** For callers that cannot accept a decline (capture, void, refund, sync): a decline there is invalid. */
export function stripeErrorToProviderError(err: unknown, call: CallKind): ProviderError {
  if (err instanceof ProviderError) return err;
  const c = classifyStripeError(err, call);
  if (c.kind === 'error') return c.error;
  return ProviderError.invalid('stripe', `Stripe declined the operation (${c.declineCode})`, 402);
}
