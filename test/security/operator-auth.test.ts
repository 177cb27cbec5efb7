/**
 * Operator authentication (API.md "Authentication and roles", PCI DSS 8.3, 8.4, 8.2.8):
 * password + RFC 6238 TOTP, each code accepted once (also under 50 concurrent submissions),
 * 10 failures lock for 30 minutes, 15 idle minutes end the session, logout/revocation, and failures
 * that look the same whatever the cause. Time is a manual clock: no sleeping.
 */
import { provisionOperator } from '../../cli/operators';
import { manualClock } from '../support/manual-clock';
import { totpCode } from '../../security/totp';
import { startStack, type Stack } from '../support/stack';

const clock = manualClock(new Date('2030-01-01T00:00:10Z'));
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ workers: false, clock });
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

/** Each test works in its own 30-second TOTP window so codes never collide across tests. */
function nextWindow(): void {
  clock.advance(60_000);
}

async function login(username: string, password: string) {
  return stack.http.post('/v1/auth/login').send({ username, password });
}
async function mfa(mfaToken: string, code: string) {
  return stack.http.post('/v1/auth/mfa').send({ mfaToken, code });
}
const withoutRequestId = (body: { error: Record<string, unknown> }) => {
  const { requestId: _r, ...rest } = body.error;
  return rest;
};

test('password then TOTP gives an operator token of the same shape as /v1/auth/token, bound to a session', async () => {
  nextWindow();
  const op = await stack.createOperator('auditor');
  const l = await login(op.username, op.password);
  expect(l.status).toBe(200);
  expect(Object.keys(l.body)).toEqual(['mfaToken']);
  const m = await mfa(l.body.mfaToken, await totpCode(op.totpSecret, clock.now()));
  expect(m.status).toBe(200);
  expect(m.body).toEqual({ accessToken: expect.any(String), tokenType: 'Bearer', expiresIn: 900 });
  const claims = await stack.tokens.verify(m.body.accessToken);
  expect(claims).toMatchObject({ sub: op.id, role: 'auditor', sid: expect.stringMatching(/^ses_/) });
  const list = await stack.http
    .get('/v1/audit-events?limit=1')
    .set('Authorization', `Bearer ${m.body.accessToken}`);
  expect(list.status).toBe(200);
});

test('failures do not reveal whether the user exists, is locked, or which factor was wrong', async () => {
  nextWindow();
  const op = await stack.createOperator('admin');
  const unknown = await login('no-such-operator', 'whatever-password-1');
  const wrongPw = await login(op.username, `${op.password}x`);
  expect(unknown.status).toBe(401);
  expect(wrongPw.status).toBe(401);
  expect(withoutRequestId(unknown.body)).toEqual(withoutRequestId(wrongPw.body));
  expect(withoutRequestId(unknown.body)).toEqual({
    type: 'authentication',
    code: 'invalid_credentials',
    message: 'Invalid credentials',
  });
  const l = await login(op.username, op.password);
  const wrongCode = await mfa(l.body.mfaToken, '000000');
  const badToken = await mfa('mfa_not-a-real-token', '123456');
  expect(wrongCode.status).toBe(401);
  expect(withoutRequestId(wrongCode.body)).toEqual(withoutRequestId(badToken.body));
  expect(withoutRequestId(wrongCode.body)).toEqual(withoutRequestId(unknown.body));
});

test('a TOTP code is accepted once: replaying it in a new login fails', async () => {
  nextWindow();
  const op = await stack.createOperator('admin');
  const code = await totpCode(op.totpSecret, clock.now());
  const first = await mfa((await login(op.username, op.password)).body.mfaToken, code);
  expect(first.status).toBe(200);
  const replay = await mfa((await login(op.username, op.password)).body.mfaToken, code);
  expect(replay.status).toBe(401);
  // The previous step's code (inside the ±1 window) is also spent: steps only move forward.
  const previous = await totpCode(op.totpSecret, new Date(clock.now().getTime() - 30_000));
  const older = await mfa((await login(op.username, op.password)).body.mfaToken, previous);
  expect(older.status).toBe(401);
  // The next step's code is fresh and works (drift of +1 step).
  const next = await totpCode(op.totpSecret, new Date(clock.now().getTime() + 30_000));
  const ok = await mfa((await login(op.username, op.password)).body.mfaToken, next);
  expect(ok.status).toBe(200);
});

test('50 parallel submissions of one code: exactly one succeeds', async () => {
  nextWindow();
  const op = await stack.createOperator('auditor');
  const code = await totpCode(op.totpSecret, clock.now());
  // 50 independent first factors, so only the single-use code stands between them. One after the
  // other: each password check holds one of the 10 lockout claims while it runs.
  const tokens: string[] = [];
  for (let i = 0; i < 50; i++) tokens.push((await login(op.username, op.password)).body.mfaToken as string);
  const results = await Promise.all(tokens.map((t) => mfa(t, code)));
  const statuses = results.map((r) => r.status);
  expect(statuses.filter((s) => s === 200)).toHaveLength(1);
  expect(statuses.filter((s) => s === 401)).toHaveLength(49);
  const sessions = await stack.pool.query(
    'SELECT count(*)::int AS n FROM operator_sessions WHERE operator_id = $1',
    [op.id],
  );
  expect(sessions.rows[0]).toEqual({ n: 1 });
}, 60_000);

