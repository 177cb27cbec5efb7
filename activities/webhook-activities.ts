/**
 * Merchant webhooks out (webhook worker, its own task queue): move outbox events to deliveries, claim
 * an endpoint's due deliveries within its limits, and make ONE signed attempt of a delivery. The rules
 * (schedule, concurrency, breaker, auto-disable) are domain/webhook-policy.ts; the endpoint workflow
 * (workflows/webhook-delivery.ts) only loops over claims and attempts.
 *
 * Signature (API.md "Webhooks"): `Settle-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "t.body")>`;
 * the body is the event `{ id, type, createdAt, data }` with the outbox's stable event id, so every
 * retry of one delivery carries the same id and the receiver can de-duplicate by it.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ClaimResult } from '../db/webhook-deliveries-repo';
import type { WebhooksRepo } from '../db/webhooks-repo';
import {
  DEFAULT_DELIVERY_SCHEDULE,
  DEFAULT_ENDPOINT_POLICY,
  nextAttemptAfterFailure,
  type DeliverySchedule,
  type EndpointPolicy,
} from '../domain/webhook-policy';
import { webhookDeliveries } from '../observability/metrics';
import { open, seal } from '../security/envelope';
import { STRICT_URL_POLICY, type UrlPolicy } from '../security/url-guard';
import { atBoundary } from './errors';
import { TargetRefusedError, vetAndPost, type Resolver } from './webhook-transport';

export const SIGNATURE_HEADER = 'Settle-Signature';

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
  /** Retry schedule of one delivery; default >= 24 h (API.md). */
  schedule?: DeliverySchedule | undefined;
  /** Per-endpoint limits; tests shorten the windows. */
  policy?: Partial<EndpointPolicy> | undefined;
  now?: () => number;
}

export interface DeliverResult {
  /** sent: an attempt was made (ok or not); gone: deleted/cancelled/done; held: endpoint disabled. */
  outcome: 'sent' | 'gone' | 'held';
  ok: boolean;
  statusCode: number | null;
  /** No attempt follows this one (success, refused target, window over). */
  final: boolean;
}

export function createWebhookActivities(deps: WebhookActivityDeps) {
  const now = deps.now ?? Date.now;
  const urlPolicy = deps.urlPolicy ?? STRICT_URL_POLICY;
  const schedule = deps.schedule ?? DEFAULT_DELIVERY_SCHEDULE;
  const policy: EndpointPolicy = { ...DEFAULT_ENDPOINT_POLICY, ...deps.policy };
  return {
    async dispatchWebhookEvents(a: { limit: number }): Promise<{ events: number; endpointIds: string[] }> {
      return atBoundary(() => deps.webhooks.dispatch(a.limit));
    },

    async pendingWebhookEndpoints(): Promise<string[]> {
      return atBoundary(() => deps.webhooks.endpointsWithPending());
    },

    async claimWebhookDeliveries(a: { endpointId: string }): Promise<ClaimResult> {
      return atBoundary(() => deps.webhooks.claimDue(a.endpointId, policy, now()));
    },

    async deliverWebhook(a: { deliveryId: string }): Promise<DeliverResult> {
      return atBoundary(async () => {
        const ctx = await deps.webhooks.deliveryContext(a.deliveryId);
        if (!ctx || ctx.status !== 'pending' || ctx.endpoint.status === 'deleted') {
          return { outcome: 'gone', ok: ctx?.status === 'succeeded', statusCode: null, final: true };
        }
        // Disabled: the delivery waits in the database without spending an attempt.
        if (ctx.endpoint.status !== 'enabled')
          return { outcome: 'held', ok: false, statusCode: null, final: false };
        const attempt = ctx.attempts + 1;
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
          statusCode = await vetAndPost(
            ctx.endpoint.url,
            urlPolicy,
            deps.resolve,
            {
              'Content-Type': 'application/json',
              'User-Agent': 'Settle-Webhooks/1',
              [SIGNATURE_HEADER]: signPayload(secret, body, Math.floor(now() / 1000)),
              'Settle-Event-Id': id,
              'Settle-Delivery-Attempt': String(attempt),
            },
            body,
            policy.attemptTimeoutMs,
          );
        } catch (err) {
          // Connection refused, DNS, timeout: a failed attempt, retried on the schedule.
          // A refused target is permanent: retrying cannot make an internal address acceptable.
          refused = err instanceof TargetRefusedError;
          error = (err instanceof Error ? err.message : String(err)).slice(0, 200);
        }
        const ended = now();
        const ok = statusCode !== null && statusCode >= 200 && statusCode < 300;
        const firstAttemptAt = ctx.firstAttemptAt ?? started;
        const next = ok || refused ? null : nextAttemptAfterFailure(schedule, attempt, firstAttemptAt, ended);
        const final = ok || next === null;
        await deps.webhooks.recordAttempt({
          deliveryId: a.deliveryId,
          endpointId: ctx.endpoint.id,
          attempt,
          statusCode,
          error: ok ? null : (error ?? `HTTP ${statusCode}`),
          durationMs: Math.max(0, Math.round(ended - started)),
          ok,
          nextAttemptAt: next,
          final,
          firstAttemptAt,
          now: ended,
          policy,
        });
        webhookDeliveries.inc({ outcome: ok ? 'succeeded' : final ? 'failed' : 'retrying' });
        return { outcome: 'sent', ok, statusCode, final };
      });
    },
  };
}
export type WebhookActivities = ReturnType<typeof createWebhookActivities>;
