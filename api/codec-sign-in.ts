/**
 * Browser sign-in for the codec server, so the Temporal UI's decode requests carry an operator's
 * session (the UI cannot hold a Settle access token):
 *   GET  /sign-in   the form (username, password, TOTP code), or who is signed in
 *   POST /sign-in   the same password + TOTP check as POST /v1/auth/login + /v1/auth/mfa, in one step:
 *                   one lockout claim per attempt (claimAttempt before argon2), a TOTP step used once,
 *                   the same answer whatever failed; success creates a server-side operator session
 *   GET  /sign-out  a confirmation form; POST /sign-out revokes the session and clears the cookie
 * The cookie is `<operator id>.<issued at ms>.<32 random bytes>`; the database keeps only a hash of it
 * as the session id, so reading operator_sessions does not yield a usable cookie, and the issue time
 * cannot be moved without changing the id. Idle timeout (15 min) and revocation are the session's
 * (db/operators-repo.ts touchSession); the issue time bounds a session's whole life (8 h).
 *
 * SameSite=Strict: the Temporal UI (e.g. http://127.0.0.1:8233) and the codec server (…:8888) differ by
 * port only, which makes them different origins but the same site (a site is scheme + registrable
 * domain, or the IP; ports do not count), and browsers send Strict cookies on same-site cross-origin
 * fetches. A page of another site can neither send the cookie nor read an answer (CORS allows the UI
 * origin only). Cookies are not isolated by port either, so the UI server on the same host receives the
 * cookie too: it is HttpOnly, and only this server gives it meaning. A UI on another site would need
 * SameSite=None, which we do not offer: run the UI and the codec server under one site.
 *
 * CSRF: a POST is accepted only when its Origin header is this server's own origin (and Sec-Fetch-Site,
 * when the browser sends it, says same-origin), so no other page, not even the UI's, can sign an
 * operator in or out. The pages forbid framing and load nothing (CSP).
 */
import { createHash, randomBytes } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import { rateLimit } from 'express-rate-limit';
import type { OperatorRow, OperatorsRepo } from '../db/operators-repo';
import { dummyVerify, verifySecret } from '../security/passwords';
import { openTotpSecret, verifyTotp } from '../security/totp';

export const SESSION_COOKIE = 'settle_codec_session';
/** A session's whole life, however active (one operator shift); idle sessions end after 15 minutes. */
export const SESSION_MAX_MS = 8 * 60 * 60_000;

export interface CodecSignInDeps {
  operators: OperatorsRepo;
  /** SETTLE_TOTP_KEY: opens the operators' TOTP secrets. Without it browser sign-in is off. */
  totpKey: Buffer | undefined;
  /** Where the signed-in page links back to. */
  uiOrigin: string;
  /** This server's origin as the browser sees it; unset: http(s)://<Host header>. */
  publicOrigin?: string | undefined;
  audit: (e: {
    action: string;
    resource: string;
    outcome: string;
    actor: string;
    details?: Record<string, unknown>;
  }) => Promise<void>;
  now?: () => Date;
}

export interface CookieSession {
  operator: OperatorRow;
  sid: string;
}

const sessionId = (operatorId: string, issuedAt: number, secret: string) =>
  `ses_c${createHash('sha256').update(`settle-codec-cookie\0${operatorId}\0${issuedAt}\0${secret}`).digest('base64url')}`;

function parseCookie(header: string | undefined): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === SESSION_COOKIE) return part.slice(i + 1).trim();
  }
  return undefined;
}

/** The cookie's parts when it is well formed and within its whole life; no database access. */
function cookieParts(value: string | undefined, now: Date) {
  const m = /^(op_[A-Za-z0-9_-]{1,64})\.(\d{13})\.([A-Za-z0-9_-]{43})$/.exec(value ?? '');
  if (!m?.[1] || !m[2] || !m[3]) return undefined;
  const issuedAt = Number(m[2]);
  const age = now.getTime() - issuedAt;
  if (age < -60_000 || age > SESSION_MAX_MS) return undefined;
  return { operatorId: m[1], issuedAt, sid: sessionId(m[1], issuedAt, m[3]) };
}

const escapeHtml = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

