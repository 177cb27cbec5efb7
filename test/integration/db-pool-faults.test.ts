/**
 * A connection dropped under a checked-out client (a transaction between two statements, as in a
 * PostgreSQL restart) must not crash the process with an unhandled 'error' event: the pool gives
 * every client a listener, and the transaction's next statement fails instead.
 */
import { Client } from 'pg';
import { createPool } from '../../db/pool';

test('a transaction whose connection is terminated fails its next query; the process lives on', async () => {
  const url = process.env.SETTLE_TEST_DATABASE_URL!;
  const pool = createPool(url, 'settle-test-pool-faults', 2);
  const admin = new Client({ connectionString: url });
  await admin.connect();
  try {
    const c = await pool.connect();
    await c.query('BEGIN');
    const { rows } = await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    await admin.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
    // Let the termination reach the idle client before it sends anything else.
    for (let gone = false; !gone;) {
      const left = await admin.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [rows[0]!.pid]);
      gone = left.rowCount === 0;
    }
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    // The server closes the socket; the client's next statement fails (and nothing crashed meanwhile).
    let failed: unknown;
    for (let i = 0; i < 50 && !failed; i++) {
      failed = await c.query('SELECT 1').then(
        () => undefined,
        (e: unknown) => e,
      );
    }
    expect(failed).toBeInstanceOf(Error);
    c.release(true);
    // The pool hands out a fresh, working connection.
    expect((await pool.query<{ ok: number }>('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
  } finally {
    await admin.end();
    await pool.end();
  }
});
