/**
 * The codec server's browser sign-in (api/codec-sign-in.ts): the same password + TOTP rules as the
 * API's operator login, a forged (cross-origin) POST is refused, the session cookie is HttpOnly and
 * SameSite=Strict (Secure over https), the database never holds a usable cookie, a cookie counts only
 * on the Temporal UI's own requests, and idle timeout, whole-life limit and sign-out end it.
 */
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { createCodecServer } from '../../api/codec-server';
import { createCodecSignIn, SESSION_COOKIE, SESSION_MAX_MS } from '../../api/codec-sign-in';
import { createAuditLog } from '../../db/audit-repo';
import { createOperatorsRepo, IDLE_MS } from '../../db/operators-repo';
import { createPool, type Pool } from '../../db/pool';
import { provisionOperator } from '../../cli/operators';
import { createEncryptionCodec } from '../../security/payload-codec';
import { totpCode } from '../../security/totp';
import { keyringFromHierarchy } from '../../vault/payload-keyring';
import { createKeyHierarchyFromConfig } from '../../vault/vault-factory';
import { manualClock } from '../support/manual-clock';
import { testDatabaseUrl } from '../support/vault-fixtures';

const UI = 'http://127.0.0.1:8233';
const SELF = 'http://codec.test:8888';
const clock = manualClock();
const totpKey = randomBytes(32);
let pool: Pool;
let operators: ReturnType<typeof createOperatorsRepo>;
let http: ReturnType<typeof request>;
let encrypted: Payload;
const SECRET = { paymentId: 'pay_codecSignIn1', amount: 777 };

beforeAll(async () => {
  pool = createPool(testDatabaseUrl(), 'settle-test-codec-sign-in', 3);
  operators = createOperatorsRepo(pool);
  const hierarchy = createKeyHierarchyFromConfig(
    {
      SETTLE_KEY_PROVIDER: 'local',
      SETTLE_LOCAL_MASTER_KEY: randomBytes(32).toString('base64'),
      AWS_REGION: 'us-east-1',
    },
    pool,
  );
  const codec = createEncryptionCodec(() => keyringFromHierarchy(hierarchy));
  [encrypted] = (await codec.encode([defaultPayloadConverter.toPayload(SECRET)])) as [Payload];
  const log = createAuditLog(pool);
  const audit = async (e: { action: string; resource: string; outcome: string; actor: string }) => {
    await log.append({ ...e, outcome: e.outcome === 'success' ? 'success' : 'failure' });
  };
  http = request(
    createCodecServer({
      codec,
      verify: () => Promise.reject(new Error('no tokens here')),
      sessions: { touch: () => Promise.resolve(false) },
      audit,
      uiOrigin: UI,
      signIn: createCodecSignIn({
        operators,
        totpKey,
        uiOrigin: UI,
        publicOrigin: SELF,
        audit,
        now: () => clock.now(),
      }),
    }),
  );
});
afterAll(async () => {
  await pool?.end();
});

async function operator() {
  const username = `op-${randomBytes(6).toString('hex')}`;
  const password = randomBytes(12).toString('base64url');
  const op = await provisionOperator({ operators, totpKey }, { username, role: 'auditor', password });
  return { ...op, username, password };
}

