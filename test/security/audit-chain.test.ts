/**
 * The audit trail is tamper-evident and append-only (PCI DSS 10.3.2, 10.3.3, 10.5):
 * - concurrent appends never fork the chain;
 * - an UPDATE, DELETE, reorder or truncated tail (done as the owner with the triggers disabled, i.e.
 *   the strongest insider) is detected, naming the first broken event;
 * - the chain is keyed (HMAC, v2) and checked against the latest keyed anchor: a forged anchor, a tail
 *   cut after an anchor, a chain rebuilt even with the key, and a downgrade to unkeyed v1 events are
 *   reported; legacy v1 events written before the keyed chain still verify once anchored;
 * - the database refuses UPDATE/DELETE/TRUNCATE on both audit tables, even to the owner (triggers);
 * - `cli audit anchor` / `cli audit verify` do the same from the command line.
 * Runs in a database of its own so tampering cannot disturb other test files. The runtime role's
 * privileges are test/security/db-privilege.test.ts; stored bytes and retries audit-storage.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createAuditLog, type AuditLog } from '../../db/audit-repo';
import { createPool, type Pool } from '../../db/pool';
import { newId } from '../../domain/ids';
import { anchorMac, eventHash, GENESIS_HASH, type AuditEvent, type AuditKeys } from '../../security/audit';
import { auditKeysFrom, rootKeyFrom } from '../../security/purpose-keys';
import { freshChain as fresh, tamper as ownerTamper } from '../support/audit-fixtures';
import { createTestDatabase, migrateDatabase, type TestDatabase } from '../support/database';

const rootKey = randomBytes(32).toString('base64');
const keys: AuditKeys = auditKeysFrom(rootKeyFrom(rootKey));
let db: TestDatabase;
let pool: Pool;
let audit: AuditLog;

beforeAll(async () => {
  db = await createTestDatabase();
  migrateDatabase(db.url);
  pool = createPool(db.url, 'settle-audit-test', 10);
  audit = createAuditLog(pool, { keys });
}, 120_000);
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

const tamper = (sql: string, params: unknown[] = []) => ownerTamper(pool, sql, params);
const freshChain = (n: number) => fresh(pool, audit, n);

/** Inserts an event as the pre-keyed code wrote it (v1: SHA-256, no key), as the owner. */
async function insertLegacy(seq: number, prevHash: string): Promise<AuditEvent> {
  const base = {
    v: 1,
    seq,
    id: newId('aud'),
    at: new Date().toISOString(),
    actor: 'legacy',
    action: 'auth.token',
    resource: `r${seq}`,
    outcome: 'success' as const,
    sourceIp: null,
    details: { seq },
    prevHash,
  };
  const e = { ...base, hash: eventHash(base, Buffer.alloc(0)) };
  await pool.query(
    `INSERT INTO audit_events (v, seq, id, at, actor, action, resource, outcome, source_ip, details, prev_hash, hash)
     VALUES (1, $1, $2, $3, $4, $5, $6, $7, NULL, $8, $9, $10)`,
    [
      e.seq,
      e.id,
      e.at,
      e.actor,
      e.action,
      e.resource,
      e.outcome,
      JSON.stringify(e.details),
      e.prevHash,
      e.hash,
    ],
  );
  return e;
}

test('50 concurrent appends form one unforked chain that verifies', async () => {
  await freshChain(0);
  await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      audit.append({ actor: `a${i}`, action: 'test.concurrent', resource: `r${i}`, outcome: 'success' }),
    ),
  );
  const r = await pool.query<{ seq: string; prev_hash: string; hash: string; v: number }>(
    'SELECT seq, prev_hash, hash, v FROM audit_events ORDER BY seq',
  );
  expect(r.rows.map((x) => Number(x.seq))).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  expect(new Set(r.rows.map((x) => x.v))).toEqual(new Set([2]));
  for (let i = 1; i < r.rows.length; i++) expect(r.rows[i]!.prev_hash).toBe(r.rows[i - 1]!.hash);
  expect(await audit.verify()).toEqual({ valid: true, checked: 50 });
});

