/**
 * The runtime login role. Migrations run as the database owner; the API, the workers, the codec
 * server and the CLI connect as `settle_runtime`, a LOGIN member of `settle_app` (the grants the
 * migrations give: DML on business tables, SELECT/INSERT only on audit_events, audit_anchors and
 * the ledger's ledger_accounts, ledger_entries and ledger_lines). It is no owner and no superuser, so
 * it cannot run DDL, disable the append-only triggers, rewrite the audit trail or alter the books.
 *
 * Roles are cluster-wide and one server may hold many Settle databases (tests create one per file):
 * the role is created once, tolerating a concurrent creator, and CONNECT is granted per database.
 */
import { Client, escapeLiteral } from 'pg';

export const RUNTIME_ROLE = 'settle_runtime';

/** Catalog rows touched concurrently by another database's migration: worth another try. */
const CONCURRENT = new Set(['XX000', '40001', '40P01', '23505']);

async function retrying<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (attempt >= 5 || !code || !CONCURRENT.has(code)) throw err;
      await new Promise((res) => setTimeout(res, 50 * attempt));
    }
  }
}

/**
 * Creates or updates the runtime role (as the owner). `password`: set when given (password
 * authentication); without one the role has none and logs in only where trust auth allows it.
 */
export async function ensureRuntimeRole(ownerUrl: string, opts: { password?: string | undefined } = {}) {
  const c = new Client({ connectionString: ownerUrl, application_name: 'settle-migrate' });
  await c.connect();
  try {
    await retrying(() =>
      c.query(`DO $$
BEGIN
  CREATE ROLE ${RUNTIME_ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END
$$`),
    );
    // A role that already existed keeps no attribute beyond what it needs.
    const attrs = await c.query<{ ok: boolean; member: boolean }>(
      `SELECT (rolcanlogin AND NOT rolsuper AND NOT rolcreatedb AND NOT rolcreaterole AND NOT rolreplication
               AND NOT rolbypassrls AND rolinherit) AS ok,
              pg_has_role($1, 'settle_app', 'MEMBER') AS member
         FROM pg_roles WHERE rolname = $1`,
      [RUNTIME_ROLE],
    );
    if (!attrs.rows[0]?.ok)
      await retrying(() =>
        c.query(
          `ALTER ROLE ${RUNTIME_ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT`,
        ),
      );
    if (!attrs.rows[0]?.member) await retrying(() => c.query(`GRANT settle_app TO ${RUNTIME_ROLE}`));
    if (opts.password)
      await retrying(() => c.query(`ALTER ROLE ${RUNTIME_ROLE} PASSWORD ${escapeLiteral(opts.password!)}`));
    // CONNECT on this database (PUBLIC may have lost it); schema USAGE comes with the migrations.
    await c.query(`DO $$
BEGIN
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO settle_app', current_database());
END
$$`);
  } finally {
    await c.end();
  }
}

/** The owner's URL with the runtime role's credentials: same server and database. */
export function runtimeDatabaseUrl(ownerUrl: string, password?: string): string {
  const u = new URL(ownerUrl);
  u.username = RUNTIME_ROLE;
  u.password = password ? encodeURIComponent(password) : '';
  return u.toString();
}
