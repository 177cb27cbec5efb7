/**
 * Route x role x source-address matrix (API.md role matrix; PCI DSS 7.2, 7.3): EVERY route of the
 * real app, enumerated from the Express router (a new route is covered automatically, and an
 * unclassified one fails this test), called as nobody, service, admin and auditor, from an
 * allowlisted address and from outside addresses (IPv4 and IPv6, via X-Forwarded-For from the
 * explicitly trusted loopback proxy). Zero unexpected 2xx: a denied call is exactly 401 or 403.
 */
import type { Role } from '../../db/clients-repo';
import { listRoutes } from '../support/route-list';
import { CONTRACT, classify } from '../support/role-matrix';
import { startStack, type Stack } from '../support/stack';

const SOURCES = {
  allowlisted: undefined,
  outsideV4: '203.0.113.9',
  outsideV6: '2001:db8::9',
} as const;

let stack: Stack;
const operatorIds: Partial<Record<Role, string>> = {};

beforeAll(async () => {
  stack = await startStack({ workers: false, trustProxy: '127.0.0.1/32,::1/128' });
  operatorIds.admin = (await stack.createOperator('admin')).id;
  operatorIds.auditor = (await stack.createOperator('auditor')).id;
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

let n = 0;
/** A fresh credential per call, so a logout or revocation in one call cannot mask another. */
async function authFor(role: Role | 'none'): Promise<string | undefined> {
  if (role === 'none') return undefined;
  if (role === 'service') return (await stack.serviceAuth()).authorization;
  const sid = `ses_matrix${++n}`;
  await stack.operators.createSession(sid, operatorIds[role]!, new Date());
  return `Bearer ${await stack.tokens.issue({ sub: operatorIds[role]!, role, sid })}`;
}

function concrete(path: string): string {
  return path.replace(/:(\w+)/g, (_m, name: string) => {
    const prefix = { token: 'tok', id: 'xxx' }[name] ?? 'xxx';
    return `${prefix}_0000000000000000`;
  });
}

test('every route is classified; every denial is exactly 401/403; no unexpected 2xx', async () => {
  const routes = listRoutes(stack.app);
  // Sanity: the enumeration sees the mounted groups (guards against a silently empty walk).
  const paths = routes.map((r) => `${r.method} ${r.path}`);
  expect(paths).toEqual(
    expect.arrayContaining([
      'POST /v1/vault/cards',
      'GET /v1/payments/:id',
      'GET /v1/audit-events',
      'GET /v1/audit-events/verify',
      'GET /v1/ledger/entries',
      'GET /v1/ledger/balances',
      'POST /v1/reconciliation/runs',
      'GET /v1/reconciliation/runs/:id',
      'POST /v1/signing-keys/rotate',
      'POST /v1/auth/login',
      'GET /.well-known/jwks.json',
    ]),
  );
  const unclassified = routes.filter((r) => !classify(r.path));
  expect(unclassified).toEqual([]);

  const violations: string[] = [];
  let checked = 0;
  for (const { method, path } of routes) {
    const cls = classify(path)!;
    const url = concrete(path);
    for (const role of ['none', 'service', 'admin', 'auditor'] as const) {
      for (const [source, xff] of Object.entries(SOURCES)) {
        const auth = await authFor(role);
        let req = stack.http[method.toLowerCase() as 'get'](url).set('Idempotency-Key', `matrix-${++n}`);
        if (auth) req = req.set('Authorization', auth);
        if (xff) req = req.set('X-Forwarded-For', xff);
        const res = method === 'GET' || method === 'DELETE' ? await req : await req.send({});
        checked++;
        const s = res.status;
        const label = `${method} ${path} as ${role} from ${source}: ${s} ${JSON.stringify(res.body?.error?.code ?? '')}`;

        if (cls === 'public') {
          // Public GETs answer; public POSTs with an empty body or no signature must not succeed.
          if (method !== 'GET' && s < 300) violations.push(`${label} (empty body accepted)`);
          continue;
        }
        if (role === 'none') {
          if (s !== 401) violations.push(`${label} (expected 401)`);
          continue;
        }
        if (cls === 'self') {
          if (s === 401 || s === 403) violations.push(`${label} (own session must be closable)`);
          continue;
        }
        const access = CONTRACT[cls][role];
        const permitted = access === 'rw' || (access === 'r' && (method === 'GET' || method === 'HEAD'));
        const operator = role === 'admin' || role === 'auditor';
        const expectDenied = !permitted || (operator && source !== 'allowlisted');
        if (expectDenied && s !== 403) violations.push(`${label} (expected 403)`);
        if (!expectDenied && (s === 401 || s === 403)) violations.push(`${label} (expected access)`);
      }
    }
  }
  expect(violations).toEqual([]);
  expect(checked).toBeGreaterThanOrEqual(routes.length * 12);
}, 120_000);

test('the allowlist matches IPv6 CIDRs and IPv4-mapped addresses; the proxy is only trusted when configured', async () => {
  const s2 = await startStack({
    workers: false,
    trustProxy: '127.0.0.1/32,::1/128',
    adminAllowlist: '10.1.0.0/16,2001:db8:1::/48',
  });
  try {
    const admin = await s2.operatorAuth('admin');
    const call = (xff?: string) => {
      const r = s2.http.get('/v1/signing-keys').set('Authorization', admin.authorization);
      return xff ? r.set('X-Forwarded-For', xff) : r;
    };
    expect((await call('2001:db8:1::42')).status).toBe(200);
    expect((await call('10.1.2.3')).status).toBe(200);
    expect((await call('::ffff:10.1.2.3')).status).toBe(200);
    expect((await call('2001:db8:2::42')).status).toBe(403);
    expect((await call('10.2.0.1')).status).toBe(403);
    expect((await call()).status).toBe(403); // loopback is not in this allowlist
  } finally {
    await s2.stop();
  }
  // Default (trust proxy off): a forged X-Forwarded-For is ignored, the socket address counts.
  const s3 = await startStack({ workers: false, adminAllowlist: '10.1.0.0/16' });
  try {
    const admin = await s3.operatorAuth('admin');
    const forged = await s3.http
      .get('/v1/signing-keys')
      .set('Authorization', admin.authorization)
      .set('X-Forwarded-For', '10.1.2.3');
    expect(forged.status).toBe(403);
    expect(forged.body.error).toMatchObject({ type: 'authorization', code: 'source_not_allowed' });
  } finally {
    await s3.stop();
  }
}, 60_000);

test('denied requests are audited as invalid access attempts with their origination', async () => {
  const { authorization } = await stack.serviceAuth();
  const r = await stack.http
    .get('/v1/audit-events')
    .set('Authorization', authorization)
    .set('X-Forwarded-For', '198.51.100.77');
  expect(r.status).toBe(403);
  const deadline = Date.now() + 10_000;
  let rows: Array<{ action: string; outcome: string; resource: string; details: { status: number } }> = [];
  while (Date.now() < deadline && rows.length === 0) {
    rows = (
      await stack.pool.query<(typeof rows)[number]>(
        "SELECT action, outcome, resource, details FROM audit_events WHERE source_ip = '198.51.100.77'",
      )
    ).rows;
    if (rows.length === 0) await new Promise((res) => setTimeout(res, 50));
  }
  expect(rows).toEqual([
    {
      action: 'GET /v1/audit-events',
      outcome: 'failure',
      resource: '/v1/audit-events',
      details: expect.objectContaining({ status: 403 }),
    },
  ]);
});
