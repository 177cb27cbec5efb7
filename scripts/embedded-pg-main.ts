/**
 * The embedded PostgreSQL of `npm start`, as a child process that scripts/start.ts spawns detached:
 * in its own process group, PostgreSQL does not get a terminal Ctrl-C, which would stop it while
 * the workers and the API still drain. start.ts stops it last, with SIGTERM, and restarts it (this
 * process exits when the server does) if it stops on its own.
 * Env: EMBEDDED_PG_DATA_DIR, EMBEDDED_PG_PORT, EMBEDDED_PG_DATABASE (set by start.ts).
 */
import { startEmbeddedPostgres } from './embedded-pg';
import { signalReady } from '../config/ready';

async function main(): Promise<void> {
  const {
    EMBEDDED_PG_DATA_DIR: dataDir,
    EMBEDDED_PG_PORT: port,
    EMBEDDED_PG_DATABASE: database,
  } = process.env;
  if (!dataDir || !port || !database) throw new Error('started without its EMBEDDED_PG_* settings');
  const pg = await startEmbeddedPostgres({ dataDir, port: Number(port), database, persistent: true });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    pg.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`stopping PostgreSQL failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // The server went down on its own (crash, OOM kill, an operator's pg_ctl stop): exit with an error,
  // so npm start reports it and starts this process, and with it the server, again.
  void pg.exited.then(() => {
    if (stopping) return;
    process.stderr.write('the PostgreSQL server stopped on its own\n');
    process.exit(1);
  });
  signalReady('postgres');
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
