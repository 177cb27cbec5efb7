/**
 * Applies db/migrations (timestamped SQL, node-pg-migrate) to DATABASE_URL. `npm run migrate`, and
 * called on start. node-pg-migrate takes an advisory lock, so concurrent runs are safe.
 */
import path from 'node:path';

export async function migrate(
  databaseUrl: string,
  log: (msg: string) => void = () => undefined,
): Promise<void> {
  const { runner } = await import('node-pg-migrate');
  await runner({
    databaseUrl,
    dir: path.join(__dirname, 'migrations'),
    direction: 'up',
    migrationsTable: 'schema_migrations',
    checkOrder: true,
    singleTransaction: true,
    log,
    verbose: false,
  });
}

if (require.main === module) {
  const url = process.env.DATABASE_URL;
  if (!url) {
    process.stderr.write('DATABASE_URL: is required\n');
    process.exit(78);
  }
  migrate(url, (m) => process.stdout.write(`${m}\n`)).then(
    () => process.stdout.write('migrations applied\n'),
    (err: unknown) => {
      process.stderr.write(`migration failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
