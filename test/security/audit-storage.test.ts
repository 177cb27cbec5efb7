/**
 * The audit chain hashes what PostgreSQL stores and returns, so nothing a request can send makes a
 * valid chain fail verification: lone surrogates (stored as U+FFFD), NUL (refused by text and jsonb),
 * C1 controls, astral characters, odd keys at any depth, and numbers jsonb normalizes (1e21, -0, big
 * and tiny floats). And no audit write is lost silently: a failed append is counted
 * (settle_audit_append_failures_total), logged and retried with a bounded backoff.
 */
import { randomBytes } from 'node:crypto';
import { register } from 'prom-client';
import { createAuditLog, type AuditLog } from '../../db/audit-repo';
import { createPool, type Pool } from '../../db/pool';
import { auditKeysFrom } from '../../security/purpose-keys';
import { freshChain } from '../support/audit-fixtures';
import { createTestDatabase, migrateDatabase, type TestDatabase } from '../support/database';

const keys = auditKeysFrom(randomBytes(32));
let db: TestDatabase;
let pool: Pool;
let audit: AuditLog;

beforeAll(async () => {
  db = await createTestDatabase();
  migrateDatabase(db.url);
  pool = createPool(db.url, 'settle-audit-storage-test', 5);
  audit = createAuditLog(pool, { keys });
}, 120_000);
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

test('a lone surrogate in a text column (POST /v1/auth/token clientId) does not break the chain', async () => {
  await freshChain(pool, audit, 0);
  await audit.append({
    actor: 'cli_\ud800x',
    action: 'auth.token',
    resource: 'cli_\ud800x',
    outcome: 'failure',
  });
  await audit.append({ actor: 'next', action: 'auth.token', resource: 'r', outcome: 'success' });
  expect(await audit.verify()).toEqual({ valid: true, checked: 2 });
  const r = await pool.query<{ actor: string }>('SELECT actor FROM audit_events ORDER BY seq LIMIT 1');
  expect(r.rows[0]!.actor).toBe('cli_\ufffdx');
});

test('events carrying any string or number PostgreSQL would alter (lone surrogates, NUL, C1, jsonb numbers) still verify', async () => {
  await freshChain(pool, audit, 0);
  const odd = [
    'cli_\ud800x', // a lone high surrogate: text stores U+FFFD
    'x\udc00', // a lone low surrogate
    'nul\u0000inside', // NUL: text and jsonb refuse it
    'c1\u0085\u009f', // C1 controls
    'astral \u{1F600} \u{10FFFF}', // valid surrogate pairs must stay as they are
    'quote" back\\ slash \u2028\u2029',
  ];
  for (const s of odd) {
    await audit.append({
      actor: s,
      action: `auth.token ${s}`,
      resource: s,
      outcome: 'failure',
      sourceIp: s,
      details: {
        clientId: s,
        [s]: { [`deep ${s}`]: [s, { '': s, '\u0000': 1 }] },
        // jsonb normalizes numbers: 1e21 is stored as 1000000000000000000000, -0 as 0, floats by value.
        numbers: [1e21, -0, 1.7976931348623157e308, 5e-324, 0.1 + 0.2, 123456789012345680000, 1e-7],
        nested: { a: { b: { c: { d: { e: [[[s]]] } } } } },
        'key.with.dots': true,
        __proto__x: null,
      },
    });
  }
  expect(await audit.verify()).toEqual({ valid: true, checked: odd.length });
  // Valid characters are stored as sent; only what PostgreSQL cannot hold became U+FFFD.
  const r = await pool.query<{ actor: string }>('SELECT actor FROM audit_events ORDER BY seq');
  expect(r.rows.map((x) => x.actor)).toEqual([
    'cli_\ufffdx',
    'x\ufffd',
    'nul\ufffdinside',
    'c1\u0085\u009f',
    'astral \u{1F600} \u{10FFFF}',
    'quote" back\\ slash \u2028\u2029',
  ]);
});

async function failures(result: 'retried' | 'gave_up'): Promise<number> {
  const metric = register.getSingleMetric('settle_audit_append_failures_total');
  const values = (await metric!.get()).values;
  return values.find((v) => v.labels.result === result)?.value ?? 0;
}

/** A pool whose next `failing` connections fail, as while PostgreSQL restarts. */
function flakyPool(failing: number): Pool {
  let left = failing;
  return new Proxy(pool, {
    get(target, prop, receiver) {
      if (prop === 'connect')
        return async () => {
          if (left-- > 0) throw new Error('Connection terminated unexpectedly');
          return target.connect();
        };
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

test('a failed append is counted, logged and retried; after the last attempt the caller gets the error', async () => {
  await freshChain(pool, audit, 1);
  const logged: string[] = [];
  const log = { error: (_obj: Record<string, unknown>, msg: string) => logged.push(msg) };
  const retriedBefore = await failures('retried');
  const flaky = createAuditLog(flakyPool(2), { keys, log, retryDelaysMs: [1, 1, 1] });
  const e = await flaky.append({ actor: 'a', action: 'auth.token', resource: 'r', outcome: 'failure' });
  expect(e.seq).toBe(2);
  expect(logged).toEqual(['audit append failed, retrying', 'audit append failed, retrying']);
  expect(await failures('retried')).toBe(retriedBefore + 2);

  const gaveUpBefore = await failures('gave_up');
  const dead = createAuditLog(flakyPool(100), { keys, log, retryDelaysMs: [1, 1, 1] });
  logged.length = 0;
  await expect(
    dead.append({ actor: 'a', action: 'auth.token', resource: 'r', outcome: 'failure' }),
  ).rejects.toThrow(/Connection terminated/);
  expect(logged).toEqual([
    'audit append failed, retrying',
    'audit append failed, retrying',
    'audit append failed, retrying',
    'audit append failed, giving up',
  ]);
  expect(await failures('gave_up')).toBe(gaveUpBefore + 1);
  expect(await audit.verify()).toEqual({ valid: true, checked: 2 });
});
