/**
 * A database of its own for each test run: on the server at DATABASE_URL when set (a fresh
 * `settle_test_*` database, dropped afterwards), else an embedded PostgreSQL in a temp folder.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { startEmbeddedPostgres } from '../../scripts/embedded-pg';
import { freePort, ROOT } from '../../scripts/tools';

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `settle_test_${randomBytes(6).toString('hex')}`;
  const serverUrl = process.env.DATABASE_URL;
  if (serverUrl) {
    const admin = new Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const u = new URL(serverUrl);
    u.pathname = `/${name}`;
    return {
      url: u.toString(),
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
  return {
    url: pg.url,
    async drop() {
      await pg.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Apply migrations exactly as `npm run migrate` does (a child process, as in production). */
export function migrateDatabase(url: string): void {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'db', 'migrate.ts')], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: url },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`migrations failed: ${r.stderr || r.stdout}`);
}
