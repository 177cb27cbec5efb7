/**
 * The time source for security decisions (lockout, idle timeout, TOTP step, audit timestamps).
 * Injected so tests can move time deterministically instead of sleeping; production uses the system
 * clock. Times are passed to SQL as parameters, never taken from the database's now(), so one clock
 * governs every comparison.
 */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
