/**
 * The codec server decodes Temporal payloads for operators only: a Settle access token with role
 * admin or auditor, from the configured Temporal UI origin; every attempt is in the audit log.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import request from 'supertest';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { createCodecServer } from '../../api/codec-server';
import { codecPayloads, codecRequests } from '../../observability/metrics';
import { createOperatorsRepo } from '../../db/operators-repo';
import { createPool, type Pool } from '../../db/pool';
import { createEncryptionCodec } from '../../security/payload-codec';
import { keyringFromHierarchy } from '../../vault/payload-keyring';
import { createTokenService } from '../../security/tokens';
import { auditHookFor, createKeyHierarchyFromConfig } from '../../vault/vault-factory';
import { testDatabaseUrl } from '../support/vault-fixtures';

const UI = 'http://localhost:8233';
let pool: Pool;
let http: ReturnType<typeof request>;
let tokens: ReturnType<typeof createTokenService>;
let encrypted: Payload;
let operators: ReturnType<typeof createOperatorsRepo>;
const namespace = `ns-${randomBytes(4).toString('hex')}`;
const SECRET = { token: 'tok_codec', amount: 1234 };

const toJson = (p: Payload) => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [
      k,
      Buffer.from(v ?? new Uint8Array()).toString('base64'),
    ]),
  ),
  data: Buffer.from(p.data!).toString('base64'),
});
const fromJson = (p: { metadata: Record<string, string>; data: string }): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data, 'base64'),
});
/** A token as the API issues it; operators get a real server-side session (operator_sessions). */
async function bearer(role: 'admin' | 'auditor' | 'service', opts: { session?: boolean } = {}) {
  const sub = `${role === 'service' ? 'cli' : 'op'}_${role}${randomBytes(6).toString('hex')}`;
  let sid: string | undefined;
  if (role !== 'service' && opts.session !== false) {
    await operators.insert({
      id: sub,
      username: sub,
      role,
      passwordHash: 'unused',
      totpSecretCt: Buffer.alloc(1),
    });
    sid = `ses_${randomBytes(8).toString('hex')}`;
    await operators.createSession(sid, sub, new Date());
  }
  const claimSid = sid ?? (role === 'service' ? undefined : 'ses_none');
  return { sub, sid, header: `Bearer ${await tokens.issue({ sub, role, sid: claimSid })}` };
}

beforeAll(async () => {
  pool = createPool(testDatabaseUrl(), 'settle-test-codec', 3);
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
  const { privateKey } = generateKeyPairSync('ed25519');
  tokens = createTokenService({
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    issuer: 'settle',
    audience: 'settle-api',
    ttlSeconds: 900,
  });
  http = request(
    createCodecServer({
      codec,
      verify: (t) => tokens.verify(t),
      sessions: { touch: (sid, sub) => operators.touchSession(sid, sub, new Date()) },
      audit: auditHookFor(pool),
      uiOrigin: UI,
    }),
  );
}, 60_000);
afterAll(async () => {
  await pool?.end();
});

const decode = (auth?: string, origin = UI) => {
  let r = http.post('/decode').set('X-Namespace', namespace).set('Origin', origin);
  if (auth) r = r.set('Authorization', auth);
  return r.send({ payloads: [toJson(encrypted)] });
};

test('anonymous and invalid tokens are refused with 401 in the contract shape', async () => {
  const anon = await decode();
  expect(anon.status).toBe(401);
  expect(anon.body.error).toMatchObject({ type: 'authentication', code: 'invalid_token' });
  expect(JSON.stringify(anon.body)).not.toContain('tok_codec');
  expect((await decode('Bearer not.a.jwt')).status).toBe(401);
});

test('an admin token whose operator session is missing or revoked is refused', async () => {
  const noSession = await bearer('admin', { session: false });
  expect((await decode(noSession.header)).status).toBe(401);
  const revoked = await bearer('admin');
  expect((await decode(revoked.header)).status).toBe(200);
  await operators.revokeSession(revoked.sid!, new Date());
  expect((await decode(revoked.header)).status).toBe(401);
});

test('a service-role token is refused with 403; an auditor may decode but not encode', async () => {
  const svc = await bearer('service');
  const r = await decode(svc.header);
  expect(r.status).toBe(403);
  expect(r.body.error).toMatchObject({ type: 'permission', code: 'insufficient_role' });
  const auditor = await bearer('auditor');
  expect((await decode(auditor.header)).status).toBe(200);
  const enc = await http
    .post('/encode')
    .set('Origin', UI)
    .set('Authorization', auditor.header)
    .send({ payloads: [toJson(defaultPayloadConverter.toPayload('x'))] });
  expect(enc.status).toBe(403);
});