const STYLE = `body{font-family:system-ui,sans-serif;max-width:26rem;margin:4rem auto;padding:0 1rem;color:#141414}
label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.45rem;font-size:1rem;box-sizing:border-box}
button{margin-top:1.2rem;padding:.5rem 1.2rem;font-size:1rem}.err{color:#b00020}.ok{color:#0a6b2d}`;

function page(res: Response, status: number, title: string, body: string): void {
  res
    .status(status)
    .set({
      'Content-Type': 'text/html; charset=utf-8',
      'Cache-Control': 'no-store',
      // Nothing to load, nowhere to post but here, never in a frame (clickjacking the form).
      'Content-Security-Policy': `default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
      'X-Frame-Options': 'DENY',
      // Not no-referrer: under it Chromium sends `Origin: null` with the form's POST, which the
      // CSRF check (rightly) refuses.
      'Referrer-Policy': 'same-origin',
      'X-Content-Type-Options': 'nosniff',
    })
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title><style>${STYLE}</style></head><body>${body}</body></html>`,
    );
}

const signInForm = (message = '') => `<h1>Settle operator sign-in</h1>
<p>Sign in to see decoded payment payloads in the Temporal UI.</p>${message}
<form method="post" action="/sign-in">
<label for="username">Username</label><input id="username" name="username" autocomplete="username" required maxlength="100">
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required maxlength="1024">
<label for="code">Authenticator code</label><input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" required maxlength="10">
<button type="submit">Sign in</button></form>`;

export function createCodecSignIn(deps: CodecSignInDeps): {
  router: Router;
  /** The operator behind the request's session cookie, when it is live (marks it active). */
  session(req: Request): Promise<CookieSession | undefined>;
} {
  const now = deps.now ?? (() => new Date());
  const router = express.Router();
  // Lockout bounds guesses per operator; this bounds one source's guesses across usernames.
  const limiter = rateLimit({
    windowMs: 60_000,
    limit: 30,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
  });
  const form = express.urlencoded({ extended: false, limit: '8kb', parameterLimit: 10 });

  async function session(req: Request): Promise<CookieSession | undefined> {
    const at = now();
    const parts = cookieParts(parseCookie(req.headers.cookie), at);
    if (!parts) return undefined;
    if (!(await deps.operators.touchSession(parts.sid, parts.operatorId, at))) return undefined;
    const operator = await deps.operators.findById(parts.operatorId);
    if (!operator || operator.disabledAt) return undefined;
    return { operator, sid: parts.sid };
  }

  const publicOrigin = deps.publicOrigin ? new URL(deps.publicOrigin).origin : undefined;
  /** CSRF: only this server's own pages may post here. */
  function sameOrigin(req: Request): boolean {
    const origin = req.headers.origin;
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin') return false;
    if (!origin || origin === 'null') return false;
    if (publicOrigin) return origin === publicOrigin;
    try {
      return new URL(origin).host === req.headers.host;
    } catch {
      return false;
    }
  }

  const cookie = (req: Request, value: string, maxAgeS: number) => {
    // Secure whenever the browser reached us over https (directly, or as its Origin says behind a proxy).
    const secure = req.secure || String(req.headers.origin ?? '').startsWith('https:');
    return `${SESSION_COOKIE}=${value}; Path=/; Max-Age=${maxAgeS}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
  };

  const signedIn = (op: OperatorRow) => `<h1>Settle operator sign-in</h1>
<p class="ok" id="signed-in">Signed in as <strong>${escapeHtml(op.username)}</strong> (${op.role}).</p>
<p>Decoded payloads now show in the <a href="${escapeHtml(deps.uiOrigin)}/">Temporal UI</a>
(its Codec Server setting must include cross-origin credentials). Idle sessions end after 15 minutes.</p>
<form method="post" action="/sign-out"><button type="submit">Sign out</button></form>`;

  router.get('/sign-in', async (req, res) => {
    if (!deps.totpKey) {
      page(
        res,
        503,
        'Sign-in unavailable',
        '<h1>Browser sign-in is not configured</h1><p>Set SETTLE_TOTP_KEY for the codec server.</p>',
      );
      return;
    }
    const s = await session(req);
    if (s) page(res, 200, 'Signed in', signedIn(s.operator));
    else {
      const out =
        req.query['signed-out'] !== undefined ? '<p class="ok" id="signed-out">Signed out.</p>' : '';
      page(res, 200, 'Sign in', signInForm(out));
    }
  });

  router.post('/sign-in', limiter, form, async (req, res) => {
    if (!sameOrigin(req)) {
      await deps.audit({
        action: 'codec.sign_in',
        resource: 'operator-login',
        outcome: 'failure',
        actor: 'anonymous',
        details: { reason: 'cross_origin' },
      });
      page(res, 403, 'Refused', '<h1>Refused</h1><p>Sign in from this server’s own page.</p>');
      return;
    }
    const totpKey = deps.totpKey;
    if (!totpKey) {
      page(res, 503, 'Sign-in unavailable', '<h1>Browser sign-in is not configured</h1>');
      return;
    }
    const body = (req.body ?? {}) as Record<string, unknown>;
    const field = (k: string, max: number) => {
      const v = body[k];
      return typeof v === 'string' && v.length > 0 && v.length <= max ? v : undefined;
    };
    const username = field('username', 100);
    const password = field('password', 1024);
    const code = field('code', 10);
    const at = now();
    const op = username ? await deps.operators.findByUsername(username) : undefined;
    // As the API's login: the attempt is claimed before argon2 runs, and locked, disabled or unknown
    // operators pay for a dummy verification, so neither answers nor timing tell them apart.
    const claim = op && !op.disabledAt ? await deps.operators.claimAttempt(op.id, at) : undefined;
    const passwordOk =
      op && claim !== undefined && password
        ? await verifySecret(op.passwordHash, password)
        : await dummyVerify(password ?? '');
    let reason: string | undefined = !op
      ? 'unknown'
      : claim === undefined
        ? 'locked_or_disabled'
        : !passwordOk
          ? 'wrong_password'
          : undefined;
    if (op && claim !== undefined && passwordOk) {
      const step = code
        ? await verifyTotp(openTotpSecret(totpKey, op.id, op.totpSecretCt), code, at)
        : undefined;
      // A code counts once: only the request that moves the operator's last step forward wins.
      if (step === undefined) reason = 'wrong_code';
      else if (!(await deps.operators.consumeTotpStep(op.id, step))) reason = 'code_reused';
    }
    if (!op || claim === undefined || reason) {
      // A failed attempt keeps its claim: that is the recorded failure.
      await deps.audit({
        action: 'codec.sign_in',
        resource: op ? `operator:${op.id}` : 'operator-login',
        outcome: 'failure',
        actor: op?.id ?? 'anonymous',
        details: { reason, username: (username ?? '').slice(0, 100) },
      });
      page(res, 401, 'Sign in', signInForm('<p class="err" id="sign-in-error">Invalid credentials.</p>'));
      return;
    }
    await deps.operators.releaseAttempts(op.id, 1, claim);
    const secret = randomBytes(32).toString('base64url');
    const issuedAt = at.getTime();
    const sid = sessionId(op.id, issuedAt, secret);
    await deps.operators.createSession(sid, op.id, at);
    await deps.audit({
      action: 'codec.sign_in',
      resource: `operator:${op.id}`,
      outcome: 'success',
      actor: op.id,
      details: { sessionId: sid },
    });
    res.setHeader('Set-Cookie', cookie(req, `${op.id}.${issuedAt}.${secret}`, SESSION_MAX_MS / 1000));
    res.redirect(303, '/sign-in');
  });

  router.get('/sign-out', (_req, res) => {
    page(
      res,
      200,
      'Sign out',
      '<h1>Sign out</h1><form method="post" action="/sign-out"><button type="submit">Sign out</button></form>',
    );
  });

  router.post('/sign-out', limiter, async (req, res) => {
    if (!sameOrigin(req)) {
      page(res, 403, 'Refused', '<h1>Refused</h1><p>Sign out from this server’s own page.</p>');
      return;
    }
    const at = now();
    const parts = cookieParts(parseCookie(req.headers.cookie), at);
    if (parts) {
      const revoked = await deps.operators.revokeSession(parts.sid, at);
      await deps.audit({
        action: 'codec.sign_out',
        resource: `session:${parts.sid}`,
        outcome: revoked ? 'success' : 'failure',
        actor: parts.operatorId,
      });
    }
    res.setHeader('Set-Cookie', cookie(req, '', 0));
    res.redirect(303, '/sign-in?signed-out');
  });

  return { router, session };
}