const signIn = async (
  o: { username: string; password: string; totpSecret: string },
  opts: { origin?: string | undefined; code?: string } = {},
) => {
  let r = http.post('/sign-in').type('form');
  const origin = 'origin' in opts ? opts.origin : SELF;
  if (origin !== undefined) r = r.set('Origin', origin);
  return r.send({
    username: o.username,
    password: o.password,
    code: opts.code ?? (await totpCode(o.totpSecret, clock.now())),
  });
};
const cookieOf = (res: request.Response) => {
  const set = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
  return set.find((c) => c.startsWith(`${SESSION_COOKIE}=`));
};
const decode = (cookie: string | undefined, origin: string | null = UI) => {
  let r = http.post('/decode?preserveStorageRefs=true').set('X-Namespace', 'default');
  if (origin) r = r.set('Origin', origin);
  if (cookie) r = r.set('Cookie', cookie.split(';')[0]!);
  return r.send({
    payloads: [
      {
        metadata: Object.fromEntries(
          Object.entries(encrypted.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
        ),
        data: Buffer.from(encrypted.data!).toString('base64'),
      },
    ],
  });
};
const failures = async (id: string) =>
  (await pool.query<{ n: number }>('SELECT failed_attempts AS n FROM operators WHERE id = $1', [id])).rows[0]
    ?.n;

test('a sign-in POST from another origin, or without one, is refused and sets no cookie', async () => {
  const o = await operator();
  for (const origin of [UI, 'https://evil.example', 'null', undefined]) {
    const r = await signIn(o, { origin });
    expect(r.status).toBe(403);
    expect(cookieOf(r)).toBeUndefined();
  }
  const crossSite = await http
    .post('/sign-in')
    .type('form')
    .set('Origin', SELF)
    .set('Sec-Fetch-Site', 'cross-site')
    .send({ username: o.username, password: o.password, code: await totpCode(o.totpSecret, clock.now()) });
  expect(crossSite.status).toBe(403);
  expect(await failures(o.id)).toBe(0);
});

test('the page cannot be framed and loads nothing; wrong password, wrong code, unknown user: one answer', async () => {
  const page = await http.get('/sign-in');
  expect(page.status).toBe(200);
  expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
  expect(page.headers['x-frame-options']).toBe('DENY');
  expect(page.text).toContain('name="code"');

  const o = await operator();
  const wrongPassword = await signIn({ ...o, password: `${o.password}x` });
  const wrongCode = await signIn(o, { code: '000000' });
  const unknown = await signIn({ ...o, username: `${o.username}-nobody` });
  for (const r of [wrongPassword, wrongCode, unknown]) {
    expect(r.status).toBe(401);
    expect(cookieOf(r)).toBeUndefined();
    expect(r.text).toContain('Invalid credentials.');
  }
  // Each failed attempt keeps its lockout claim, as with the API's login.
  expect(await failures(o.id)).toBe(2);
});

test('signed in: an HttpOnly SameSite=Strict cookie whose secret the database never holds; the code counts once', async () => {
  clock.advance(30_000);
  const o = await operator();
  const code = await totpCode(o.totpSecret, clock.now());
  const ok = await signIn(o, { code });
  expect(ok.status).toBe(303);
  expect(ok.headers.location).toBe('/sign-in');
  const cookie = cookieOf(ok)!;
  expect(cookie).toMatch(/; HttpOnly/);
  expect(cookie).toMatch(/; SameSite=Strict/);
  expect(cookie).not.toMatch(/; Secure/); // http: a Secure cookie would never come back
  expect(await failures(o.id)).toBe(0);
  const value = cookie.split(';')[0]!.split('=')[1]!;
  const secret = value.split('.')[2]!;
  const rows = await pool.query<{ id: string }>('SELECT id FROM operator_sessions WHERE operator_id = $1', [
    o.id,
  ]);
  expect(rows.rows).toHaveLength(1);
  expect(rows.rows[0]!.id).not.toContain(secret);

  const page = await http.get('/sign-in').set('Cookie', cookie.split(';')[0]!);
  expect(page.text).toContain(`Signed in as <strong>${o.username}</strong>`);
  const replay = await signIn(o, { code });
  expect(replay.status).toBe(401);
});

test('the cookie decodes only on the UI origin’s requests, and each decode is audited with the payment', async () => {
  clock.advance(30_000);
  const o = await operator();
  const cookie = cookieOf(await signIn(o))!;
  const ok = await decode(cookie);
  expect(ok.status).toBe(200);
  expect(ok.headers['access-control-allow-credentials']).toBe('true');
  expect(ok.headers['access-control-allow-origin']).toBe(UI);
  expect(
    defaultPayloadConverter.fromPayload({
      metadata: { encoding: Buffer.from('json/plain') },
      data: Buffer.from(ok.body.payloads[0].data as string, 'base64'),
    }),
  ).toEqual(SECRET);
  expect((await decode(cookie, null)).status).toBe(401);
  expect((await decode(cookie, SELF)).status).toBe(403);
  expect((await decode(undefined)).status).toBe(401);

  const audited = await pool.query<{ outcome: string; details: Record<string, unknown> }>(
    `SELECT outcome, details FROM audit_events WHERE action = 'codec.decode' AND actor = $1 ORDER BY seq`,
    [o.id],
  );
  expect(audited.rows[0]).toMatchObject({
    outcome: 'success',
    details: { namespace: 'default', payloads: 1, via: 'session', paymentIds: ['pay_codecSignIn1'] },
  });
});

test('idle for more than 15 minutes, past its whole life, tampered, or signed out: the cookie no longer decodes', async () => {
  clock.advance(30_000);
  const idle = cookieOf(await signIn(await operator()))!;
  clock.advance(IDLE_MS + 1_000);
  expect((await decode(idle)).status).toBe(401);

  clock.advance(30_000);
  const old = cookieOf(await signIn(await operator()))!;
  let age = 0;
  while (age + IDLE_MS / 2 < SESSION_MAX_MS) {
    clock.advance(IDLE_MS / 2);
    age += IDLE_MS / 2;
    expect((await decode(old)).status).toBe(200); // active, never idle
  }
  clock.advance(SESSION_MAX_MS - age + 1_000);
  expect((await decode(old)).status).toBe(401);

  clock.advance(30_000);
  const live = cookieOf(await signIn(await operator()))!;
  const [name, value] = live.split(';')[0]!.split('=') as [string, string];
  const [id, issued, secret] = value.split('.') as [string, string, string];
  expect((await decode(`${name}=${id}.${Number(issued) + 1}.${secret}`)).status).toBe(401);
  expect((await decode(live)).status).toBe(200);

  const forged = await http
    .post('/sign-out')
    .set('Origin', 'https://evil.example')
    .set('Cookie', `${name}=${value}`);
  expect(forged.status).toBe(403);
  expect((await decode(live)).status).toBe(200);
  const out = await http.post('/sign-out').set('Origin', SELF).set('Cookie', `${name}=${value}`);
  expect(out.status).toBe(303);
  expect(cookieOf(out)).toMatch(new RegExp(`^${SESSION_COOKIE}=; .*Max-Age=0`));
  expect((await decode(live)).status).toBe(401);
});

test('over https the cookie is Secure', async () => {
  const app = createCodecServer({
    codec: createEncryptionCodec(() => {
      throw new Error('unused');
    }),
    verify: () => Promise.reject(new Error('unused')),
    sessions: { touch: () => Promise.resolve(false) },
    audit: () => Promise.resolve(),
    uiOrigin: 'https://temporal.example.com',
    signIn: createCodecSignIn({
      operators,
      totpKey,
      uiOrigin: 'https://temporal.example.com',
      publicOrigin: 'https://codec.example.com',
      audit: () => Promise.resolve(),
      now: () => clock.now(),
    }),
  });
  clock.advance(30_000);
  const o = await operator();
  const r = await request(app)
    .post('/sign-in')
    .type('form')
    .set('Origin', 'https://codec.example.com')
    .send({ username: o.username, password: o.password, code: await totpCode(o.totpSecret, clock.now()) });
  expect(r.status).toBe(303);
  expect(cookieOf(r)).toMatch(/; Secure/);
});
