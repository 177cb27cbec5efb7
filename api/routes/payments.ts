/** Payment routes (API.md "Payments"): validate, call the payments service, shape the response. */
import type { Router } from 'express';
import { createRouter } from '../router';
import { z } from 'zod';
import { PAYMENT_STATUSES } from '../../domain/payment-state';
import type { PaymentsService } from '../payments-service';
import { amount, currency, freeText, idString, listQuery, metadata, noBody, parse } from '../validation';
import { PROVIDER_NAMES } from '../../domain/providers';

export const CreatePaymentBody = z
  .object({
    amount,
    currency,
    paymentMethod: z.object({ token: idString('tok') }).strict(),
    capture: z.enum(['manual', 'automatic']),
    provider: z.enum(PROVIDER_NAMES).optional(),
    merchantReference: freeText(255).optional(),
    description: freeText(1000).optional(),
    metadata: metadata.optional(),
  })
  .strict();

export const CaptureBody = z.object({ amount: amount.optional(), final: z.boolean().optional() }).strict();
export const RefundBody = z.object({ amount: amount.optional(), reason: freeText(500).optional() }).strict();
const ListQuery = listQuery.extend({ status: z.enum(PAYMENT_STATUSES).optional() }).strict();

export function paymentRoutes(deps: { payments: PaymentsService }): Router {
  const r = createRouter();
  const caller = (req: Express.Request) => ({ sub: req.auth!.sub, role: req.auth!.role });

  r.post('/', async (req, res) => {
    const body = parse(CreatePaymentBody, req.body);
    const view = await deps.payments.create(caller(req), req.idempotencyKey!, body);
    res.status(201).json(view);
  });
  r.get('/', async (req, res) => {
    const q = parse(ListQuery, req.query);
    res.json(await deps.payments.list(caller(req), q));
  });
  r.get('/:id', async (req, res) => {
    res.json(await deps.payments.get(caller(req), String(req.params.id)));
  });
  r.post('/:id/capture', async (req, res) => {
    const body = parse(CaptureBody, req.body);
    res
      .status(200)
      .json(await deps.payments.capture(caller(req), String(req.params.id), req.idempotencyKey!, body));
  });
  r.post('/:id/void', async (req, res) => {
    noBody(req.body);
    res.status(200).json(await deps.payments.void(caller(req), String(req.params.id), req.idempotencyKey!));
  });
  r.post('/:id/refunds', async (req, res) => {
    const body = parse(RefundBody, req.body);
    const out = await deps.payments.refund(caller(req), String(req.params.id), req.idempotencyKey!, body);
    res.status(201).json({
      id: out.refund.id,
      paymentId: out.refund.paymentId,
      amount: out.refund.amount,
      status: out.refund.status,
      createdAt: out.refund.createdAt,
    });
  });
  return r;
}
