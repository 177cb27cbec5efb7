/**
 * Delivers the sandbox's outbox (sandbox_webhook_outbox) to the API's POST /webhooks/sandbox, like a
 * real provider's webhook service: each event signed at send time (webhook.ts), at least once, in
 * order of due time, retried with backoff (1 s doubling up to 10 min, for as long as it takes).
 *
 * It runs in the card-data worker beside the sandbox, on its own timer: captures never wait for it,
 * so a slow or dead API delays only the announcements. Rows are claimed with FOR UPDATE SKIP LOCKED
 * and their next attempt pushed back before the POST, so two workers never send one row at once and a
 * worker killed mid-send leaves the row to be retried. Errors stored are status codes and error
 * names, never bodies.
 */
import type { Pool } from '../../../db/pool';
import { inTransaction } from '../../../db/transaction';
import { SANDBOX_SIGNATURE_HEADER, signSandboxWebhook } from './webhook';

export interface SandboxWebhookSenderOptions {
  pool: Pool;
  /** The API's /webhooks/sandbox URL. */
  url: string;
  secret: string;
  /** Poll period while idle (default 1 s). */
  intervalMs?: number;
  /** Per-delivery timeout (default 5 s). */
  timeoutMs?: number;
  batch?: number;
  now?: () => Date;
  onError?: (err: unknown) => void;
  /**
   * Deliver only the events of these payments. Production has one sender; tests that share one
   * database run several (each with its own receiver and secret), and must not take each other's.
   */
  onlyPayments?: () => readonly string[];
}

const MAX_BACKOFF_S = 600;

export function backoffSeconds(attempts: number): number {
  return Math.min(2 ** Math.max(0, attempts), MAX_BACKOFF_S);
}

interface OutboxRow {
  id: string;
  body: unknown;
  attempts: number;
}

export function createSandboxWebhookSender(opts: SandboxWebhookSenderOptions) {
  const now = opts.now ?? (() => new Date());
  const timeoutMs = opts.timeoutMs ?? 5_000;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;
  let stopped = false;

  async function post(row: OutboxRow): Promise<string | undefined> {
    const body = JSON.stringify(row.body);
    try {
      const res = await fetch(opts.url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          [SANDBOX_SIGNATURE_HEADER]: signSandboxWebhook(
            body,
            opts.secret,
            Math.floor(now().getTime() / 1000),
          ),
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined);
      return res.ok ? undefined : `HTTP ${res.status}`;
    } catch (err) {
      // A code (ECONNREFUSED) or an error name (TimeoutError): never a message, never a body.
      const e = (err ?? {}) as { name?: unknown; cause?: { code?: unknown } };
      const code = typeof e.cause?.code === 'string' ? e.cause.code : undefined;
      return code ?? (typeof e.name === 'string' ? e.name : 'error');
    }
  }

  /** Claim the due rows (pushing their next attempt back), send them, record each outcome. */
  async function drainOnce(): Promise<number> {
    const claimed = await inTransaction(opts.pool, async (c) => {
      const r = await c.query<OutboxRow>(
        `SELECT id, body, attempts FROM sandbox_webhook_outbox
          WHERE delivered_at IS NULL AND next_attempt_at <= $1
            AND ($3::text[] IS NULL OR body->'data'->'dispute'->>'paymentId' = ANY ($3::text[]))
          ORDER BY next_attempt_at, created_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
        [now(), opts.batch ?? 20, opts.onlyPayments ? [...opts.onlyPayments()] : null],
      );
      for (const row of r.rows) {
        await c.query(
          `UPDATE sandbox_webhook_outbox SET attempts = attempts + 1, next_attempt_at = $2 WHERE id = $1`,
          [row.id, new Date(now().getTime() + backoffSeconds(row.attempts) * 1000)],
        );
      }
      return r.rows;
    });
    let delivered = 0;
    for (const row of claimed) {
      const error = await post(row);
      if (error === undefined) {
        delivered++;
        await opts.pool.query(
          'UPDATE sandbox_webhook_outbox SET delivered_at = $2, last_error = NULL WHERE id = $1',
          [row.id, now()],
        );
      } else {
        await opts.pool.query('UPDATE sandbox_webhook_outbox SET last_error = $2 WHERE id = $1', [
          row.id,
          error.slice(0, 200),
        ]);
      }
    }
    return delivered;
  }

  function schedule(ms: number): void {
    if (stopped) return;
    timer = setTimeout(() => {
      running = drainOnce()
        .catch((err: unknown) => {
          opts.onError?.(err);
          return 0;
        })
        .finally(() => {
          running = undefined;
          schedule(opts.intervalMs ?? 1_000);
        });
    }, ms);
    timer.unref();
  }

  return {
    drainOnce,
    start(): void {
      stopped = false;
      schedule(0);
    },
    async stop(): Promise<void> {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
export type SandboxWebhookSender = ReturnType<typeof createSandboxWebhookSender>;