test('10 failed attempts lock the operator for 30 minutes, even with the right password and code', async () => {
  nextWindow();
  const op = await stack.createOperator('admin');
  for (let i = 0; i < 5; i++) expect((await login(op.username, 'wrong-password-xx')).status).toBe(401);
  const l = await login(op.username, op.password);
  for (let i = 0; i < 5; i++) expect((await mfa(l.body.mfaToken, '000000')).status).toBe(401);
  // Locked: the right password answers exactly like a wrong one.
  const locked = await login(op.username, op.password);
  expect(locked.status).toBe(401);
  expect(locked.body.error.code).toBe('invalid_credentials');
  // An mfaToken obtained before the lock does not help either.
  expect((await mfa(l.body.mfaToken, await totpCode(op.totpSecret, clock.now()))).status).toBe(401);

  clock.advance(29 * 60_000);
  expect((await login(op.username, op.password)).status).toBe(401);
  clock.advance(2 * 60_000);
  const after = await login(op.username, op.password);
  expect(after.status).toBe(200);
  expect((await mfa(after.body.mfaToken, await totpCode(op.totpSecret, clock.now()))).status).toBe(200);
});

test('a session idle for more than 15 minutes must log in again; activity keeps it alive', async () => {
  nextWindow();
  const op = await stack.createOperator('auditor');
  const l = await login(op.username, op.password);
  const m = await mfa(l.body.mfaToken, await totpCode(op.totpSecret, clock.now()));
  const auth = `Bearer ${m.body.accessToken}`;
  const get = () => stack.http.get('/v1/audit-events/verify').set('Authorization', auth);
  clock.advance(14 * 60_000);
  expect((await get()).status).toBe(200); // activity at 14 min resets the idle timer
  clock.advance(14 * 60_000);
  expect((await get()).status).toBe(200);
  clock.advance(15 * 60_000 + 1_000);
  const idle = await get();
  expect(idle.status).toBe(401);
  expect(idle.body.error).toMatchObject({ type: 'authentication', code: 'session_expired' });
  // It stays dead even if activity would now be "recent".
  expect((await get()).status).toBe(401);
});

test('logout and admin revocation end operator sessions immediately', async () => {
  nextWindow();
  const a = await stack.operatorAuth('auditor');
  expect((await stack.http.get('/v1/audit-events/verify').set('Authorization', a.authorization)).status).toBe(
    200,
  );
  expect((await stack.http.post('/v1/auth/logout').set('Authorization', a.authorization)).status).toBe(204);
  expect((await stack.http.get('/v1/audit-events/verify').set('Authorization', a.authorization)).status).toBe(
    401,
  );

  const victim = await stack.operatorAuth('auditor');
  const admin = await stack.operatorAuth('admin');
  const rev = await stack.http
    .post(`/v1/operators/${victim.operatorId}/revoke-sessions`)
    .set('Authorization', admin.authorization)
    .set('Idempotency-Key', `rev-${victim.operatorId}`)
    .send({});
  expect(rev.status).toBe(200);
  expect(rev.body).toEqual({ id: victim.operatorId, revokedSessions: 1 });
  expect(
    (await stack.http.get('/v1/audit-events/verify').set('Authorization', victim.authorization)).status,
  ).toBe(401);
});

test('an operator-role token without a server-side session is refused', async () => {
  const op = await stack.createOperator('admin');
  const forged = await stack.tokens.issue({ sub: op.id, role: 'admin' });
  const r = await stack.http.get('/v1/audit-events/verify').set('Authorization', `Bearer ${forged}`);
  expect(r.status).toBe(401);
  const otherSid = await stack.tokens.issue({ sub: op.id, role: 'admin', sid: 'ses_made_up' });
  expect(
    (await stack.http.get('/v1/audit-events/verify').set('Authorization', `Bearer ${otherSid}`)).status,
  ).toBe(401);
});

test('TOTP secrets are stored sealed, never in clear; passwords shorter than 12 characters are refused', async () => {
  const op = await stack.createOperator('auditor');
  const r = await stack.pool.query<{ ct: Buffer; ph: string }>(
    'SELECT totp_secret_ct AS ct, password_hash AS ph FROM operators WHERE id = $1',
    [op.id],
  );
  expect(r.rows[0]!.ct.includes(Buffer.from(op.totpSecret))).toBe(false);
  expect(r.rows[0]!.ph).toMatch(/^\$argon2id\$/);
  await expect(
    provisionOperator(
      { operators: stack.operators, totpKey: stack.totpKey },
      { username: 'short-pw', role: 'admin', password: 'elevenchars' },
    ),
  ).rejects.toThrow(/at least 12/);
});

test('logins, failures and lockouts are in the audit trail with the 10.2.2 fields', async () => {
  nextWindow();
  const op = await stack.createOperator('admin');
  await login(op.username, 'wrong-password-xx');
  const ok = await login(op.username, op.password);
  await mfa(ok.body.mfaToken, await totpCode(op.totpSecret, clock.now()));
  const deadline = Date.now() + 10_000;
  let rows: Array<{ action: string; outcome: string; actor: string; source_ip: string; resource: string }> =
    [];
  while (Date.now() < deadline) {
    const r = await stack.pool.query<(typeof rows)[number]>(
      `SELECT action, outcome, actor, source_ip, resource FROM audit_events WHERE actor = $1 ORDER BY seq`,
      [op.id],
    );
    rows = r.rows;
    if (rows.length >= 3) break;
    await new Promise((res) => setTimeout(res, 50));
  }
  expect(rows.map((r) => [r.action, r.outcome])).toEqual([
    ['auth.login', 'failure'],
    ['auth.login', 'success'],
    ['auth.mfa', 'success'],
  ]);
  for (const r of rows) {
    expect(r.resource).toBe(`operator:${op.id}`);
    expect(r.source_ip).toMatch(/127\.0\.0\.1|::1/);
  }
});
