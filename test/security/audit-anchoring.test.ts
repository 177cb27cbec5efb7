/**
 * The real API process (api/server.ts, as deployed) connects as the runtime login role and anchors
 * the audit chain: a keyed anchor at start, then every SETTLE_AUDIT_ANCHOR_INTERVAL_MS once the head
 * moved. The anchors' MACs verify under the anchor key derived from SETTLE_SECRET_ROOT_KEY.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createAuditLog } from '../../db/audit-repo';
import { createPool, type Pool } from '../../db/pool';
import { anchorIsAuthentic, type KeyedAnchor } from '../../security/audit';
import { auditKeysFrom, rootKeyFrom } from '../../security/purpose-keys';
import { freePort, ROOT } from '../../scripts/tools';
import { testEnv, testKeyEnv } from '../support/stack';

const keys = testKeyEnv();
const anchorKey = auditKeysFrom(rootKeyFrom(keys.SETTLE_SECRET_ROOT_KEY)).anchor;
let owner: Pool;
let child: ChildProcess | undefined;
let output = '';

beforeAll(() => {
  owner = createPool(testEnv().databaseUrl, 'settle-test-anchoring', 2);
});
afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  await owner?.end();
});

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline || child?.exitCode != null)
      throw new Error(`no ${what}; API output:\n${output.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The newest anchor written at or after `since` that covers `seq`, when its MAC verifies. */
async function anchorCovering(seq: number, since: Date): Promise<KeyedAnchor | undefined> {
  const r = await owner.query<{ seq: string; id: string; hash: string; at: Date; mac: string }>(
    `SELECT seq, event_id AS id, event_hash AS hash, at, mac FROM audit_anchors
      WHERE seq >= $1 AND at >= $2 ORDER BY seq DESC, at DESC LIMIT 1`,
    [seq, since],
  );
  const row = r.rows[0];
  if (!row) return undefined;
  const a = { seq: Number(row.seq), id: row.id, hash: row.hash, at: row.at.toISOString(), mac: row.mac };
  expect(anchorIsAuthentic(a, anchorKey)).toBe(true);
  return a;
}

test('the API runs as settle_runtime and writes keyed anchors at start and periodically', async () => {
  const { temporalAddress, runtimeDatabaseUrl } = testEnv();
  const startedAt = new Date(Date.now() - 1000);
  child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'api/server.ts')], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH,
      ...keys,
      DATABASE_URL: runtimeDatabaseUrl,
      TEMPORAL_ADDRESS: temporalAddress,
      PORT: String(await freePort()),
      METRICS_PORT: '0',
      SETTLE_AUDIT_ANCHOR_INTERVAL_MS: '1000',
    },
  });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));

  const atStart = await until('anchor at start', () => anchorCovering(1, startedAt));
  const roles = await until('API connection', async () => {
    const r = await owner.query<{ usename: string }>(
      "SELECT DISTINCT usename FROM pg_stat_activity WHERE application_name = 'settle-api' AND datname = current_database()",
    );
    return r.rows.length ? r.rows.map((x) => x.usename) : undefined;
  });
  expect(roles).toEqual(['settle_runtime']);

  // The head moves: a later tick anchors it.
  const e = await createAuditLog(owner).append({
    actor: 'test',
    action: 'test.anchoring',
    resource: 'r',
    outcome: 'success',
  });
  const later = await until('periodic anchor', () => anchorCovering(e.seq, new Date(e.at)));
  expect(later.seq).toBeGreaterThanOrEqual(e.seq);
  expect(later.seq).toBeGreaterThan(atStart.seq);
}, 120_000);
