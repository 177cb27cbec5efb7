/**
 * Exponential backoff for the engine's own retries of infrastructure (not activity retries, which
 * Temporal owns in workflows/activity-options.ts): 1 s, 2 s, 4 s ... capped.
 */
export const backoffMs = (attempt: number, baseMs = 1000, capMs = 30_000): number =>
  Math.min(baseMs * 2 ** Math.max(attempt - 1, 0), capMs);

/**
 * Runs `fn` until it succeeds, `attempts` tries have failed (then resolves: the failures were
 * reported through `onError`), or `cancelled()` turns true. Never rejects: a caller starting a
 * background step with it cannot be brought down by a dependency that is briefly away.
 */
export async function retryWithBackoff(
  fn: () => Promise<unknown>,
  opts: {
    attempts?: number;
    onError?: (err: unknown) => void;
    baseMs?: number;
    maxDelayMs?: number;
    cancelled?: () => boolean;
  } = {},
): Promise<void> {
  const attempts = opts.attempts ?? 12;
  for (let i = 1; !opts.cancelled?.(); i++) {
    try {
      await fn();
      return;
    } catch (err) {
      opts.onError?.(err);
      if (i >= attempts) return;
      const ms = backoffMs(i, opts.baseMs ?? 500, opts.maxDelayMs ?? 30_000);
      await new Promise((r) => setTimeout(r, ms).unref());
    }
  }
}
