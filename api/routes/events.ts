/**
 * Merchant events: POST /v1/events/:id/redeliver -> 202. The event goes back to the outbox as a new
 * generation, and the dispatcher sends it again, with the SAME event id, to every endpoint of the
 * client that is enabled and subscribed to its type NOW (a new delivery each, in its delivery log).
 * Another client's event is 404.
 */
import type { Router } from 'express';
import { createRouter } from '../router';
import { noBody } from '../validation';
import type { WebhooksRepo } from '../../db/webhooks-repo';
import { notFound } from '../../domain/errors';

export function eventRoutes(deps: { webhooks: WebhooksRepo }): Router {
  const r = createRouter();
  r.post('/:id/redeliver', async (req, res) => {
    noBody(req.body);
    const id = String(req.params.id);
    const redelivery = await deps.webhooks.requestRedelivery(id, req.auth!.sub);
    if (!redelivery) throw notFound('event');
    res.status(202).json({ id, redelivery: redelivery.generation });
  });
  return r;
}
