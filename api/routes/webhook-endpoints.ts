/**
 * Merchant webhook endpoints (API.md "Webhooks"): POST /v1/webhook-endpoints { url, events } -> 201
 * with the signing `secret` shown ONCE (stored sealed with SETTLE_WEBHOOK_KEY, AAD = endpoint id);
 * GET list / one (never the secret); POST /:id { status, events? }: disable / enable again / change
 * subscriptions; DELETE /:id -> 204: gone, and its pending deliveries cancelled (nothing more is
 * sent); GET /:id/deliveries: the delivery log (status, attempts, each attempt's HTTP status or
 * error), newest last. Another client's endpoint is 404. SSRF: the URL must be https (http only when
 * SETTLE_WEBHOOK_ALLOW_HTTP), carry no credentials, and an IP-literal host must be public unless
 * SETTLE_WEBHOOK_ALLOW_PRIVATE; hostnames are resolved and vetted at every delivery.
 */
import { randomBytes } from 'node:crypto';
import type { Router } from 'express';
import { createRouter } from '../router';
import { z } from 'zod';
import { sealEndpointSecret } from '../../activities/webhook-activities';
import type { WebhookEndpointRow, WebhooksRepo } from '../../db/webhooks-repo';
import { AppError, invalidRequest, notFound } from '../../domain/errors';
import { newId } from '../../domain/ids';
import { urlContainsCardNumber } from '../../security/redaction';
import { STRICT_URL_POLICY, checkTargetUrl, type UrlPolicy } from '../../security/url-guard';
import { listQuery, noBody, parse } from '../validation';

const eventPattern = z
  .string()
  .regex(/^(\*|[a-z_]+\.(\*|[a-z_]+))$/, 'must be an event type like payment.captured, payment.* or *');

export const CreateEndpointBody = z
  .object({
    url: z
      .string()
      .max(2048)
      .url()
      .refine((u) => /^https?:\/\//i.test(u), 'must be an http(s) URL')
      // Anywhere in it (host, path, query, fragment), percent-encoded or not: API.md free-text rule.
      .refine((u) => !urlContainsCardNumber(u), 'must not contain a card number'),
    events: z.array(eventPattern).min(1).max(50),
  })
  .strict();

export const UpdateEndpointBody = z
  .object({
    status: z.enum(['enabled', 'disabled']),
    events: z.array(eventPattern).min(1).max(50).optional(),
  })
  .strict();

const publicView = (e: WebhookEndpointRow) => ({
  id: e.id,
  url: e.url,
  events: e.events,
  status: e.status,
  createdAt: e.createdAt,
});

export function webhookEndpointRoutes(deps: {
  webhooks: WebhooksRepo;
  webhookKey: Buffer | undefined;
  /** SSRF guard: scheme and IP-literal hosts now; hostnames are resolved and vetted at delivery. */
  urlPolicy?: UrlPolicy | undefined;
  /** Tells the endpoint's workflow at once (else it looks again within its idle bound). */
  wake?: ((endpointId: string) => Promise<void>) | undefined;
}): Router {
  const policy = deps.urlPolicy ?? STRICT_URL_POLICY;
  const r = createRouter();
  const scope = (req: Express.Request) => (req.auth!.role === 'service' ? req.auth!.sub : undefined);

  r.post('/', async (req, res) => {
    const body = parse(CreateEndpointBody, req.body);
    const target = checkTargetUrl(body.url, policy);
    if (!target.ok) {
      throw invalidRequest('invalid_field', `Invalid value for url: ${target.reason}`, { field: 'url' });
    }
    if (!deps.webhookKey) {
      throw new AppError('internal', 'webhooks_not_configured', 'Merchant webhooks are not configured', {
        status: 503,
      });
    }
    const id = newId('we');
    const secret = `whsec_${randomBytes(32).toString('base64url')}`;
    const row = await deps.webhooks.insertEndpoint({
      id,
      clientId: req.auth!.sub,
      url: body.url,
      events: [...new Set(body.events)],
      secretSealed: sealEndpointSecret(deps.webhookKey, id, secret),
    });
    res.status(201).json({ ...publicView(row), secret });
  });

  r.get('/', async (req, res) => {
    const q = parse(listQuery, req.query);
    const page = await deps.webhooks.listEndpoints({ clientId: scope(req), ...q });
    res.json({ data: page.data.map(publicView), hasMore: page.hasMore });
  });

  r.get('/:id', async (req, res) => {
    const e = await deps.webhooks.getEndpoint(String(req.params.id), scope(req));
    if (!e) throw notFound('webhook endpoint');
    res.json(publicView(e));
  });

  r.post('/:id', async (req, res) => {
    const body = parse(UpdateEndpointBody, req.body);
    const e = await deps.webhooks.updateEndpoint(String(req.params.id), req.auth!.sub, {
      status: body.status,
      events: body.events && [...new Set(body.events)],
    });
    if (!e) throw notFound('webhook endpoint');
    await deps.wake?.(e.id);
    res.json(publicView(e));
  });

  r.delete('/:id', async (req, res) => {
    noBody(req.body);
    if (!(await deps.webhooks.deleteEndpoint(String(req.params.id), req.auth!.sub))) {
      throw notFound('webhook endpoint');
    }
    await deps.wake?.(String(req.params.id));
    res.status(204).end();
  });

  r.get('/:id/deliveries', async (req, res) => {
    const e = await deps.webhooks.getEndpoint(String(req.params.id), scope(req));
    if (!e) throw notFound('webhook endpoint');
    const q = parse(listQuery, req.query);
    res.json(await deps.webhooks.listDeliveries({ endpointId: e.id, ...q }));
  });
  return r;
}
