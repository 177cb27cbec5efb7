/**
 * Everything a database holds, as text, for the leak test: `pg_dump` when this machine has one at
 * least as new as the server (pg_dump refuses newer servers: the embedded PostgreSQL can be newer
 * than the distribution's client), else every row of every table in every non-system schema,
 * read through SQL in PostgreSQL's text form (bytea as hex, as pg_dump writes it).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { Client } from 'pg';

function pgDumpFor(serverMajor: number): string | undefined {
  const candidates = fs.existsSync('/usr/lib/postgresql')
    ? fs.readdirSync('/usr/lib/postgresql').map((v) => `/usr/lib/postgresql/${v}/bin/pg_dump`)
    : [];
  for (const bin of candidates.filter((b) => fs.existsSync(b))) {
    const version = /(\d+)\.\d+/.exec(execFileSync(bin, ['--version']).toString())?.[1];
    if (Number(version) >= serverMajor) return bin;
  }
  return undefined;
}

export async function dumpDatabase(url: string): Promise<{ method: 'pg_dump' | 'sql'; text: string }> {
  const db = new Client({ connectionString: url });
  await db.connect();
  try {
    const major = Number((await db.query<{ v: string }>('SHOW server_version_num')).rows[0]?.v) / 10000;
    const bin = pgDumpFor(Math.floor(major));
    if (bin) {
      const text = execFileSync(bin, ['--no-owner', url], { maxBuffer: 512 * 1024 * 1024 });
      return { method: 'pg_dump', text: text.toString('latin1') };
    }
    const tables = await db.query<{ schema: string; name: string }>(
      `SELECT schemaname AS schema, tablename AS name FROM pg_tables
        WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2`,
    );
    const parts: string[] = [];
    for (const { schema, name } of tables.rows) {
      const table = `${db.escapeIdentifier(schema)}.${db.escapeIdentifier(name)}`;
      const rows = await db.query<{ r: string }>(`SELECT t::text AS r FROM ${table} t`);
      parts.push(`-- ${table}`, ...rows.rows.map((row) => row.r));
    }
    return { method: 'sql', text: parts.join('\n') };
  } finally {
    await db.end();
  }
}
