/**
 * Merchant webhooks out (payment worker): move outbox events to deliveries, and make ONE signed
 * delivery attempt. The delivery workflow (workflows/webhook-delivery.ts) owns the retry schedule.
 *
 * Signature (API.md "Webhooks"): `Settle-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "t.body")>`;
 * the body is the event `{ id, type, createdAt, data }` with the outbox's stable event id, so every
 * retry of one delivery carries the same id and the receiver can de-duplicate by it.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { WebhooksRepo } from '../db/webhooks-repo';
import { open, seal } from '../security/envelope';
import { STRICT_URL_POLICY, type UrlPolicy } from '../security/url-guard';
import { atBoundary } from './errors';
import { TargetRefusedError, postPinned, vetTarget, type Resolver } from './webhook-transport';

export const SIGNATURE_HEADER = 'Settle-Signature';
const ATTEMPT_TIMEOUT_MS = 10_000;

/** AAD binds a sealed secret to its endpoint: a sealed blob copied to another row does not open. */
const aad = (endpointId: string) => `webhook-endpoint:${endpointId}`;
export const sealEndpointSecret = (key: Buffer, endpointId: string, secret: string) =>
  seal(key, Buffer.from(secret, 'utf8'), aad(endpointId));
export const openEndpointSecret = (key: Buffer, endpointId: string, sealed: Buffer) =>
  open(key, sealed, aad(endpointId)).toString('utf8');

export function signPayload(secret: string, body: string, unixSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

/**
 * What a merchant does on receipt (shown in docs/providers.md; used by the tests as a real receiver
 * would): recompute the MAC, compare in constant time, reject stale timestamps.
 */
export function verifySettleSignature(
  secret: string,
  body: string,
  header: string | undefined,
  toleranceSeconds = 300,
  nowMs = Date.now(),
): boolean {
  if (!header) return false;
  const parts = new Map(header.split(',').map((p) => p.split('=', 2) as [string, string]));
  const t = Number(parts.get('t'));
  const v1 = parts.get('v1') ?? '';
  if (!Number.isSafeInteger(t) || Math.abs(nowMs / 1000 - t) > toleranceSeconds) return false;
  const want = Buffer.from(createHmac('sha256', secret).update(`${t}.${body}`).digest('hex'), 'utf8');
  const got = Buffer.from(v1, 'utf8');
  return got.length === want.length && timingSafeEqual(got, want);
}

export interface WebhookActivityDeps {
  webhooks: WebhooksRepo;
  /** SETTLE_WEBHOOK_KEY; without it nothing can be signed and deliveries fail (and are logged). */
  webhookKey?: Buffer | undefined;
  /** SSRF guard (SETTLE_WEBHOOK_ALLOW_HTTP / _ALLOW_PRIVATE); default: https, public only. */
  urlPolicy?: UrlPolicy | undefined;
  /** DNS resolution of endpoint hosts (default node:dns lookup, all addresses). */
  resolve?: Resolver | undefined;
  now?: () => number;
}

export interface AttemptArgs {
  deliveryId: string;
  attempt: number;
  /** Workflow time of this attempt (deterministic; shown in tests of the schedule). */
  at: string;
  /** When the next attempt is due if this one fails; null: this is the last one. */
  nextAttemptAt: string | null;
}
export interface AttemptResult {
  ok: boolean;
  statusCode: number | null;
  /** The delivery (or its endpoint) no longer exists: nothing left to do. */
  gone?: boolean;
  /** The failure is permanent (target refused by the SSRF guard): no further attempt. */
  final?: boolean;
}

export function createWebhookActivities(deps: WebhookActivityDeps) {
  const now = deps.now ?? Date.now;
  const policy = deps.urlPolicy ?? STRICT_URL_POLICY;
  return {
    async dispatchWebhookEvents(a: { limit: number }): Promise<{ events: number; deliveryIds: string[] }> {
      return atBoundary(() => deps.webhooks.dispatch(a.limit));
    },

    async attemptWebhookDelivery(a: AttemptArgs): Promise<AttemptResult> {
      return atBoundary(async () => {
        const ctx = await deps.webhooks.deliveryContext(a.deliveryId);
        if (!ctx) return { ok: false, statusCode: null, gone: true };
        if (ctx.status === 'succeeded') return { ok: true, statusCode: null };
        const started = now();
        let statusCode: number | null = null;
        let error: string | null = null;
        let refused = false;
        try {
          if (!deps.webhookKey) throw new Error('SETTLE_WEBHOOK_KEY is not configured');
          const secret = openEndpointSecret(deps.webhookKey, ctx.endpoint.id, ctx.endpoint.secretSealed);
          const { id, type, createdAt, data } = ctx.event;
          const body = JSON.stringify({ id, type, createdAt, data });
          // Vetted (and pinned) before anything is sent: the signed body never reaches a refused host.
          const target = await vetTarget(ctx.endpoint.url, policy, deps.resolve);
          statusCode = await postPinned(
            target,
            {
              'Content-Type': 'application/json',
              'User-Agent': 'Settle-Webhooks/1',
              [SIGNATURE_HEADER]: signPayload(secret, body, Math.floor(now() / 1000)),
              'Settle-Event-Id': id,
              'Settle-Delivery-Attempt': String(a.attempt),
            },
            body,
            ATTEMPT_TIMEOUT_MS,
          );
        } catch (err) {
          // Connection refused, DNS, timeout: a failed attempt, retried on the workflow's schedule.
          // A refused target is permanent: retrying cannot make an internal address acceptable.
          refused = err instanceof TargetRefusedError;
          error = (err instanceof Error ? err.message : String(err)).slice(0, 200);
        }
        const ok = statusCode !== null && statusCode >= 200 && statusCode < 300;
        const final = !ok && (refused || a.nextAttemptAt === null);
        await deps.webhooks.recordAttempt({
          deliveryId: a.deliveryId,
          attempt: a.attempt,
          statusCode,
          error: ok ? null : (error ?? `HTTP ${statusCode}`),
          durationMs: Math.max(0, Math.round(now() - started)),
          ok,
          nextAttemptAt: ok || final ? null : a.nextAttemptAt,
          final,
        });
        return refused ? { ok, statusCode, final: true } : { ok, statusCode };
      });
    },
  };
}
export type WebhookActivities = ReturnType<typeof createWebhookActivities>;
