/**
 * Access-token attacks an outsider would try (PCI DSS 8.3, 8.6): every forged or malformed token is
 * a 401 `authentication` on a real route, and key rotation keeps the previous key valid only for
 * the overlap. Keys are generated here, at test time.
 */
import { createPublicKey, createSecretKey, generateKeyPairSync } from 'node:crypto';
import { SignJWT, UnsecuredJWT, importJWK, jwtVerify } from 'jose';
import { createTokenService, keyIdOf } from '../../security/tokens';
import { startStack, type Stack } from '../support/stack';

let stack: Stack;
let clientId: string;

beforeAll(async () => {
  stack = await startStack({ workers: false });
  clientId = (await stack.serviceAuth()).clientId;
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

const now = () => Math.floor(Date.now() / 1000);
const get = (token: string) => stack.http.get('/v1/payments').set('Authorization', `Bearer ${token}`);

async function expectRefused(token: string) {
  const r = await get(token);
  expect(r.status).toBe(401);
  expect(r.body.error).toMatchObject({ type: 'authentication', code: 'invalid_token' });
}

/** A token signed with the real key but built by hand, so single claims can be left out or bent. */
async function craft(opts: {
  header?: Record<string, unknown>;
  claims?: Record<string, unknown>;
  omit?: string[];
  key?: Parameters<SignJWT['sign']>[0];
}) {
  // The stack's signing key is not exported, so "real key" cases use a token service over a known key
  // that the stack also trusts (previousPublicKeys) - see `trustedKey` below.
  const claims: Record<string, unknown> = {
    sub: clientId,
    role: 'service',
    iss: 'settle',
    aud: 'settle-api',
    iat: now(),
    exp: now() + 300,
    ...opts.claims,
  };
  for (const k of opts.omit ?? []) delete claims[k];
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'EdDSA', kid: trusted.kid, typ: 'JWT', ...opts.header })
    .sign(opts.key ?? trusted.privateKey);
}

const trustedPair = generateKeyPairSync('ed25519');
const trusted = {
  privateKey: trustedPair.privateKey,
  kid: keyIdOf(trustedPair.publicKey),
};

test('a valid token signed by the API is accepted (control case)', async () => {
  const t = await stack.tokens.issue({ sub: clientId, role: 'service' });
  expect((await get(t)).status).toBe(200);
});

describe('against a token service that trusts one extra key (as during rotation)', () => {
  // A service trusting `trusted` as a previous key lets us sign arbitrary claim sets with a key the
  // verifier accepts, isolating each check.
  const { privateKey } = generateKeyPairSync('ed25519');
  const svc = createTokenService({
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    issuer: 'settle',
    audience: 'settle-api',
    ttlSeconds: 900,
    previousPublicKeys: new Map([[trusted.kid, trustedPair.publicKey]]),
  });
  const refused = async (token: string) => {
    await expect(svc.verify(token)).rejects.toMatchObject({ type: 'authentication', code: 'invalid_token' });
  };

  test('control: a well-formed token from the trusted key verifies', async () => {
    await expect(svc.verify(await craft({}))).resolves.toMatchObject({ sub: clientId, role: 'service' });
  });
  test('missing exp, expired exp, lifetime above 15 minutes', async () => {
    await refused(await craft({ omit: ['exp'] }));
    await refused(await craft({ claims: { iat: now() - 1000, exp: now() - 100 } }));
    await refused(await craft({ claims: { exp: now() + 3600 } }));
  });
  test('wrong or missing iss / aud', async () => {
    await refused(await craft({ claims: { iss: 'evil' } }));
    await refused(await craft({ claims: { aud: 'another-api' } }));
    await refused(await craft({ omit: ['iss'] }));
    await refused(await craft({ omit: ['aud'] }));
  });
  test('unknown kid, missing kid, unknown role', async () => {
    await refused(await craft({ header: { kid: 'ed25519-unknownkid000' } }));
    await refused(await craft({ header: { kid: undefined } }));
    await refused(await craft({ claims: { role: 'superuser' } }));
  });
});

