/**
 * Integration global setup: one real Temporal dev server (in memory, free port) and one fresh
 * PostgreSQL database per test run, migrated. Coordinates reach the test files through env:
 * SETTLE_TEST_TEMPORAL_ADDRESS, SETTLE_TEST_DATABASE_URL (the owner: migrations, test fixtures) and
 * SETTLE_TEST_RUNTIME_DATABASE_URL (the runtime login role the stacks' API and workers use).
 * SETTLE_TEST_SECRET_ROOT_KEY: one key root per run, because every file's stack appends to the one
 * audit chain of the run's database.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTemporalDevServer } from '../../scripts/temporal-dev';
import { freePort } from '../../scripts/tools';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { createTestDatabase, migrateDatabase, runtimeUrl, testRuntimePassword } from './database';

/** `cli ledger verify --max 50` against the run's database (the owner's URL: it reads everything). */
function ledgerVerify(databaseUrl: string) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'cli/index.ts', 'ledger', 'verify', '--max', '50'], {
    cwd: path.join(__dirname, '..', '..'),
    env: { ...process.env, DATABASE_URL: databaseUrl },
    encoding: 'utf8',
    timeout: 120_000,
  });
}

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
  process.env.SETTLE_TEST_RUNTIME_DATABASE_URL = runtimeUrl(db.url);
  process.env.SETTLE_TEST_SECRET_ROOT_KEY = randomBytes(32).toString('base64');
  // Processes a test starts with the inherited environment (npm start) append with the same keys.
  process.env.SETTLE_SECRET_ROOT_KEY = process.env.SETTLE_TEST_SECRET_ROOT_KEY;
  // Anything a test starts that migrates (npm start) keeps the runtime role's password as it is.
  process.env.SETTLE_DB_RUNTIME_PASSWORD = testRuntimePassword();
  process.env.SETTLE_TEST_PG_SERVER_URL = db.serverUrl;
  process.env.SETTLE_TEST_ARTIFACTS = artifacts;
  process.env.SETTLE_TEST_TEMPORAL_DB = path.join(artifacts, 'temporal.sqlite');
  (globalThis as Record<string, unknown>).__settleTeardown = async () => {
    await temporal.stop();
    // The books after the whole suite: every payment, refund and dispute any test made, through the
    // operator's own command. A problem fails the run (jest exits non-zero on a teardown error).
    const verified = ledgerVerify(db.url);
    await db.drop();
    if (verified.status !== 0)
      throw new Error(`cli ledger verify after the suite:\n${verified.stdout}${verified.stderr}`);
    process.stdout.write(`\nafter the suite: ${verified.stdout}`);
    // Keep the artifacts (logs, Temporal's SQLite file) only when asked, e.g. to debug a CI run.
    if (!process.env.SETTLE_KEEP_TEST_ARTIFACTS) fs.rmSync(artifacts, { recursive: true, force: true });
  };
}
