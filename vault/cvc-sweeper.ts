/**
 * PCI DSS 3.3.1.2: a CVC is kept only until the first authorization (card activities destroy it
 * then) or for one hour. This loop enforces the hour in the card-data worker process, the one process
 * that holds vault credentials, so the deadline holds even when no payment ever uses the card.
 * Expiry is decided by the vault's clock (cvc_expires_at <= now), not by this loop's timing.
 */
import type { Vault } from './vault';

export interface CvcSweeper {
  /** One sweep now; resolves with the number of CVCs destroyed. */
  tick(): Promise<number>;
  stop(): Promise<void>;
}

export function startCvcSweeper(deps: {
  vault: Pick<Vault, 'destroyExpiredCvcs'>;
  everyMs?: number;
  onSwept?: (destroyed: number) => void;
  onError?: (err: unknown) => void;
}): CvcSweeper {
  const everyMs = deps.everyMs ?? 60_000;
  let running: Promise<number> | undefined;
  let stopped = false;

  const tick = (): Promise<number> => {
    // Never overlap sweeps: a slow database must not pile up UPDATEs.
    running ??= deps.vault
      .destroyExpiredCvcs()
      .then((n) => {
        if (n > 0) deps.onSwept?.(n);
        return n;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };

  const timer = setInterval(() => {
    if (!stopped) tick().catch((err: unknown) => deps.onError?.(err));
  }, everyMs);
  timer.unref();

  return {
    tick,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
