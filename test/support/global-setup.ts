/**
 * Integration global setup: one real Temporal dev server (in memory, free port) and one fresh
 * PostgreSQL database per test run, migrated. Coordinates reach the test files through env:
 * SETTLE_TEST_TEMPORAL_ADDRESS and SETTLE_TEST_DATABASE_URL.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTemporalDevServer } from '../../scripts/temporal-dev';
import { freePort } from '../../scripts/tools';
import { createTestDatabase, migrateDatabase } from './database';

export default async function globalSetup(): Promise<void> {
  const artifacts = fs.mkdtempSync(path.join(os.tmpdir(), 'settle-it-'));
  const db = await createTestDatabase();
  migrateDatabase(db.url);
  const temporal = await startTemporalDevServer({
    port: await freePort(),
    logFile: path.join(artifacts, 'temporal.log'),
    // On disk (not in memory) so the leak test can scan the server's SQLite file for card data.
    dbFile: path.join(artifacts, 'temporal.sqlite'),
  });
  process.env.SETTLE_TEST_TEMPORAL_ADDRESS = temporal.address;
  process.env.SETTLE_TEST_DATABASE_URL = db.url;
  process.env.SETTLE_TEST_PG_SERVER_URL = db.serverUrl;
  process.env.SETTLE_TEST_ARTIFACTS = artifacts;
  process.env.SETTLE_TEST_TEMPORAL_DB = path.join(artifacts, 'temporal.sqlite');
  (globalThis as Record<string, unknown>).__settleTeardown = async () => {
    await temporal.stop();
    await db.drop();
    // Keep the artifacts (logs, Temporal's SQLite file) only when asked, e.g. to debug a CI run.
    if (!process.env.SETTLE_KEEP_TEST_ARTIFACTS) fs.rmSync(artifacts, { recursive: true, force: true });
  };
}
