import { Pool, types } from 'pg';

// bigint columns hold minor-unit amounts, always far below 2^53 (domain/money MAX_AMOUNT).
types.setTypeParser(20, (v) => Number(v));

/** One pool per process. `application_name` shows which process holds a connection. */
export function createPool(databaseUrl: string, applicationName: string, max = 10): Pool {
  const pool = new Pool({ connectionString: databaseUrl, application_name: applicationName, max });
  // An idle client erroring (server restart) must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  // A checked-out client (a transaction) has no pool listener: without this, a connection dropped
  // between two of its statements would emit an unhandled 'error' and crash the process. The
  // transaction's next query still fails, and its caller sees that.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

export type { Pool, PoolClient } from 'pg';

/** Fail fast with a clear message (no stack) when PostgreSQL is not reachable at start. */
export async function assertReachable(pool: Pool): Promise<void> {
  try {
    await pool.query('SELECT 1');
  } catch {
    throw new Error('Cannot reach PostgreSQL at DATABASE_URL. Is it running?');
  }
}