test('the chain is keyed: the same log under another key does not verify', async () => {
  await freshChain(3);
  const other = createAuditLog(pool, { keys: auditKeysFrom(randomBytes(32)) });
  expect(await other.verify()).toMatchObject({
    valid: false,
    checked: 1,
    reason: 'hash does not match content',
  });
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

test('a truncated tail is detected against the stored keyed anchor, and against an exported one', async () => {
  const ev = await freshChain(6);
  const anchor = await audit.anchor();
  expect(anchor).toEqual({
    seq: 6,
    id: ev[5]!.id,
    hash: ev[5]!.hash,
    at: expect.any(String),
    mac: expect.stringMatching(/^[0-9a-f]{64}$/),
  });
  // Anchoring an unchanged head again writes nothing new.
  expect(await audit.anchor()).toEqual(anchor);
  expect(await audit.verify()).toEqual({ valid: true, checked: 6, anchoredAt: anchor!.at });

  await tamper('DELETE FROM audit_events WHERE seq > 4');
  expect(await audit.verify()).toMatchObject({ valid: false, checked: 4, firstBrokenId: ev[5]!.id });
  // The owner can delete the stored anchors too: the copy kept outside the database still catches it.
  await tamper('DELETE FROM audit_anchors');
  expect(await audit.verify()).toEqual({ valid: true, checked: 4 });
  expect(await audit.verify(anchor)).toMatchObject({ valid: false, checked: 4, firstBrokenId: ev[5]!.id });
  await tamper('DELETE FROM audit_events');
  expect(await audit.verify(anchor)).toMatchObject({ valid: false, checked: 0, firstBrokenId: ev[5]!.id });
});

test('a rewritten chain (every hash recomputed, even with the key) no longer matches the anchor', async () => {
  const ev = await freshChain(3);
  const anchor = await audit.anchor();
  await tamper('DELETE FROM audit_events');
  for (let i = 0; i < 3; i++)
    await audit.append({ actor: 'forger', action: 'x', resource: `r${i}`, outcome: 'success' });
  const forged = await audit.head();
  expect(await audit.verify()).toMatchObject({
    valid: false,
    firstBrokenId: forged!.id,
    reason: 'event differs from the anchor',
    anchoredAt: anchor!.at,
  });
  expect(anchor!.id).toBe(ev[2]!.id);
});

test('a forged anchor (MAC without the anchor key) is reported', async () => {
  const ev = await freshChain(2);
  await audit.anchor();
  const at = new Date(Date.now() + 1000).toISOString();
  const fake = { seq: 2, id: ev[1]!.id, hash: ev[1]!.hash, at };
  await pool.query(
    'INSERT INTO audit_anchors (seq, event_id, event_hash, at, mac) VALUES ($1, $2, $3, $4, $5)',
    [fake.seq, fake.id, fake.hash, fake.at, anchorMac(fake, randomBytes(32))],
  );
  expect(await audit.verify()).toMatchObject({
    valid: false,
    firstBrokenId: ev[1]!.id,
    reason: 'anchor MAC does not verify (forged)',
  });
  // The chain key is not the anchor key: one key per purpose.
  await tamper('DELETE FROM audit_anchors WHERE at = $1', [at]);
  await pool.query(
    'INSERT INTO audit_anchors (seq, event_id, event_hash, at, mac) VALUES ($1, $2, $3, $4, $5)',
    [fake.seq, fake.id, fake.hash, fake.at, anchorMac(fake, keys.chain)],
  );
  expect(await audit.verify()).toMatchObject({ valid: false, reason: 'anchor MAC does not verify (forged)' });
});

test('legacy unkeyed (v1) events verify once a keyed anchor covers them; a downgrade to v1 does not', async () => {
  await freshChain(0);
  const l1 = await insertLegacy(1, GENESIS_HASH);
  const l2 = await insertLegacy(2, l1.hash);
  // Before any anchor, an unkeyed event is indistinguishable from one forged by the owner.
  expect(await audit.verify()).toMatchObject({
    valid: false,
    firstBrokenId: l1.id,
    reason: 'unkeyed (v1) event not covered by a keyed anchor',
  });
  await audit.anchor(); // what the API does at start after the upgrade
  const k3 = await audit.append({ actor: 'new', action: 'a', resource: 'r', outcome: 'success' });
  expect(k3.v).toBe(2);
  expect(k3.prevHash).toBe(l2.hash);
  expect(await audit.verify()).toMatchObject({ valid: true, checked: 3 });

  // The owner rewrites the keyed tail as v1 (SHA-256, which needs no key): reported.
  const downgraded = { ...k3, v: 1, actor: 'someone-else' };
  await tamper('UPDATE audit_events SET v = 1, actor = $2, hash = $3 WHERE id = $1', [
    k3.id,
    downgraded.actor,
    eventHash(downgraded, Buffer.alloc(0)),
  ]);
  expect(await audit.verify()).toMatchObject({ valid: false, firstBrokenId: k3.id });
});

test('the database refuses UPDATE, DELETE and TRUNCATE on both audit tables, even to the owner', async () => {
  const ev = await freshChain(2);
  await audit.anchor();
  for (const sql of [
    "UPDATE audit_events SET actor = 'x'",
    'DELETE FROM audit_events',
    'TRUNCATE audit_events',
    "UPDATE audit_anchors SET mac = 'x'",
    'DELETE FROM audit_anchors',
    'TRUNCATE audit_anchors',
  ]) {
    await expect(pool.query(sql)).rejects.toThrow(/append-only/);
  }
  expect(await audit.verify()).toMatchObject({ valid: true, checked: 2 });
  expect(ev).toHaveLength(2);
});

test('`cli audit anchor` writes and exports a keyed anchor; `cli audit verify` reports the first broken link and exits non-zero', async () => {
  const ev = await freshChain(4);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'settle-anchor-'));
  const anchorFile = path.join(dir, 'anchor.json');
  const run = (args: string[]) => {
    try {
      return {
        code: 0,
        out: execFileSync(process.execPath, ['--import', 'tsx', 'cli/index.ts', ...args], {
          cwd: path.join(__dirname, '..', '..'),
          env: { ...process.env, DATABASE_URL: db.url, SETTLE_SECRET_ROOT_KEY: rootKey },
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
  const exported = JSON.parse(fs.readFileSync(anchorFile, 'utf8')) as { at: string };
  expect(exported).toMatchObject({ seq: 4, id: ev[3]!.id, hash: ev[3]!.hash, mac: expect.any(String) });
  const stored = await pool.query<{ event_id: string }>('SELECT event_id FROM audit_anchors');
  expect(stored.rows).toEqual([{ event_id: ev[3]!.id }]);
  const ok = run(['audit', 'verify', '--anchor', anchorFile]);
  expect(ok).toEqual({
    code: 0,
    out: expect.stringContaining(
      `audit chain valid: 4 events checked, anchored at ${exported.at}, exported anchor matched`,
    ),
  });

  await tamper("UPDATE audit_events SET resource = 'tok_other' WHERE id = $1", [ev[1]!.id]);
  const bad = run(['audit', 'verify']);
  expect(bad.code).toBe(1);
  expect(bad.out).toContain(`audit chain BROKEN at ${ev[1]!.id}`);

  // An exported anchor whose MAC was edited is refused.
  fs.writeFileSync(anchorFile, JSON.stringify({ ...exported, mac: 'f'.repeat(64) }));
  const forged = run(['audit', 'verify', '--anchor', anchorFile]);
  expect(forged.code).toBe(1);
  expect(forged.out).toContain('anchor MAC does not verify');
  fs.rmSync(dir, { recursive: true, force: true });
}, 60_000);
