/**
 * Lockout under concurrency (PCI DSS 8.3.4): an attempt is claimed in PostgreSQL before the password
 * or the TOTP code is verified, so a burst of parallel guesses cannot all be evaluated against a lock
 * that each of them read as "open". 25 parallel attempts (24 wrong, 1 right) verify at most 10 wrong
 * secrets and leave the operator locked, on /v1/auth/login and on /v1/auth/mfa alike.
 * Verifications are counted by spying on the verifiers the route calls.
 */
import * as passwords from '../../security/passwords';
import * as totp from '../../security/totp';
import { manualClock } from '../support/manual-clock';
import { startStack, type Stack } from '../support/stack';

const clock = manualClock(new Date('2031-03-01T00:00:10Z'));
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ workers: false, clock });
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});
afterEach(() => {
  jest.restoreAllMocks();
});

const login = (username: string, password: string) =>
  stack.http.post('/v1/auth/login').send({ username, password });
const mfa = (mfaToken: string, code: string) => stack.http.post('/v1/auth/mfa').send({ mfaToken, code });

async function lockState(id: string) {
  const r = await stack.pool.query<{ locked: boolean; failed: number }>(
    'SELECT locked_until > $2 AS locked, failed_attempts AS failed FROM operators WHERE id = $1',
    [id, clock.now()],
  );
  return r.rows[0]!;
}

test('25 parallel logins (24 wrong, 1 right): at most 10 wrong passwords are verified and the operator is locked', async () => {
  clock.advance(60_000);
  const op = await stack.createOperator('admin');
  const hash = (
    await stack.pool.query<{ h: string }>('SELECT password_hash AS h FROM operators WHERE id = $1', [op.id])
  ).rows[0]!.h;
  const verify = jest.spyOn(passwords, 'verifySecret');
  const attempts = Array.from({ length: 25 }, (_, i) =>
    i === 12 ? op.password : `wrong-password-${String(i).padStart(2, '0')}`,
  );
  const results = await Promise.all(attempts.map((p) => login(op.username, p)));
  expect(results.filter((r) => r.status === 401).length).toBeGreaterThanOrEqual(24);
  for (const r of results) expect([200, 401]).toContain(r.status);
  // More wrong guesses afterwards: the budget of the lock window is spent whatever the interleaving.
  for (let i = 0; i < 5; i++) expect((await login(op.username, `late-wrong-password-${i}`)).status).toBe(401);

  const against = verify.mock.calls.filter(([h]) => h === hash).map(([, secret]) => secret);
  const wrong = against.filter((s) => s !== op.password);
  expect(wrong.length).toBeLessThanOrEqual(10);
  // The right password is verified at most once more (if it was claimed before the lock).
  expect(against.length).toBeLessThanOrEqual(11);
  expect(await lockState(op.id)).toMatchObject({ locked: true });
  // Locked: the right password now answers 401 and costs no verification against the real hash.
  verify.mockClear();
  expect((await login(op.username, op.password)).status).toBe(401);
  expect(verify.mock.calls.filter(([h]) => h === hash)).toHaveLength(0);
}, 60_000);

test('25 parallel MFA submissions (24 wrong codes, 1 right): at most 10 wrong codes are verified and the operator is locked', async () => {
  clock.advance(60_000);
  const op = await stack.createOperator('auditor');
  // 25 first factors, one after the other (each success gives its claim back).
  const tokens: string[] = [];
  for (let i = 0; i < 25; i++) {
    const l = await login(op.username, op.password);
    expect(l.status).toBe(200);
    tokens.push(l.body.mfaToken as string);
  }
  expect(await lockState(op.id)).toMatchObject({ failed: 0 });
  const now = clock.now();
  const right = await totp.totpCode(op.totpSecret, now);
  const live = new Set(
    await Promise.all(
      [-1, 0, 1].map((k) => totp.totpCode(op.totpSecret, new Date(now.getTime() + k * 30_000))),
    ),
  );
  const wrongCodes: string[] = [];
  for (let n = 0; wrongCodes.length < 24; n++) {
    const c = String(100000 + n * 37);
    if (!live.has(c)) wrongCodes.push(c);
  }
  const codes = [...wrongCodes.slice(0, 12), right, ...wrongCodes.slice(12)];
  const hash = (
    await stack.pool.query<{ h: string }>('SELECT password_hash AS h FROM operators WHERE id = $1', [op.id])
  ).rows[0]!.h;
  const verify = jest.spyOn(totp, 'verifyTotp');
  const verifyPassword = jest.spyOn(passwords, 'verifySecret');
  const results = await Promise.all(tokens.map((t, i) => mfa(t, codes[i]!)));
  expect(results.filter((r) => r.status === 401).length).toBeGreaterThanOrEqual(24);
  // Wrong passwords afterwards draw on the same budget.
  for (let i = 0; i < 5; i++) expect((await login(op.username, `late-wrong-password-${i}`)).status).toBe(401);

  const verified = verify.mock.calls.map(([, code]) => code);
  const wrongPasswords = verifyPassword.mock.calls.filter(([h, p]) => h === hash && p !== op.password);
  expect(verified.filter((c) => c !== right).length + wrongPasswords.length).toBeLessThanOrEqual(10);
  expect(verified.length).toBeLessThanOrEqual(11);
  expect(await lockState(op.id)).toMatchObject({ locked: true });
  expect((await login(op.username, op.password)).status).toBe(401);
}, 60_000);

test('failures before a complete login are forgiven by it; the 10th failure in a row locks', async () => {
  clock.advance(31 * 60_000);
  const op = await stack.createOperator('admin');
  for (let i = 0; i < 9; i++) expect((await login(op.username, 'wrong-password-xx')).status).toBe(401);
  expect(await lockState(op.id)).toMatchObject({ failed: 9, locked: null });
  // The 10th attempt is the right one: it is not a failure, so it neither locks nor counts.
  const l = await login(op.username, op.password);
  expect(l.status).toBe(200);
  expect(await lockState(op.id)).toMatchObject({ failed: 9, locked: null });
  const m = await mfa(l.body.mfaToken, await totp.totpCode(op.totpSecret, clock.now()));
  expect(m.status).toBe(200);
  expect(await lockState(op.id)).toMatchObject({ failed: 0 });

  for (let i = 0; i < 10; i++) expect((await login(op.username, 'wrong-password-xx')).status).toBe(401);
  expect(await lockState(op.id)).toMatchObject({ locked: true });
  clock.advance(30 * 60_000 + 1_000);
  const after = await login(op.username, op.password);
  expect(after.status).toBe(200);
  expect(await lockState(op.id)).toMatchObject({ failed: 0 });
}, 60_000);
