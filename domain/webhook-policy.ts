/**
 * Merchant webhook delivery rules, pure: the retry schedule of one delivery and the limits of one
 * endpoint (concurrency, circuit breaker, auto-disable). The activities apply them; the workflows
 * only follow what the activities decide.
 */

export interface DeliverySchedule {
  initialBackoffMs: number;
  maxBackoffMs: number;
  /** No attempt starts later than this after the delivery's first attempt (API.md: >= 24 h). */
  retryForMs: number;
}

export const DEFAULT_DELIVERY_SCHEDULE: DeliverySchedule = {
  initialBackoffMs: 30_000,
  maxBackoffMs: 4 * 60 * 60 * 1000,
  retryForMs: 25 * 60 * 60 * 1000,
};

export interface EndpointPolicy {
  /** At most this many attempts in flight to one endpoint; the rest wait in the database. */
  concurrency: number;
  /** Consecutive failures that open the breaker. */
  breakerThreshold: number;
  /** How long an open breaker stops every attempt; then one trial attempt (half-open). */
  breakerCooldownMs: number;
  /** An endpoint failing (no success in between) for this long is disabled (API.md: 3 days). */
  disableAfterMs: number;
  /** The whole HTTP attempt: DNS, connect, TLS, response headers. */
  attemptTimeoutMs: number;
  /** Longest an endpoint workflow sleeps with nothing due before it looks again. */
  idleMs: number;
}

export const DEFAULT_ENDPOINT_POLICY: EndpointPolicy = {
  concurrency: 4,
  breakerThreshold: 5,
  breakerCooldownMs: 5 * 60 * 1000,
  disableAfterMs: 3 * 24 * 60 * 60 * 1000,
  attemptTimeoutMs: 5_000,
  idleMs: 10 * 60 * 1000,
};

export const backoffFor = (s: DeliverySchedule, attempt: number) =>
  Math.min(s.initialBackoffMs * 2 ** (attempt - 1), s.maxBackoffMs);

/** After failed attempt `attempt`: when the next one is due, or null when the window is over. */
export function nextAttemptAfterFailure(
  s: DeliverySchedule,
  attempt: number,
  firstAttemptAt: number,
  now: number,
): number | null {
  const next = now + backoffFor(s, attempt);
  return next - firstAttemptAt > s.retryForMs ? null : next;
}

export interface BreakerState {
  consecutiveFailures: number;
  /** Start of the current run of failures; null while the endpoint succeeds. */
  failingSince: number | null;
  openUntil: number | null;
}

/**
 * The endpoint's state after one attempt: a success closes the breaker and forgets the failures; a
 * failure counts, opens the breaker at the threshold (and again after each failed trial), and asks
 * for the endpoint to be disabled once it has failed for `disableAfterMs` without a success.
 */
export function breakerAfter(
  s: BreakerState,
  ok: boolean,
  now: number,
  p: EndpointPolicy,
): { state: BreakerState; disable: boolean } {
  if (ok) return { state: { consecutiveFailures: 0, failingSince: null, openUntil: null }, disable: false };
  const consecutiveFailures = s.consecutiveFailures + 1;
  const failingSince = s.failingSince ?? now;
  const openUntil = consecutiveFailures >= p.breakerThreshold ? now + p.breakerCooldownMs : null;
  return {
    state: { consecutiveFailures, failingSince, openUntil },
    disable: now - failingSince >= p.disableAfterMs,
  };
}

/** How many deliveries an endpoint may have in flight now; 0 while its breaker is open. */
export function admissible(s: BreakerState, now: number, p: EndpointPolicy): number {
  if (s.openUntil !== null && s.openUntil > now) return 0;
  // Half-open: after the cool-down, a single trial decides whether the endpoint is back.
  return s.consecutiveFailures >= p.breakerThreshold ? 1 : p.concurrency;
}
