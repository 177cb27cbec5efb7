/**
 * Audit trail fixtures: tampering as the database owner (the strongest insider: triggers off, change,
 * triggers back on) and a fresh chain per test case.
 */
import type { AuditLog } from '../../db/audit-repo';
import type { Pool } from '../../db/pool';
import type { AuditEvent } from '../../security/audit';

/** Runs `sql` with the append-only triggers of both audit tables disabled (owner only). */
export async function tamper(ownerPool: Pool, sql: string, params: unknown[] = []): Promise<void> {
  const c = await ownerPool.connect();
  try {
    await c.query('BEGIN');
    await c.query('ALTER TABLE audit_events DISABLE TRIGGER USER');
    await c.query('ALTER TABLE audit_anchors DISABLE TRIGGER USER');
    await c.query(sql, params);
    await c.query('ALTER TABLE audit_events ENABLE TRIGGER USER');
    await c.query('ALTER TABLE audit_anchors ENABLE TRIGGER USER');
    await c.query('COMMIT');
  } catch (err) {
    await c.query('ROLLBACK');
    throw err;
  } finally {
    c.release();
  }
}

/** A fresh chain of n events, no anchors (clearing the previous case's chain as the owner). */
export async function freshChain(ownerPool: Pool, audit: AuditLog, n: number): Promise<AuditEvent[]> {
  await tamper(ownerPool, 'DELETE FROM audit_anchors');
  await tamper(ownerPool, 'DELETE FROM audit_events');
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
