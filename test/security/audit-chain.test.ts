/**
 * The audit trail is tamper-evident and append-only (PCI DSS 10.3.2, 10.3.3):
 * - concurrent appends never fork the chain;
 * - an UPDATE, DELETE, reorder or truncated tail (done as a superuser with the triggers disabled,
 *   i.e. the strongest insider) is detected, naming the first broken event;
 * - the database itself refuses UPDATE/DELETE/TRUNCATE, to the superuser (triggers) and to the
 *   application role `settle_app` (no privilege), while INSERT and SELECT work for the app role.
 * Runs in a database of its own so tampering cannot disturb other test files.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { createAuditLog, type AuditLog } from '../../db/audit-repo';
import { createPool, type Pool } from '../../db/pool';
import type { AuditEvent } from '../../security/audit';
import { createTestDatabase, migrateDatabase, type TestDatabase } from '../support/database';

let db: TestDatabase;
let pool: Pool;
let audit: AuditLog;

beforeAll(async () => {
  db = await createTestDatabase();
  migrateDatabase(db.url);
  pool = createPool(db.url, 'settle-audit-test', 10);
  audit = createAuditLog(pool);
}, 120_000);
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

/** Superuser tampering: triggers off, change, triggers back on. */
async function tamper(sql: string, params: unknown[] = []): Promise<void> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    await c.query('ALTER TABLE audit_events DISABLE TRIGGER USER');
    await c.query(sql, params);
    await c.query('ALTER TABLE audit_events ENABLE TRIGGER USER');
    await c.query('COMMIT');
  } catch (err) {
    await c.query('ROLLBACK');
    throw err;
  } finally {
    c.release();
  }
}

/** A fresh chain of n events (clearing the previous case's chain as a superuser). */
async function freshChain(n: number): Promise<AuditEvent[]> {
  await tamper('DELETE FROM audit_events');
  const out: AuditEvent[] = [];
  for (let i = 0; i < n; i++) {
    out.push(
      await audit.append({
        actor: 'cli_test',
        action: 'vault.card.tokenize',
        resource: `tok_${i}`,
        outcome: i % 3 === 0 ? 'failure' : 'success',
        sourceIp: '127.0.0.1',
        details: { z: 1, a: { y: [1, 2], b: 'x' }, i },
      }),
    );
  }
  return out;
}

test('50 concurrent appends form one unforked chain that verifies', async () => {
  await freshChain(0);
  await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      audit.append({ actor: `a${i}`, action: 'test.concurrent', resource: `r${i}`, outcome: 'success' }),
    ),
  );
  const r = await pool.query<{ seq: string; prev_hash: string; hash: string }>(
    'SELECT seq, prev_hash, hash FROM audit_events ORDER BY seq',
  );
  expect(r.rows.map((x) => Number(x.seq))).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  for (let i = 1; i < r.rows.length; i++) expect(r.rows[i]!.prev_hash).toBe(r.rows[i - 1]!.hash);
  expect(await audit.verify()).toEqual({ valid: true, checked: 50 });
});

test('an UPDATE of any field is detected at that event', async () => {
  const ev = await freshChain(6);
  expect((await audit.verify()).valid).toBe(true);
  await tamper("UPDATE audit_events SET outcome = 'success' WHERE id = $1", [ev[3]!.id]);
  expect(await audit.verify()).toMatchObject({ valid: false, firstBrokenId: ev[3]!.id, checked: 4 });

  // Recomputing the tampered event's own hash only moves the break to the next link.
  const ev2 = await freshChain(6);
  await tamper("UPDATE audit_events SET actor = 'someone-else', hash = $2 WHERE id = $1", [
    ev2[2]!.id,
    'f'.repeat(64),
  ]);
  expect(await audit.verify()).toMatchObject({ valid: false, firstBrokenId: ev2[2]!.id });
});

test('a DELETE in the middle is detected at the event after the gap', async () => {
  const ev = await freshChain(6);
  await tamper('DELETE FROM audit_events WHERE id = $1', [ev[2]!.id]);
  expect(await audit.verify()).toMatchObject({ valid: false, firstBrokenId: ev[3]!.id });
});

test('reordering two events (swapping their positions) is detected', async () => {
  const ev = await freshChain(6);
  await tamper('UPDATE audit_events SET seq = 1000000 WHERE seq = $1', [ev[1]!.seq]);
  await tamper('UPDATE audit_events SET seq = $1 WHERE seq = $2', [ev[1]!.seq, ev[4]!.seq]);
  await tamper('UPDATE audit_events SET seq = $1 WHERE seq = 1000000', [ev[4]!.seq]);
  const r = await audit.verify();
  expect(r.valid).toBe(false);
  expect(r.firstBrokenId).toBe(ev[4]!.id); // now sitting at position 2
});

test('a truncated tail is detected against an exported anchor', async () => {
  const ev = await freshChain(6);
  const anchor = await audit.anchor();
  expect(anchor).toEqual({ seq: 6, id: ev[5]!.id, hash: ev[5]!.hash });
  await tamper('DELETE FROM audit_events WHERE seq > 4');
  // Without the anchor the shorter chain is internally consistent: that is why the anchor exists.
  expect(await audit.verify()).toEqual({ valid: true, checked: 4 });
  expect(await audit.verify(anchor)).toMatchObject({ valid: false, checked: 4, firstBrokenId: ev[5]!.id });

  // Emptying the table entirely is caught the same way.
  await tamper('DELETE FROM audit_events');
  expect(await audit.verify(anchor)).toMatchObject({ valid: false, checked: 0, firstBrokenId: ev[5]!.id });
});

