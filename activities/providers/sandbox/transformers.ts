/**
 * The sandbox provider's deterministic triggers, by the amount (minor units) of the operation.
 * Documented in docs/sandbox-provider.md; the demo and the tests both rely on them.
 *
 * | amount        | behaviour                                                                   |
 * |---------------|-----------------------------------------------------------------------------|
 * | 40002         | decline: card_declined                                                      |
 * | 40051         | decline: insufficient_funds                                                 |
 * | 40054         | decline: expired_card                                                       |
 * | 40082         | decline: incorrect_cvc                                                      |
 * | 40059         | decline: fraudulent                                                         |
 * | 50301 - 50309 | 503 outage for the first N attempts of an operation (N = last digit)        |
 * | 50400         | effect applied, then the response is lost (timeout) on the first attempt    |
 * | 50801 - 50809 | effect applied, then the response takes N seconds                           |
 * | 40700         | authorization with a provider capture_before 1 day out (instead of 7 days)  |
 * | 40710         | authorization with a capture_before 5 min 10 s out: the engine's expiry     |
 * |               | (5 min safety margin) fires ~10 s later; for demos, recordings and tests    |
 * | 40400         | the provider rejects the request as invalid (HTTP 400, non-retryable)       |
 * anything else: approved.
 */
import type { DeclineCode } from '../types';

export type SandboxBehaviour =
  | { kind: 'approve'; captureBeforeMs: number }
  | { kind: 'decline'; code: DeclineCode }
  | { kind: 'outage'; attempts: number }
  | { kind: 'lost_response' }
  | { kind: 'slow'; seconds: number }
  | { kind: 'invalid' };

const DAY = 24 * 60 * 60 * 1000;

const DECLINES: Readonly<Record<number, DeclineCode>> = {
  40002: 'card_declined',
  40051: 'insufficient_funds',
  40054: 'expired_card',
  40082: 'incorrect_cvc',
  40059: 'fraudulent',
};

export function sandboxBehaviour(amount: number): SandboxBehaviour {
  const decline = DECLINES[amount];
  if (decline) return { kind: 'decline', code: decline };
  if (amount >= 50301 && amount <= 50309) return { kind: 'outage', attempts: amount - 50300 };
  if (amount === 50400) return { kind: 'lost_response' };
  if (amount >= 50801 && amount <= 50809) return { kind: 'slow', seconds: amount - 50800 };
  if (amount === 40700) return { kind: 'approve', captureBeforeMs: DAY };
  if (amount === 40710) return { kind: 'approve', captureBeforeMs: 5 * 60_000 + 10_000 };
  if (amount === 40400) return { kind: 'invalid' };
  return { kind: 'approve', captureBeforeMs: 7 * DAY };
}
