import type { Role } from '../domain/client-role';
import type { Pool } from './pool';

export type { Role };
export interface ClientRow {
  id: string;
  name: string;
  role: Role;
  secretHash: string;
  createdAt: Date;
  disabledAt: Date | null;
}

const COLS = `id, name, role, secret_hash AS "secretHash", created_at AS "createdAt", disabled_at AS "disabledAt"`;

export function createClientsRepo(pool: Pool) {
  return {
    async insert(c: { id: string; name: string; role: Role; secretHash: string }): Promise<void> {
      await pool.query('INSERT INTO clients (id, name, role, secret_hash) VALUES ($1, $2, $3, $4)', [
        c.id,
        c.name,
        c.role,
        c.secretHash,
      ]);
    },
    async findById(id: string): Promise<ClientRow | undefined> {
      const r = await pool.query<ClientRow>(`SELECT ${COLS} FROM clients WHERE id = $1`, [id]);
      return r.rows[0];
    },
    /** Per-request check behind every service token (primary-key lookup): disabling is immediate. */
    async isActiveService(id: string): Promise<boolean> {
      const r = await pool.query(
        "SELECT 1 FROM clients WHERE id = $1 AND role = 'service' AND disabled_at IS NULL",
        [id],
      );
      return r.rowCount === 1;
    },
    async findActiveByName(name: string): Promise<ClientRow | undefined> {
      const r = await pool.query<ClientRow>(
        `SELECT ${COLS} FROM clients WHERE name = $1 AND disabled_at IS NULL`,
        [name],
      );
      return r.rows[0];
    },
    async list(): Promise<ClientRow[]> {
      const r = await pool.query<ClientRow>(`SELECT ${COLS} FROM clients ORDER BY created_at, id`);
      return r.rows;
    },
    async disable(id: string, now: Date): Promise<boolean> {
      const r = await pool.query(
        'UPDATE clients SET disabled_at = $2 WHERE id = $1 AND disabled_at IS NULL',
        [id, now],
      );
      return r.rowCount === 1;
    },
    async updateSecret(id: string, secretHash: string): Promise<void> {
      await pool.query('UPDATE clients SET secret_hash = $2 WHERE id = $1', [id, secretHash]);
    },
  };
}
export type ClientsRepo = ReturnType<typeof createClientsRepo>;