test('a rewritten chain (every hash recomputed) no longer matches the anchor', async () => {
  const ev = await freshChain(3);
  const anchor = await audit.anchor();
  await tamper('DELETE FROM audit_events');
  // The attacker rebuilds a fully consistent chain of the same length with different content.
  for (let i = 0; i < 3; i++)
    await audit.append({ actor: 'forger', action: 'x', resource: `r${i}`, outcome: 'success' });
  expect((await audit.verify()).valid).toBe(true);
  expect(await audit.verify(anchor)).toMatchObject({
    valid: false,
    firstBrokenId: (await audit.anchor())!.id,
  });
  expect(anchor!.id).toBe(ev[2]!.id);
});

test('the database refuses UPDATE, DELETE and TRUNCATE even to a superuser (triggers)', async () => {
  const ev = await freshChain(2);
  await expect(pool.query("UPDATE audit_events SET actor = 'x' WHERE id = $1", [ev[0]!.id])).rejects.toThrow(
    /append-only/,
  );
  await expect(pool.query('DELETE FROM audit_events WHERE id = $1', [ev[0]!.id])).rejects.toThrow(
    /append-only/,
  );
  await expect(pool.query('TRUNCATE audit_events')).rejects.toThrow(/append-only/);
  expect(await audit.verify()).toEqual({ valid: true, checked: 2 });
});

test('the application role settle_app can INSERT and SELECT but has no UPDATE/DELETE/TRUNCATE privilege', async () => {
  const ev = await freshChain(2);
  const c = new Client({ connectionString: db.url });
  await c.connect();
  try {
    // Act as the application's role (a superuser SET ROLE drops to that role's privileges).
    await c.query('SET ROLE settle_app');
    const who = await c.query<{ u: string; su: boolean }>(
      'SELECT current_user AS u, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS su',
    );
    expect(who.rows[0]).toEqual({ u: 'settle_app', su: false });
    const priv = await c.query<Record<string, boolean>>(
      `SELECT has_table_privilege('settle_app', 'audit_events', 'INSERT') AS ins,
              has_table_privilege('settle_app', 'audit_events', 'SELECT') AS sel,
              has_table_privilege('settle_app', 'audit_events', 'UPDATE') AS upd,
              has_table_privilege('settle_app', 'audit_events', 'DELETE') AS del,
              has_table_privilege('settle_app', 'audit_events', 'TRUNCATE') AS trn`,
    );
    expect(priv.rows[0]).toEqual({ ins: true, sel: true, upd: false, del: false, trn: false });
    for (const sql of [
      `UPDATE audit_events SET actor = 'x' WHERE id = '${ev[0]!.id}'`,
      `DELETE FROM audit_events WHERE id = '${ev[0]!.id}'`,
      'TRUNCATE audit_events',
      'ALTER TABLE audit_events DISABLE TRIGGER USER',
    ]) {
      await expect(c.query(sql)).rejects.toThrow(/permission denied|must be owner/);
    }
    // The role can still do its job: read, and append through the repository's statements.
    const rows = await c.query('SELECT count(*)::int AS n FROM audit_events');
    expect(rows.rows[0]).toEqual({ n: 2 });
  } finally {
    await c.end();
  }
  const asApp = createPool(db.url, 'settle-app-role', 2);
  asApp.on('connect', (client) => {
    void client.query('SET ROLE settle_app');
  });
  try {
    const e = await createAuditLog(asApp).append({
      actor: 'x',
      action: 'y',
      resource: 'z',
      outcome: 'success',
    });
    expect(e.seq).toBe(3);
    expect(await audit.verify()).toEqual({ valid: true, checked: 3 });
  } finally {
    await asApp.end();
  }
});

test('`cli audit verify` reports the first broken link and exits non-zero; `cli audit anchor` exports the anchor', async () => {
  const ev = await freshChain(4);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'settle-anchor-'));
  const anchorFile = path.join(dir, 'anchor.json');
  const run = (args: string[]) => {
    try {
      return {
        code: 0,
        out: execFileSync(process.execPath, ['--import', 'tsx', 'cli/index.ts', ...args], {
          cwd: path.join(__dirname, '..', '..'),
          env: { ...process.env, DATABASE_URL: db.url },
          encoding: 'utf8',
        }),
      };
    } catch (err) {
      const e = err as { status: number; stdout: string };
      return { code: e.status, out: e.stdout };
    }
  };
  const a = run(['audit', 'anchor', '--out', anchorFile]);
  expect(a.code).toBe(0);
  expect(JSON.parse(fs.readFileSync(anchorFile, 'utf8'))).toMatchObject({
    seq: 4,
    id: ev[3]!.id,
    hash: ev[3]!.hash,
  });
  const ok = run(['audit', 'verify', '--anchor', anchorFile]);
  expect(ok).toEqual({
    code: 0,
    out: expect.stringContaining('audit chain valid: 4 events checked, anchor matched'),
  });

  await tamper("UPDATE audit_events SET resource = 'tok_other' WHERE id = $1", [ev[1]!.id]);
  const bad = run(['audit', 'verify']);
  expect(bad.code).toBe(1);
  expect(bad.out).toContain(`audit chain BROKEN at ${ev[1]!.id}`);
  fs.rmSync(dir, { recursive: true, force: true });
}, 60_000);
