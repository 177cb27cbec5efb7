/**
 * Authentication (API.md "Authentication and roles"):
 *   POST /v1/auth/token   service clients: id + secret -> access token (<= 15 min)
 *   POST /v1/auth/login   operators: username + password -> { mfaToken } (opaque, 5 min)
 *   POST /v1/auth/mfa     operators: mfaToken + TOTP code -> access token bound to a server session
 *   POST /v1/auth/logout  ends the caller's operator session (revocation)
 * Every failure answers the same 401 whatever the reason (unknown user, wrong password, locked,
 * disabled, replayed code), and unknown principals still pay for an argon2 verification, so neither
 * messages, status codes nor timing enumerate users.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Router, Response } from 'express';
import { createRouter } from '../router';
import { z } from 'zod';
import type { ClientsRepo } from '../../db/clients-repo';
import type { OperatorsRepo } from '../../db/operators-repo';
import { AppError } from '../../domain/errors';
import type { Clock } from '../../security/clock';
import { dummyVerify, verifySecret } from '../../security/passwords';
import type { TokenService } from '../../security/tokens';
import { openTotpSecret, verifyTotp } from '../../security/totp';
import type { AuditOverride } from '../middleware/audit';
import { freeText, idString, noBody, parse } from '../validation';

export const TokenBody = z
  .object({ clientId: idString('cli'), clientSecret: z.string().min(1).max(200) })
  .strict();
export const LoginBody = z
  .object({ username: freeText(100).pipe(z.string().min(1)), password: z.string().min(1).max(1024) })
  .strict();
export const MfaBody = z
  .object({ mfaToken: z.string().min(1).max(200), code: z.string().min(1).max(10) })
  .strict();

const MFA_TOKEN_TTL_MS = 5 * 60_000;

export interface OperatorAuthDeps {
  operators: OperatorsRepo;
  /** SETTLE_TOTP_KEY: seals TOTP secrets at rest. Without it operator login is disabled. */
  totpKey: Buffer | undefined;
  clock: Clock;
}

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
const note = (res: Response, o: AuditOverride) => {
  res.locals.audit = { ...(res.locals.audit as AuditOverride | undefined), ...o };
};

export function authRoutes(deps: {
  clients: ClientsRepo;
  tokens: TokenService;
  operatorAuth?: OperatorAuthDeps | undefined;
}): Router {
  const r = createRouter();
  const invalidLogin = () => new AppError('authentication', 'invalid_credentials', 'Invalid credentials');

  r.post('/token', async (req, res) => {
    const body = parse(TokenBody, req.body);
    note(res, { action: 'auth.token', actor: body.clientId, resource: `client:${body.clientId}` });
    const client = await deps.clients.findById(body.clientId);
    // Same work and the same answer whether the client is unknown, disabled or the secret is wrong.
    const ok =
      client && !client.disabledAt && client.role === 'service'
        ? await verifySecret(client.secretHash, body.clientSecret)
        : await dummyVerify(body.clientSecret);
    if (!ok || !client) throw new AppError('authentication', 'invalid_client', 'Invalid client credentials');
    const accessToken = await deps.tokens.issue({ sub: client.id, role: client.role });
    res.status(200).json({ accessToken, tokenType: 'Bearer', expiresIn: deps.tokens.ttlSeconds });
  });

  const operatorAuth = (): OperatorAuthDeps & { totpKey: Buffer } => {
    const o = deps.operatorAuth;
    if (!o?.totpKey)
      throw new AppError('authentication', 'operator_login_disabled', 'Operator login is not configured');
    return { ...o, totpKey: o.totpKey };
  };

  r.post('/login', async (req, res) => {
    const body = parse(LoginBody, req.body);
    const { operators, clock } = operatorAuth();
    note(res, {
      action: 'auth.login',
      resource: 'operator-login',
      details: { username: body.username.slice(0, 100) },
    });
    const now = clock.now();
    const op = await operators.findByUsername(body.username);
    // The attempt is claimed before argon2 runs, so parallel guesses cannot all be judged against a
    // lock each of them read as open. Locked, disabled and unknown operators pay for a dummy verify.
    const claim = op && !op.disabledAt ? await operators.claimAttempt(op.id, now) : undefined;
    const ok =
      op && claim !== undefined
        ? await verifySecret(op.passwordHash, body.password)
        : await dummyVerify(body.password);
    if (op) {
      const locked = !op.disabledAt && claim === undefined;
      note(res, { actor: op.id, resource: `operator:${op.id}`, details: { locked } });
    }
    // A wrong password keeps its claim: that is the recorded failure.
    if (!op || claim === undefined || !ok) throw invalidLogin();
    await operators.releaseAttempts(op.id, 1, claim);
    const mfaToken = `mfa_${randomBytes(32).toString('base64url')}`;
    await operators.createChallenge(
      sha256(mfaToken),
      op.id,
      new Date(now.getTime() + MFA_TOKEN_TTL_MS),
      claim - 1,
    );
    res.status(200).json({ mfaToken });
  });

  r.post('/mfa', async (req, res) => {
    const body = parse(MfaBody, req.body);
    const { operators, clock, totpKey } = operatorAuth();
    note(res, { action: 'auth.mfa', resource: 'operator-login' });
    const now = clock.now();
    const tokenHash = sha256(body.mfaToken);
    const challenge = await operators.findChallenge(tokenHash, now);
    const op = challenge ? await operators.findById(challenge.operatorId) : undefined;
    if (!op || !challenge) throw invalidLogin();
    note(res, { actor: op.id, resource: `operator:${op.id}` });
    // Claimed before the code is checked, like the password (a wrong code keeps its claim).
    const claim = op.disabledAt ? undefined : await operators.claimAttempt(op.id, now);
    if (claim === undefined) throw invalidLogin();
    const step = await verifyTotp(openTotpSecret(totpKey, op.id, op.totpSecretCt), body.code, now);
    // The step only counts once: the conditional UPDATE lets exactly one request move it forward.
    if (step === undefined || !(await operators.consumeTotpStep(op.id, step))) {
      note(res, { details: { reason: step === undefined ? 'wrong_code' : 'code_reused' } });
      throw invalidLogin();
    }
    if (!(await operators.useChallenge(tokenHash, now))) throw invalidLogin();
    // A completed login forgives its own claim and the failures before its password step; attempts
    // made meanwhile by someone else stay counted.
    await operators.releaseAttempts(op.id, 1 + challenge.priorFailures, claim);
    const sid = `ses_${randomBytes(18).toString('base64url')}`;
    await operators.createSession(sid, op.id, now);
    note(res, { details: { sessionId: sid } });
    const accessToken = await deps.tokens.issue({ sub: op.id, role: op.role, sid });
    res.status(200).json({ accessToken, tokenType: 'Bearer', expiresIn: deps.tokens.ttlSeconds });
  });

  return r;
}

/** POST /v1/auth/logout, mounted behind authentication. */
export function logoutRoute(deps: { operatorAuth?: OperatorAuthDeps | undefined }): Router {
  const r = createRouter();
  r.post('/logout', async (req, res) => {
    noBody(req.body);
    note(res, {
      action: 'auth.logout',
      resource: req.auth?.sid ? `session:${req.auth.sid}` : `client:${req.auth?.sub}`,
    });
    // Service tokens have no server session; they simply expire (<= 15 minutes).
    if (req.auth?.sid && deps.operatorAuth) {
      await deps.operatorAuth.operators.revokeSession(req.auth.sid, deps.operatorAuth.clock.now());
    }
    res.status(204).end();
  });
  return r;
}
