/**
 * Temporal codec server (https://docs.temporal.io/production-deployment/data-encryption): POST
 * /decode and /encode with `{ payloads: [{ metadata: { k: base64 }, data: base64 }] }`, so the
 * Temporal UI and CLI can show encrypted history to operators, and to nobody else:
 *   - the CLI: a Settle API access token (Bearer, `--codec-auth`) with role admin or auditor and a live
 *     operator session (same rule as the API);
 *   - the browser (Temporal UI): the operator's session cookie from this server's sign-in page
 *     (api/codec-sign-in.ts), sent because the UI's codec setting includes cross-origin credentials,
 *     accepted only on requests whose Origin is the UI's;
 *   - encode is admin only (it lets the caller inject payloads);
 *   - CORS only for the configured Temporal UI origin; a request from any other origin is refused;
 *   - every decode and encode is audited: who, the namespace (X-Namespace), how many payloads, and the
 *     payments the decoded payloads belong to. The UI sends no workflow id with a decode request (only
 *     X-Namespace, and a cross-origin Referer carries no path), so the payment ids found in the decoded
 *     payloads (`paymentId`, workflow `payment-<id>`) are what names the workflow.
 * A separate process (api/codec-server-main.ts) so the public API never holds decoding access.
 */
import express, { type Express, type NextFunction, type Request, type Response, type Router } from 'express';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { z } from 'zod';
import { codecPayloads, codecRequests, type CodecOutcome } from '../observability/metrics';
import type { TokenClaims } from '../security/tokens';
import type { CookieSession } from './codec-sign-in';

export interface CodecServerDeps {
  codec: PayloadCodec;
  verify: (token: string) => Promise<TokenClaims>;
  /** Operator tokens are only as good as their server-side session (idle timeout, revocation). */
  sessions: { touch(sid: string, operatorId: string): Promise<boolean> };
  audit: (e: {
    action: string;
    resource: string;
    outcome: string;
    actor: string;
    details?: Record<string, unknown>;
  }) => Promise<void>;
  /** The Temporal UI origin allowed by CORS, e.g. http://localhost:8233. */
  uiOrigin: string;
  /** Browser sign-in (api/codec-sign-in.ts): its pages, and the session behind a request's cookie. */
  signIn?: {
    router: Router;
    session(req: Request): Promise<CookieSession | undefined>;
  };
}

/** Payment ids in decoded payloads (workflow input, results, activity arguments), for the audit. */
function paymentIdsIn(payloads: Payload[]): string[] {
  const ids = new Set<string>();
  for (const p of payloads) {
    if (Buffer.from(p.metadata?.encoding ?? new Uint8Array()).toString('utf8') !== 'json/plain') continue;
    try {
      const v = JSON.parse(Buffer.from(p.data ?? new Uint8Array()).toString('utf8')) as unknown;
      for (const o of Array.isArray(v) ? v : [v]) {
        if (!o || typeof o !== 'object') continue;
        for (const k of ['paymentId', 'id'] as const) {
          const id = (o as Record<string, unknown>)[k];
          if (typeof id === 'string' && /^pay_[A-Za-z0-9]{1,64}$/.test(id)) ids.add(id);
        }
      }
    } catch {
      // not JSON: nothing to name
    }
    if (ids.size >= 20) break;
  }
  return [...ids];
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

  // The sign-in pages answer browsers on this server's own origin; they set no CORS headers.
  if (deps.signIn) app.use(deps.signIn.router);

  // CORS: the UI calls from the browser with the operator's session cookie; any other origin is
  // refused outright (not merely left without CORS headers), so a page elsewhere cannot use the server.
  app.use(['/decode', '/encode'], (req: Request, res: Response, next: NextFunction) => {
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

  async function bearerClaims(header: string): Promise<TokenClaims | undefined> {
    const m = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(header);
    const claims = m?.[1] ? await deps.verify(m[1]) : undefined;
    if (
      claims &&
      claims.role !== 'service' &&
      !(claims.sid && (await deps.sessions.touch(claims.sid, claims.sub)))
    )
      return undefined;
    return claims;
  }

  const handler = (op: 'decode' | 'encode') => async (req: Request, res: Response) => {
    const namespace = String(req.headers['x-namespace'] ?? 'default');
    let claims: Pick<TokenClaims, 'sub' | 'role'> | undefined;
    let via: 'token' | 'session' | undefined;
    try {
      if (req.headers.authorization !== undefined) {
        claims = await bearerClaims(req.headers.authorization);
        via = 'token';
      } else if (deps.signIn && req.headers.origin === deps.uiOrigin) {
        // The cookie counts only on the UI's own cross-origin requests (never a bare or same-origin one).
        const s = await deps.signIn.session(req);
        claims = s ? { sub: s.operator.id, role: s.operator.role } : undefined;
        via = 'session';
      }
    } catch {
      claims = undefined;
    }
    const actor = claims?.sub ?? 'anonymous';
    const tally = (outcome: CodecOutcome) =>
      codecRequests.inc({ operation: op, outcome, via: via ?? 'none' });
    const audit = (outcome: string, count = 0, paymentIds: string[] = []) =>
      deps.audit({
        action: `codec.${op}`,
        resource: `namespace:${namespace}:payloads:${count}`,
        outcome,
        actor,
        details: { namespace, payloads: count, via: via ?? 'none', paymentIds },
      });
    if (!claims) {
      tally('unauthenticated');
      await audit('failure');
      fail(
        res,
        401,
        'authentication',
        'invalid_token',
        'A valid operator access token or sign-in session is required',
      );
      return;
    }
    if (!(ALLOWED_ROLES[op] as readonly string[]).includes(claims.role)) {
      tally('forbidden');
      await audit('failure');
      fail(res, 403, 'permission', 'insufficient_role', `Role ${claims.role} may not ${op} payloads`);
      return;
    }
    const body = JsonPayloads.safeParse(req.body);
    if (!body.success) {
      tally('invalid');
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
      tally('success');
      codecPayloads.inc({ operation: op }, payloads.length);
      await audit('success', payloads.length, paymentIdsIn(op === 'decode' ? out : payloads));
      res.json({ payloads: out.map(toJson) });
    } catch {
      tally('failed');
      await audit('failure', payloads.length);
      fail(res, 422, 'invalid_request', 'codec_failed', `Payloads could not be ${op}d`);
    }
  };
  app.post('/decode', handler('decode'));
  app.post('/encode', handler('encode'));
  app.use((_req: Request, res: Response) => fail(res, 404, 'not_found', 'resource_missing', 'No such route'));
  return app;
}
