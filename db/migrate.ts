/**
 * Applies db/migrations (timestamped SQL, node-pg-migrate) as the database OWNER, then ensures the
 * runtime login role the processes connect as (db/roles.ts). `npm run migrate`, and called on start.
 * node-pg-migrate takes an advisory lock, so concurrent runs are safe.
 *
 * Env: DATABASE_OWNER_URL (the owner; DATABASE_URL when unset, for a single-URL setup),
 * SETTLE_DB_RUNTIME_PASSWORD (the runtime role's password; none under trust authentication).
 */
import path from 'node:path';
import { loadOrExit } from '../config/shapes';
import { loadMigrateConfig } from '../config/load';
import { ensureRuntimeRole } from './roles';

export async function migrate(
  ownerUrl: string,
  log: (msg: string) => void = () => undefined,
  opts: { runtimePassword?: string | undefined } = {},
): Promise<void> {
  const { runner } = await import('node-pg-migrate');
  await runner({
    databaseUrl: ownerUrl,
    dir: path.join(__dirname, 'migrations'),
    direction: 'up',
    migrationsTable: 'schema_migrations',
    checkOrder: true,
    singleTransaction: true,
    log,
    verbose: false,
  });
  await ensureRuntimeRole(ownerUrl, { password: opts.runtimePassword });
}

if (require.main === module) {
  const cfg = loadOrExit(() => loadMigrateConfig(process.env));
  migrate(cfg.DATABASE_OWNER_URL ?? cfg.DATABASE_URL!, (m) => process.stdout.write(`${m}\n`), {
    runtimePassword: cfg.SETTLE_DB_RUNTIME_PASSWORD,
  }).then(
    () => process.stdout.write('migrations applied\n'),
    (err: unknown) => {
      process.stderr.write(`migration failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
