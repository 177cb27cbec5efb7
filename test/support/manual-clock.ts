import type { Clock } from '../../security/clock';

/** A clock that only moves when told to, so tests move time deterministically instead of sleeping. */
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
