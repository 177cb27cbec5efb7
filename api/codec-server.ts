/**
 * Temporal codec server (https://docs.temporal.io/production-deployment/data-encryption): POST
 * /decode and /encode with `{ payloads: [{ metadata: { k: base64 }, data: base64 }] }`, so the
 * Temporal UI and CLI can show encrypted history to operators, and to nobody else:
 *   - a Settle API access token (Bearer) with role admin or auditor and a live operator session
 *     (same rule as the API); encode is admin only (it lets the caller inject payloads);
 *   - CORS only for the configured Temporal UI origin; a request from any other origin is refused;
 *   - every decode and encode is audited (who, which namespace, how many payloads, outcome).
 * A separate process (api/codec-server-main.ts) so the public API never holds decoding access.
 */
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { z } from 'zod';
import type { TokenClaims } from '../security/tokens';
import type { AuditHook } from '../vault/vault';

export interface CodecServerDeps {
  codec: PayloadCodec;
  verify: (token: string) => Promise<TokenClaims>;
  /** Operator tokens are only as good as their server-side session (idle timeout, revocation). */
  sessions: { touch(sid: string, operatorId: string): Promise<boolean> };
  audit: AuditHook;
  /** The Temporal UI origin allowed by CORS, e.g. http://localhost:8233. */
  uiOrigin: string;
}

const JsonPayloads = z.object({
  payloads: z
    .array(
      z.object({
        metadata: z.record(z.string(), z.string()).optional(),
        data: z.string().optional(),
      }),
    )
    .max(10_000),
});
type JsonPayload = z.infer<typeof JsonPayloads>['payloads'][number];

const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]),
  ),
  data: p.data !== undefined ? Buffer.from(p.data, 'base64') : undefined,
});
const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [
      k,
      Buffer.from(v ?? new Uint8Array()).toString('base64'),
    ]),
  ),
  data: p.data ? Buffer.from(p.data).toString('base64') : undefined,
});

const fail = (res: Response, status: number, type: string, code: string, message: string) =>
  res.status(status).json({ error: { type, code, message } });

const ALLOWED_ROLES = { decode: ['admin', 'auditor'], encode: ['admin'] } as const;

export function createCodecServer(deps: CodecServerDeps): Express {
  const app = express();
  app.disable('x-powered-by');

  // CORS: the UI calls from the browser with the operator's token; any other origin is refused
  // outright (not merely left without CORS headers), so a page elsewhere cannot use the server.
  app.use((req: Request, res: Response, next: NextFunction) => {
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== deps.uiOrigin) {
      fail(res, 403, 'permission', 'origin_not_allowed', 'This origin may not use the codec server');
      return;
    }
    if (origin) {
      res.setHeader('Access-Control-Allow-Origin', deps.uiOrigin);
      res.setHeader('Vary', 'Origin');
      res.setHeader('Access-Control-Allow-Credentials', 'true');
      res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', 'authorization, content-type, x-namespace');
    }
    if (req.method === 'OPTIONS') {
      res.status(204).end();
      return;
    }
    next();
  });
  app.use(express.json({ limit: '4mb' }));

  const handler = (op: 'decode' | 'encode') => async (req: Request, res: Response) => {
    const namespace = String(req.headers['x-namespace'] ?? 'default');
    const header = req.headers.authorization ?? '';
    const m = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(header);
    let claims: TokenClaims | undefined;
    try {
      claims = m?.[1] ? await deps.verify(m[1]) : undefined;
      if (
        claims &&
        claims.role !== 'service' &&
        !(claims.sid && (await deps.sessions.touch(claims.sid, claims.sub)))
      ) {
        claims = undefined;
      }
    } catch {
      claims = undefined;
    }
    const actor = claims?.sub ?? 'anonymous';
    const audit = (outcome: string, count = 0) =>
      deps.audit({
        action: `codec.${op}`,
        resource: `namespace:${namespace}:payloads:${count}`,
        outcome,
        actor,
      });
    if (!claims) {
      await audit('failure');
      fail(res, 401, 'authentication', 'invalid_token', 'A valid operator access token is required');
      return;
    }
    if (!(ALLOWED_ROLES[op] as readonly string[]).includes(claims.role)) {
      await audit('failure');
      fail(res, 403, 'permission', 'insufficient_role', `Role ${claims.role} may not ${op} payloads`);
      return;
    }
    const body = JsonPayloads.safeParse(req.body);
    if (!body.success) {
      await audit('failure');
      fail(
        res,
        400,
        'invalid_request',
        'invalid_payloads',
        'Body must be { payloads: [{ metadata, data }] }',
      );
      return;
    }
    const payloads = body.data.payloads.map(fromJson);
    try {
      const out = op === 'decode' ? await deps.codec.decode(payloads) : await deps.codec.encode(payloads);
      await audit('success', payloads.length);
      res.json({ payloads: out.map(toJson) });
    } catch {
      await audit('failure', payloads.length);
      fail(res, 422, 'invalid_request', 'codec_failed', `Payloads could not be ${op}d`);
    }
  };
  app.post('/decode', handler('decode'));
  app.post('/encode', handler('encode'));
  app.use((_req: Request, res: Response) => fail(res, 404, 'not_found', 'resource_missing', 'No such route'));
  return app;
}
