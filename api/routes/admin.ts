/**
 * Admin routes (role matrix: admin read+write, nobody else): clients, operators, signing keys.
 * Credentials are never returned here: a client secret is shown once by the CLI, and stored
 * responses (idempotency replay) must not hold secrets, so there is no create-with-secret route.
 */
import type { Router } from 'express';
import { createRouter } from '../router';
import { noBody } from '../validation';
import type { ClientRow, ClientsRepo } from '../../db/clients-repo';
import type { OperatorRow, OperatorsRepo } from '../../db/operators-repo';
import { notFound } from '../../domain/errors';
import type { Clock } from '../../security/clock';
import type { TokenService } from '../../security/tokens';

const publicClient = (c: ClientRow) => ({
  id: c.id,
  name: c.name,
  role: c.role,
  createdAt: c.createdAt.toISOString(),
  disabledAt: c.disabledAt?.toISOString() ?? null,
});

const publicOperator = (o: OperatorRow, now: Date) => ({
  id: o.id,
  username: o.username,
  role: o.role,
  locked: !!o.lockedUntil && o.lockedUntil > now,
  createdAt: o.createdAt.toISOString(),
  disabledAt: o.disabledAt?.toISOString() ?? null,
});

export function clientAdminRoutes(deps: { clients: ClientsRepo; clock: Clock }): Router {
  const r = createRouter();
  r.get('/', async (_req, res) => {
    res.json({ data: (await deps.clients.list()).map(publicClient), hasMore: false });
  });
  r.get('/:id', async (req, res) => {
    const c = await deps.clients.findById(String(req.params.id));
    if (!c) throw notFound('client');
    res.json(publicClient(c));
  });
  r.post('/:id/disable', async (req, res) => {
    noBody(req.body);
    const id = String(req.params.id);
    await deps.clients.disable(id, deps.clock.now());
    const c = await deps.clients.findById(id);
    if (!c) throw notFound('client');
    res.json(publicClient(c));
  });
  return r;
}

export function operatorAdminRoutes(deps: { operators: OperatorsRepo; clock: Clock }): Router {
  const r = createRouter();
  const load = async (id: string) => {
    const o = await deps.operators.findById(id);
    if (!o) throw notFound('operator');
    return o;
  };
  r.get('/', async (_req, res) => {
    const now = deps.clock.now();
    res.json({ data: (await deps.operators.list()).map((o) => publicOperator(o, now)), hasMore: false });
  });
  r.get('/:id', async (req, res) => {
    res.json(publicOperator(await load(String(req.params.id)), deps.clock.now()));
  });
  r.post('/:id/unlock', async (req, res) => {
    noBody(req.body);
    const o = await load(String(req.params.id));
    await deps.operators.unlock(o.id);
    res.json(publicOperator(await load(o.id), deps.clock.now()));
  });
  r.post('/:id/revoke-sessions', async (req, res) => {
    noBody(req.body);
    const o = await load(String(req.params.id));
    const revoked = await deps.operators.revokeAllSessions(o.id, deps.clock.now());
    res.json({ id: o.id, revokedSessions: revoked });
  });
  r.post('/:id/disable', async (req, res) => {
    noBody(req.body);
    const o = await load(String(req.params.id));
    const now = deps.clock.now();
    await deps.operators.disable(o.id, now);
    await deps.operators.revokeAllSessions(o.id, now);
    res.json(publicOperator(await load(o.id), now));
  });
  return r;
}

export function signingKeyRoutes(deps: { tokens: TokenService }): Router {
  const r = createRouter();
  r.get('/', (_req, res) => {
    res.json({ data: deps.tokens.keys(), hasMore: false });
  });
  // In-process rotation: the new key lives in this process's memory. Durable rotation across
  // restarts and replicas goes through SETTLE_JWT_PRIVATE_KEY + SETTLE_JWT_PREVIOUS_PUBLIC_KEYS.
  r.post('/rotate', (req, res) => {
    noBody(req.body);
    res.json(deps.tokens.rotate());
  });
  return r;
}