test('a request from another origin is refused even with an admin token; preflight only for the UI', async () => {
  const admin = await bearer('admin');
  const r = await decode(admin.header, 'https://evil.example');
  expect(r.status).toBe(403);
  expect(r.body.error.code).toBe('origin_not_allowed');
  expect(r.headers['access-control-allow-origin']).toBeUndefined();
  const pre = await http.options('/decode').set('Origin', UI).set('Access-Control-Request-Method', 'POST');
  expect(pre.status).toBe(204);
  expect(pre.headers['access-control-allow-origin']).toBe(UI);
  expect(pre.headers['access-control-allow-headers']).toContain('authorization');
  const badPre = await http.options('/decode').set('Origin', 'https://evil.example');
  expect(badPre.status).toBe(403);
});

test('an admin decodes history payloads, and every attempt is audited', async () => {
  const admin = await bearer('admin');
  const r = await decode(admin.header);
  expect(r.status).toBe(200);
  expect(r.headers['access-control-allow-origin']).toBe(UI);
  const [plain] = (r.body.payloads as Array<{ metadata: Record<string, string>; data: string }>).map(
    fromJson,
  );
  expect(defaultPayloadConverter.fromPayload(plain!)).toEqual(SECRET);

  // encode then decode round-trips for an admin (the UI uses encode for signals/queries).
  const enc = await http
    .post('/encode')
    .set('Origin', UI)
    .set('Authorization', admin.header)
    .send({ payloads: [toJson(defaultPayloadConverter.toPayload('hello'))] });
  expect(enc.status).toBe(200);
  expect(Buffer.from(enc.body.payloads[0].data as string, 'base64').toString('latin1')).not.toContain(
    'hello',
  );

  const rows = await pool.query<{ actor: string; action: string; outcome: string }>(
    `SELECT actor, action, outcome FROM audit_events WHERE resource LIKE $1 ORDER BY seq`,
    [`namespace:${namespace}:%`],
  );
  const seen = rows.rows.map(
    (x) => `${x.action}:${x.outcome}:${x.actor.startsWith('cli_') ? x.actor.slice(0, 8) : x.actor}`,
  );
  expect(seen).toContain('codec.decode:failure:anonymous');
  expect(seen).toContain('codec.decode:failure:cli_serv');
  expect(rows.rows).toContainEqual({ actor: admin.sub, action: 'codec.decode', outcome: 'success' });
});

test('decode and encode requests are counted by outcome on the metrics registry, payloads by operation', async () => {
  const value = async (name: string, labels: Record<string, string>) => {
    const m = (await (name === 'requests' ? codecRequests : codecPayloads).get()).values;
    const has = (l: Record<string, string | number | undefined>) =>
      Object.entries(labels).every(([k, x]) => l[k] === x);
    return m.find((v) => has(v.labels))?.value ?? 0;
  };
  const before = {
    anon: await value('requests', { operation: 'decode', outcome: 'unauthenticated', via: 'none' }),
    ok: await value('requests', { operation: 'decode', outcome: 'success', via: 'token' }),
    forbidden: await value('requests', { operation: 'encode', outcome: 'forbidden', via: 'token' }),
    failed: await value('requests', { operation: 'decode', outcome: 'failed', via: 'token' }),
    payloads: await value('payloads', { operation: 'decode' }),
  };
  const admin = await bearer('admin');
  const auditor = await bearer('auditor');
  expect((await decode()).status).toBe(401);
  expect((await decode(admin.header)).status).toBe(200);
  expect((await decode(admin.header)).status).toBe(200);
  const enc = await http
    .post('/encode')
    .set('Origin', UI)
    .set('Authorization', auditor.header)
    .send({ payloads: [toJson(defaultPayloadConverter.toPayload('x'))] });
  expect(enc.status).toBe(403);
  // A tampered ciphertext: the codec refuses it (422), counted as failed.
  const tampered = toJson(encrypted);
  tampered.data = Buffer.from('not the ciphertext').toString('base64');
  const bad = await http
    .post('/decode')
    .set('X-Namespace', namespace)
    .set('Origin', UI)
    .set('Authorization', admin.header)
    .send({ payloads: [tampered] });
  expect(bad.status).toBe(422);

  expect({
    anon:
      (await value('requests', { operation: 'decode', outcome: 'unauthenticated', via: 'none' })) -
      before.anon,
    ok: (await value('requests', { operation: 'decode', outcome: 'success', via: 'token' })) - before.ok,
    forbidden:
      (await value('requests', { operation: 'encode', outcome: 'forbidden', via: 'token' })) -
      before.forbidden,
    failed:
      (await value('requests', { operation: 'decode', outcome: 'failed', via: 'token' })) - before.failed,
    payloads: (await value('payloads', { operation: 'decode' })) - before.payloads,
  }).toEqual({ anon: 1, ok: 2, forbidden: 1, failed: 1, payloads: 2 });
});