test('alg none is refused', async () => {
  const t = new UnsecuredJWT({ sub: clientId, role: 'service' })
    .setIssuer('settle')
    .setAudience('settle-api')
    .setIssuedAt()
    .setExpirationTime('5m')
    .encode();
  await expectRefused(t);
  // Same, with a kid that exists, in case a verifier looked the key up first.
  const [, payload] = t.split('.');
  const header = Buffer.from(JSON.stringify({ alg: 'none', kid: stack.tokens.kid })).toString('base64url');
  await expectRefused(`${header}.${payload}.`);
});

test('algorithm confusion: HS256 keyed with the published public key is refused', async () => {
  const jwk = stack.tokens.jwks().keys[0]!;
  const pub = createPublicKey({ key: jwk as never, format: 'jwk' });
  for (const secret of [
    pub.export({ format: 'pem', type: 'spki' }).toString(),
    Buffer.from(String(jwk.x), 'base64url').toString('latin1'),
    JSON.stringify(jwk),
  ]) {
    const t = await new SignJWT({ role: 'service' })
      .setProtectedHeader({ alg: 'HS256', kid: stack.tokens.kid })
      .setSubject(clientId)
      .setIssuer('settle')
      .setAudience('settle-api')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(createSecretKey(Buffer.from(secret)));
    await expectRefused(t);
  }
});

test('a token signed by a key the API does not know is refused, even with the API kid', async () => {
  const { privateKey } = generateKeyPairSync('ed25519');
  const t = await new SignJWT({ role: 'service' })
    .setProtectedHeader({ alg: 'EdDSA', kid: stack.tokens.kid })
    .setSubject(clientId)
    .setIssuer('settle')
    .setAudience('settle-api')
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(privateKey);
  await expectRefused(t);
});

test('tampered payload (role escalation) and garbage tokens are refused', async () => {
  const t = await stack.tokens.issue({ sub: clientId, role: 'service' });
  const [h, p, s] = t.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
  const escalated = Buffer.from(JSON.stringify({ ...claims, role: 'admin' })).toString('base64url');
  await expectRefused(`${h}.${escalated}.${s}`);
  await expectRefused('not.a.jwt');
  const none = await stack.http.get('/v1/payments');
  expect(none.status).toBe(401);
  expect(none.body.error.code).toBe('unauthenticated');
});

test('rotation: the JWKS publishes old and new keys; tokens from the previous key stay valid; new tokens use the new kid', async () => {
  const admin = await stack.operatorAuth('admin');
  const before = await stack.tokens.issue({ sub: clientId, role: 'service' });
  const oldKid = stack.tokens.kid;
  const rot = await stack.http
    .post('/v1/signing-keys/rotate')
    .set('Authorization', admin.authorization)
    .set('Idempotency-Key', `rotate-${oldKid}`)
    .send({});
  expect(rot.status).toBe(200);
  expect(rot.body.previousKid).toBe(oldKid);
  expect(rot.body.kid).not.toBe(oldKid);

  const jwks = await stack.http.get('/.well-known/jwks.json');
  const kids = (jwks.body.keys as Array<{ kid: string; alg: string }>).map((k) => k.kid);
  expect(kids).toEqual(expect.arrayContaining([oldKid, rot.body.kid]));
  expect(new Set((jwks.body.keys as Array<{ alg: string }>).map((k) => k.alg))).toEqual(new Set(['EdDSA']));

  expect((await get(before)).status).toBe(200); // overlap
  const after = await stack.tokens.issue({ sub: clientId, role: 'service' });
  const header = JSON.parse(Buffer.from(after.split('.')[0]!, 'base64url').toString()) as { kid: string };
  expect(header.kid).toBe(rot.body.kid);
  // A third party can verify the new token from the published JWKS alone.
  const key = (jwks.body.keys as Array<{ kid: string }>).find((k) => k.kid === rot.body.kid)!;
  await expect(
    jwtVerify(after, await importJWK(key as never, 'EdDSA'), { issuer: 'settle', audience: 'settle-api' }),
  ).resolves.toBeDefined();
  expect((await get(after)).status).toBe(200);
});
