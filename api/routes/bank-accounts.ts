/** Bank account routes (API.md "Bank accounts"): validate, call the service, shape the response. */
import type { Router } from 'express';
import { createRouter } from '../router';
import { z } from 'zod';
import type { BankAccountsService } from '../bank-accounts-service';
import { freeText, parse } from '../validation';

// Formats only; the ABA checksum is checked by the service (domain/bank-account.ts) with its own code.
export const CreateBankAccountBody = z
  .object({
    routingNumber: z.string().regex(/^\d{9}$/, 'must be 9 digits'),
    accountNumber: z.string().regex(/^\d{4,17}$/, 'must be 4 to 17 digits'),
    holderName: freeText(200).pipe(z.string().min(1, 'must not be empty')),
    accountType: z.enum(['checking', 'savings']),
  })
  .strict();

const amount = z.number().int('must be an integer').min(1, 'must be 1..99').max(99, 'must be 1..99');
export const VerifyBody = z.object({ amounts: z.tuple([amount, amount]) }).strict();

export function bankAccountRoutes(deps: { bankAccounts: BankAccountsService }): Router {
  const r = createRouter();
  const caller = (req: Express.Request) => ({ sub: req.auth!.sub, role: req.auth!.role });

  r.post('/', async (req, res) => {
    const body = parse(CreateBankAccountBody, req.body);
    res.status(201).json(await deps.bankAccounts.create(caller(req), req.idempotencyKey!, body));
  });
  r.get('/:id', async (req, res) => {
    res.json(await deps.bankAccounts.get(caller(req), String(req.params.id)));
  });
  r.post('/:id/verify', async (req, res) => {
    const body = parse(VerifyBody, req.body);
    res
      .status(200)
      .json(
        await deps.bankAccounts.verify(caller(req), String(req.params.id), req.idempotencyKey!, body.amounts),
      );
  });
  return r;
}
