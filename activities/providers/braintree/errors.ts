/**
 * Classification of Braintree failures onto Settle's FailureType, by a table.
 *
 * Two kinds of failure come out of the braintree SDK:
 *  1. thrown errors: HTTP-level problems. The SDK gives each a string `type` (errorTypes:
 *     'serverError', 'unexpectedError', ...) that survives bundling; we key on it, never on classes.
 *  2. results with `success: false`: the gateway answered. Either the transaction exists and was
 *     declined/rejected/failed (a declined card is a RESULT, not an error), or validation failed.
 *
 * Braintree has no idempotency keys; what makes a retry safe is the adapter's lookup guard (search by
 * orderId / inspect existing settlements and refunds before every write, see adapter.ts). That is why
 * 5xx can be "unavailable" (retry) here.
 *
 * Messages are built from error types and numeric codes only: the SDK's own messages can embed
 * request details, and the request carried card data.
 */
import { ProviderError, type DeclineCode } from '../types';
import { gatewayRejectionDeclineCode, processorDeclineCode } from './transformers';
import type { BraintreeFailedResult } from './sdk-types';

export type { BraintreeFailedResult };

export type CallKind = 'read' | 'write';

type Outcome = 'unavailable' | 'invalid' | 'unknown_if_write';

/** Thrown SDK error type -> outcome, with the reason each retries or not. */
const THROWN: Readonly<Record<string, { outcome: Outcome; why: string }>> = {
  authenticationError: {
    outcome: 'invalid',
    why: '401: wrong public/private key; a configuration error no retry fixes.',
  },
  authorizationError: {
    outcome: 'invalid',
    why: '403: the key lacks permission for this call; retrying cannot help.',
  },
  notFoundError: {
    outcome: 'invalid',
    why: '404: no such transaction or merchant; the same request fails the same way.',
  },
  upgradeRequired: {
    outcome: 'invalid',
    why: '426: this SDK version is no longer accepted; needs a deploy, not a retry.',
  },
  invalidSignatureError: {
    outcome: 'invalid',
    why: 'A webhook whose signature does not verify is rejected, never retried.',
  },
  invalidKeysError: {
    outcome: 'invalid',
    why: 'The SDK refused our parameters before sending: a programming error.',
  },
  tooManyRequestsError: {
    outcome: 'unavailable',
    why: '429: Braintree shed load before processing; retry with backoff.',
  },
  requestTimeoutError: {
    outcome: 'unavailable',
    why: '408: Braintree did not receive the whole request in time, so it did not run it; retry.',
  },
  serverError: {
    outcome: 'unavailable',
    why: '500: Braintree-side failure. A retry is safe because the adapter looks for an existing effect (orderId search, settlements, refunds) before writing again.',
  },
  serviceUnavailableError: {
    outcome: 'unavailable',
    why: '503: Braintree is down or in maintenance; retry with backoff (guarded as for 500).',
  },
  gatewayTimeoutError: {
    outcome: 'unknown_if_write',
    why: "504: Braintree's edge gave up waiting for its backend, which may still have run the write: sync before resending. Reads are harmless to retry.",
  },
};

/** Socket-level codes meaning the request never reached Braintree. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

function errnoIn(message: string): string | undefined {
  return /\b(E[A-Z]{3,})\b/.exec(message)?.[1];
}

export function classifyBraintreeThrown(err: unknown, call: CallKind): ProviderError {
  if (err instanceof ProviderError) return err;
  const e = (err && typeof err === 'object' ? err : {}) as { type?: unknown; message?: unknown };
  const type = typeof e.type === 'string' ? e.type : '';
  const message = typeof e.message === 'string' ? e.message : '';

  const rule = THROWN[type];
  if (rule) {
    if (rule.outcome === 'invalid')
      return ProviderError.invalid('braintree', `Braintree rejected the request (${type})`);
    if (rule.outcome === 'unavailable')
      return ProviderError.unavailable('braintree', `Braintree unavailable (${type})`);
    return call === 'write'
      ? ProviderError.unknownOutcome('braintree', `Braintree write outcome unknown (${type})`)
      : ProviderError.unavailable('braintree', `Braintree read failed (${type})`);
  }

  if (type === 'unexpectedError') {
    if (message === 'Request timed out') {
      // The SDK aborted after its timeout: the request was sent and may have run.
      return call === 'write'
        ? ProviderError.unknownOutcome('braintree', 'Braintree request timed out after it was sent')
        : ProviderError.unavailable('braintree', 'Braintree read timed out');
    }
    const errno = errnoIn(message);
    if (errno && NOT_SENT.has(errno)) {
      // Never connected: nothing reached Braintree, a retry cannot duplicate.
      return ProviderError.unavailable('braintree', `Braintree unreachable (${errno})`);
    }
    const status = /Unexpected HTTP response: (\d{3})/.exec(message)?.[1];
    if (status) {
      // Some other HTTP status (e.g. 502 from a proxy): the gateway did not answer properly.
      return ProviderError.unavailable('braintree', `Braintree unavailable (HTTP ${status})`, Number(status));
    }
  }
  // Connection reset, socket hang up, unreadable response, or something unknown: a write may have
  // taken effect, so the workflow must sync before resending; a read can simply be retried.
  const what = errnoIn(message) ?? (type || 'unknown error');
  return call === 'write'
    ? ProviderError.unknownOutcome('braintree', `Braintree write interrupted (${what})`)
    : ProviderError.unavailable('braintree', `Braintree read interrupted (${what})`);
}

/** The parts of an SDK result (`success: false`) we read. */

export type ResultClassification =
  { kind: 'decline'; declineCode: DeclineCode } | { kind: 'error'; error: ProviderError };

/** Numeric validation codes from the result, for a card-free message. */
export function validationCodes(result: BraintreeFailedResult): string[] {
  try {
    return (result.errors?.deepErrors() ?? [])
      .map((e) => (typeof e.code === 'string' || typeof e.code === 'number' ? String(e.code) : ''))
      .filter((c) => /^\d{1,6}$/.test(c));
  } catch {
    return [];
  }
}

/** Classify a `success: false` result. */
export function classifyBraintreeResult(result: BraintreeFailedResult): ResultClassification {
  const txn = result.transaction;
  switch (txn?.status) {
    case 'processor_declined':
      // The issuer said no (2000-2999): a result. The same request would be declined again.
      return { kind: 'decline', declineCode: processorDeclineCode(txn.processorResponseCode) };
    case 'gateway_rejected':
      // Our own Braintree risk rules (CVV/AVS/fraud) refused the card: also a decline.
      return { kind: 'decline', declineCode: gatewayRejectionDeclineCode(txn.gatewayRejectionReason) };
    case 'failed': {
      // 3000-series "Processor Network Unavailable - Try Again": the processor could not be reached,
      // the transaction definitively failed and holds no money. Unlike a decline the card was never
      // judged, so this is an outage: retrying (or failing over) is safe, and the orderId guard does
      // not treat a `failed` transaction as an existing authorization.
      const code = /^\d{1,6}$/.test(txn.processorResponseCode ?? '') ? txn.processorResponseCode : 'n/a';
      return {
        kind: 'error',
        error: ProviderError.unavailable('braintree', `Braintree processor unavailable (${code})`),
      };
    }
    default: {
      const codes = validationCodes(result);
      return {
        kind: 'error',
        error: ProviderError.invalid(
          'braintree',
          `Braintree validation failed${codes.length ? ` (${codes.join(', ')})` : ''}`,
          422,
        ),
      };
    }
  }
}
