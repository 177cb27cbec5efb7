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

/** A clock that only moves when told to (tests). */
export function manualClock(
  start: Date = new Date(),
): Clock & { advance(ms: number): void; set(d: Date): void } {
  let t = start.getTime();
  return {
    now: () => new Date(t),
    advance(ms: number) {
      t += ms;
    },
    set(d: Date) {
      t = d.getTime();
    },
  };
}
