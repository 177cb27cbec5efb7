// Rule test (semgrep --test): positives carry `ruleid`, negatives `ok`.
const COLS = 'id, name';
declare function escapeLiteral(s: string): string;
declare function escapeIdentifier(s: string): string;
export async function examples(pool: any, c: any, id: string, table: string, password: string) {
  // ruleid: settle-no-string-built-sql
  await pool.query(`SELECT * FROM clients WHERE id = '${id}'`);
  // ruleid: settle-no-string-built-sql
  await pool.query<{ n: number }>(`SELECT count(*) AS n FROM ${table}`);
  // ruleid: settle-no-string-built-sql
  await c.query('SELECT * FROM clients WHERE id = ' + id);
  // ruleid: settle-no-string-built-sql
  await pool.query(`SELECT ${COLS} FROM clients WHERE name = '${id}'`);
  const sql = `DELETE FROM ${table}`;
  // ruleid: settle-no-string-built-sql
  await pool.query(sql);

  // ok: settle-no-string-built-sql
  await pool.query('SELECT * FROM clients WHERE id = $1', [id]);
  // ok: settle-no-string-built-sql
  await pool.query<{ id: string }>(`SELECT ${COLS} FROM clients WHERE id = $1`, [id]);
  // ok: settle-no-string-built-sql
  await pool.query(`SELECT 1`);
  // ok: settle-no-string-built-sql
  await c.query(`ALTER ROLE ${escapeIdentifier(id)} PASSWORD ${escapeLiteral(password)}`);
  // ruleid: settle-no-string-built-sql
  await c.query(`ALTER ROLE ${escapeIdentifier(id)} PASSWORD '${password}'`);
}
