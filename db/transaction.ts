/**
 * The one way to run a transaction: `inTransaction(pool, async (c) => ...)` checks out a client,
 * runs `fn` between BEGIN and COMMIT on it, rolls back if anything throws, and always gives the
 * client back. Every query of the transaction must go through `c`, never through the pool.
 */
import type { Pool, PoolClient } from './pool';

export async function inTransaction<T>(pool: Pool, fn: (c: PoolClient) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  // A client whose ROLLBACK failed is in an unknown state (connection lost, aborted mid-protocol):
  // releasing it with the error makes the pool discard it instead of handing it to the next caller.
  let broken: Error | undefined;
  try {
    await c.query('BEGIN');
    const out = await fn(c);
    await c.query('COMMIT');
    return out;
  } catch (err) {
    // The caller needs the error that broke the transaction, not the rollback's.
    await c.query('ROLLBACK').catch((rollbackErr: unknown) => {
      broken = rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr));
    });
    throw err;
  } finally {
    c.release(broken);
  }
}
