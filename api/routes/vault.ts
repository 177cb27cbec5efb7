/** Vault routes: tokenize, read metadata, delete (crypto-shred). Never returns a card number. */
import type { Router } from 'express';
import { createRouter } from '../router';
import { z } from 'zod';
import { notFound } from '../../domain/errors';
import type { Vault } from '../../vault/vault';
import { freeText, noBody, parse } from '../validation';

export const TokenizeBody = z
  .object({
    number: z.string().min(1).max(40),
    expMonth: z.number().int().min(1).max(12),
    expYear: z.number().int().min(2000).max(2100),
    cvc: z.string().min(1).max(8).optional(),
    holderName: freeText(200).optional(),
  })
  .strict();

export function vaultRoutes(deps: { vault: Vault; legalEntity: string }): Router {
  const r = createRouter();
  const owner = (role: string, sub: string) => (role === 'service' ? sub : undefined);

  r.post('/cards', async (req, res) => {
    const body = parse(TokenizeBody, req.body);
    const meta = await deps.vault.tokenize(req.auth!.sub, deps.legalEntity, body);
    res.status(201).json(meta);
  });
  r.get('/cards/:token', async (req, res) => {
    const meta = await deps.vault.metadata(String(req.params.token), owner(req.auth!.role, req.auth!.sub));
    if (!meta) throw notFound('card');
    const { legalEntity: _le, ...pub } = meta;
    res.json(pub);
  });
  r.delete('/cards/:token', async (req, res) => {
    noBody(req.body);
    const ok = await deps.vault.shred(String(req.params.token), req.auth!.sub);
    if (!ok) throw notFound('card');
    res.status(204).end();
  });
  return r;
}
