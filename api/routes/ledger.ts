/**
 * GET /v1/ledger/entries and GET /v1/ledger/balances (API.md "Ledger and reconciliation"). A service
 * client reads its own merchant's entries and accounts; admin and auditor read every merchant's
 * (each row names its `clientId`). Read-only for every role: entries are posted by payment steps.
 */
import type { Router } from 'express';
import { z } from 'zod';
import type { LedgerRepo } from '../../db/ledger-repo';
import { createRouter } from '../router';
import { idString, listQuery, parse } from '../validation';

export const LedgerEntriesQuery = listQuery.extend({ paymentId: idString('pay').optional() }).strict();
const NoQuery = z.object({}).strict();

export function ledgerRoutes(deps: { ledger: LedgerRepo }): Router {
  const r = createRouter();
  const scope = (req: Express.Request) => (req.auth!.role === 'service' ? req.auth!.sub : undefined);

  r.get('/entries', async (req, res) => {
    const q = parse(LedgerEntriesQuery, req.query);
    res.json(await deps.ledger.listEntries({ clientId: scope(req), ...q }));
  });
  r.get('/balances', async (req, res) => {
    parse(NoQuery, req.query);
    res.json({ data: await deps.ledger.balances(scope(req)) });
  });
  return r;
}
