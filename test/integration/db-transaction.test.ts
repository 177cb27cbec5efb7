/**
 * inTransaction(pool, fn) against a real PostgreSQL: fn's writes are committed when it resolves and
 * rolled back when it throws, the caller sees fn's own error even when the rollback itself fails
 * (connection lost), and the client always goes back to the pool (a broken one is discarded).
 */
import { Client } from 'pg';
import { createPool, type Pool } from '../../db/pool';
import { inTransaction } from '../../db/transaction';

const url = () => process.env.SETTLE_TEST_DATABASE_URL!;
const table = `tx_test_${process.pid}`;
let pool: Pool;

const rows = async () =>
  (await pool.query<{ v: string }>(`SELECT v FROM ${table} ORDER BY v`)).rows.map((r) => r.v);
/** Every client the pool opened is back and idle, and nobody waits for one. */
const allReleased = () => ({ idle: pool.idleCount, total: pool.totalCount, waiting: pool.waitingCount });

beforeAll(async () => {
  pool = createPool(url(), 'settle-test-transaction', 2);
  await pool.query(`CREATE TABLE ${table} (v text PRIMARY KEY)`);
});
afterAll(async () => {
  await pool.query(`DROP TABLE IF EXISTS ${table}`);
  await pool.end();
});
beforeEach(async () => {
  await pool.query(`DELETE FROM ${table}`);
});

test('commits what fn wrote, returns its result and releases the client', async () => {
  const out = await inTransaction(pool, async (c) => {
    await c.query(`INSERT INTO ${table} (v) VALUES ('a'), ('b')`);
    return 'done';
  });
  expect(out).toBe('done');
  expect(await rows()).toEqual(['a', 'b']);
  expect(allReleased()).toEqual({ idle: pool.totalCount, total: pool.totalCount, waiting: 0 });
});

test('rolls back when fn throws, rethrows that error and releases the client', async () => {
  const boom = new Error('boom');
  await expect(
    inTransaction(pool, async (c) => {
      await c.query(`INSERT INTO ${table} (v) VALUES ('never')`);
      throw boom;
    }),
  ).rejects.toBe(boom);
  expect(await rows()).toEqual([]);
  expect(allReleased()).toEqual({ idle: pool.totalCount, total: pool.totalCount, waiting: 0 });
});

test('rolls back a failed statement: the error is the database one, nothing is kept', async () => {
  await expect(
    inTransaction(pool, async (c) => {
      await c.query(`INSERT INTO ${table} (v) VALUES ('x')`);
      await c.query(`INSERT INTO ${table} (v) VALUES ('x')`);
    }),
  ).rejects.toMatchObject({ code: '23505' });
  expect(await rows()).toEqual([]);
  expect(allReleased()).toEqual({ idle: pool.totalCount, total: pool.totalCount, waiting: 0 });
});

test('a failed ROLLBACK (connection lost) does not mask fn error; the broken client is discarded', async () => {
  const admin = new Client({ connectionString: url() });
  await admin.connect();
  try {
    const original = new Error('original');
    let rollbackWasTried = false;
    await expect(
      inTransaction(pool, async (c) => {
        await c.query(`INSERT INTO ${table} (v) VALUES ('lost')`);
        const pid = (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
        await admin.query('SELECT pg_terminate_backend($1)', [pid]);
        for (let gone = false; !gone;) {
          const left = await admin.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid]);
          gone = left.rowCount === 0;
        }
        // Observe the ROLLBACK the helper sends next, and that it fails.
        const query = c.query.bind(c) as (sql: string) => Promise<unknown>;
        (c as unknown as { query: (sql: string) => Promise<unknown> }).query = (sql: string) => {
          if (sql === 'ROLLBACK') rollbackWasTried = true;
          return query(sql);
        };
        throw original;
      }),
    ).rejects.toBe(original);
    expect(rollbackWasTried).toBe(true);
    // Not handed to the next caller: the pool holds no client now, and a fresh one works.
    expect(pool.totalCount).toBe(0);
    await inTransaction(pool, async (c) => {
      await c.query(`INSERT INTO ${table} (v) VALUES ('after')`);
    });
    expect(await rows()).toEqual(['after']);
  } finally {
    await admin.end();
  }
});
