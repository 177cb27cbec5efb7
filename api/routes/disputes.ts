/**
 * Dispute routes (API.md "Disputes"): validate, call the disputes service, shape the response.
 * The evidence route takes a larger JSON body than the rest of the API (api/app.ts mounts its
 * parser: EVIDENCE_BODY_LIMIT); the service checks the decoded files.
 */
import type { Router } from 'express';
import { z } from 'zod';
import { DISPUTE_STATUSES, EVIDENCE_LIMITS } from '../../domain/dispute';
import type { DisputesService } from '../disputes-service';
import { createRouter } from '../router';
import { freeText, idString, listQuery, noBody, parse } from '../validation';

/** Base64 of the largest file, with padding. */
const MAX_BASE64 = Math.ceil(EVIDENCE_LIMITS.fileBytes / 3) * 4;
/** Files (base64) + text (UTF-8, up to 4 bytes a character) + JSON framing. */
export const EVIDENCE_BODY_LIMIT =
  Math.ceil(EVIDENCE_LIMITS.totalBytes / 3) * 4 + EVIDENCE_LIMITS.textChars * 4 + 64 * 1024;

const base64 = z
  .string()
  .min(4)
  .max(MAX_BASE64, `must encode at most ${EVIDENCE_LIMITS.fileBytes} bytes`)
  .refine((s) => s.length % 4 === 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(s), 'must be base64');

export const EvidenceBody = z
  .object({
    text: freeText(EVIDENCE_LIMITS.textChars).pipe(z.string().min(1)),
    files: z
      .array(
        z
          .object({
            name: freeText(EVIDENCE_LIMITS.nameChars).pipe(z.string().min(1)),
            contentBase64: base64,
          })
          .strict(),
      )
      .max(EVIDENCE_LIMITS.files)
      .optional(),
  })
  .strict();

const ListQuery = listQuery
  .extend({ paymentId: idString('pay').optional(), status: z.enum(DISPUTE_STATUSES).optional() })
  .strict();

export function disputeRoutes(deps: { disputes: DisputesService }): Router {
  const r = createRouter();
  const caller = (req: Express.Request) => ({ sub: req.auth!.sub, role: req.auth!.role });

  r.get('/', async (req, res) => {
    res.json(await deps.disputes.list(caller(req), parse(ListQuery, req.query)));
  });
  r.get('/:id', async (req, res) => {
    res.json(await deps.disputes.get(caller(req), String(req.params.id)));
  });
  r.post('/:id/evidence', async (req, res) => {
    const body = parse(EvidenceBody, req.body);
    res
      .status(200)
      .json(
        await deps.disputes.submitEvidence(caller(req), String(req.params.id), req.idempotencyKey!, body),
      );
  });
  r.post('/:id/accept', async (req, res) => {
    noBody(req.body);
    res.status(200).json(await deps.disputes.accept(caller(req), String(req.params.id), req.idempotencyKey!));
  });
  return r;
}
