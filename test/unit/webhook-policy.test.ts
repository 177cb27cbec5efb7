/**
 * The delivery rules (domain/webhook-policy.ts): a failing delivery is retried with growing backoff
 * for at least 24 hours (API.md) and then given up; an endpoint's breaker opens after K consecutive
 * failures, admits one trial after the cool-down, closes on a success; an endpoint failing for
 * `disableAfterMs` without a success is to be disabled.
 */
import {
  DEFAULT_DELIVERY_SCHEDULE as S,
  DEFAULT_ENDPOINT_POLICY,
  admissible,
  breakerAfter,
  nextAttemptAfterFailure,
  type BreakerState,
} from '../../domain/webhook-policy';

const HOUR = 60 * 60 * 1000;

test('a failing delivery is retried with growing backoff for at least 24 hours, then given up', () => {
  const first = 1_000_000;
  const at = [first];
  for (let attempt = 1; ; attempt++) {
    const next = nextAttemptAfterFailure(S, attempt, first, at[at.length - 1]!);
    if (next === null) break;
    at.push(next);
  }
  const gaps = at.slice(1).map((t, i) => t - at[i]!);
  expect(gaps[0]).toBe(S.initialBackoffMs);
  for (let i = 1; i < gaps.length; i++) expect(gaps[i]!).toBeGreaterThanOrEqual(gaps[i - 1]!);
  expect(Math.max(...gaps)).toBe(S.maxBackoffMs);
  expect(at[at.length - 1]! - first).toBeGreaterThanOrEqual(24 * HOUR);
  expect(at[at.length - 1]! - first).toBeLessThanOrEqual(S.retryForMs);
});

test('the breaker opens after K consecutive failures, admits one trial after the cool-down, closes on success', () => {
  const p = { ...DEFAULT_ENDPOINT_POLICY, breakerThreshold: 3, breakerCooldownMs: 60_000 };
  let s: BreakerState = { consecutiveFailures: 0, failingSince: null, openUntil: null };
  let now = 0;
  for (let i = 1; i < 3; i++) {
    s = breakerAfter(s, false, (now += 1000), p).state;
    expect(admissible(s, now, p)).toBe(p.concurrency);
  }
  s = breakerAfter(s, false, (now += 1000), p).state;
  expect(s).toEqual({ consecutiveFailures: 3, failingSince: 1000, openUntil: now + 60_000 });
  expect(admissible(s, now + 59_999, p)).toBe(0);
  expect(admissible(s, now + 60_000, p)).toBe(1);
  // A failed trial re-opens it at once.
  now += 60_000;
  s = breakerAfter(s, false, now, p).state;
  expect(admissible(s, now + 1, p)).toBe(0);
  s = breakerAfter(s, true, now + 61_000, p).state;
  expect(s).toEqual({ consecutiveFailures: 0, failingSince: null, openUntil: null });
  expect(admissible(s, now + 61_000, p)).toBe(p.concurrency);
});

test('an endpoint failing for the disable window without a success is to be disabled; a success resets it', () => {
  const p = DEFAULT_ENDPOINT_POLICY;
  expect(p.disableAfterMs).toBe(72 * HOUR);
  const s0: BreakerState = { consecutiveFailures: 0, failingSince: null, openUntil: null };
  const s1 = breakerAfter(s0, false, 0, p);
  expect(s1.disable).toBe(false);
  expect(breakerAfter(s1.state, false, 72 * HOUR - 1, p).disable).toBe(false);
  expect(breakerAfter(s1.state, false, 72 * HOUR, p).disable).toBe(true);
  const healed = breakerAfter(s1.state, true, 71 * HOUR, p).state;
  expect(breakerAfter(healed, false, 72 * HOUR, p).disable).toBe(false);
});
