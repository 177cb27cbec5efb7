/**
 * A throwaway PostgreSQL 15 cluster (initdb + pg_ctl from the machine's server packages) on a free
 * port in a temp folder, which a test can stop and start again: a DATABASE_URL server restarted
 * under load, as an operator's maintenance or a crash would. As root, the server runs as `postgres`.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../scripts/tools';

const BIN = process.env.SETTLE_TEST_PG_BIN ?? '/usr/lib/postgresql/15/bin';

export interface PgCluster {
  /** URL of the cluster's `settle` database. */
  url: string;
  port: number;
  stop(): void;
  start(): void;
  destroy(): void;
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

function run(cmd: string, args: string[]): void {
  const [file, argv] = isRoot() ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  const r = spawnSync(file, argv, { encoding: 'utf8', cwd: os.tmpdir() });
  if (r.status !== 0) throw new Error(`${path.basename(cmd)} failed: ${r.stderr || r.stdout}`);
}

export const pgClusterAvailable = () => fs.existsSync(path.join(BIN, 'initdb'));

export async function createPgCluster(): Promise<PgCluster> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'settle-pgc-'));
  const data = path.join(dir, 'data');
  if (isRoot()) spawnSync('chown', ['postgres', dir]);
  const port = await freePort();
  run(path.join(BIN, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
  const ctl = (...args: string[]) => run(path.join(BIN, 'pg_ctl'), ['-D', data, ...args]);
  const start = () => ctl('-o', opts, '-l', path.join(dir, 'log'), '-w', 'start');
  start();
  run(path.join(BIN, 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', 'settle']);
  let running = true;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/settle`,
    port,
    // Fast mode: open sessions are terminated (57P01), as in a restart.
    stop() {
      ctl('-m', 'fast', '-w', 'stop');
      running = false;
    },
    start() {
      start();
      running = true;
    },
    destroy() {
      if (running) ctl('-m', 'immediate', '-w', 'stop');
      running = false;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
