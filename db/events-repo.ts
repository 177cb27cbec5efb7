/**
 * The merchant-event outbox. `append` is idempotent by event id: ids are derived deterministically
 * by the caller (resource + version/transition), so an activity retry never creates a second event.
 */
import type { Pool } from './pool';

export interface EventRecord {
  id: string;
  clientId: string;
  type: string;
  resourceId: string;
  data: Record<string, unknown>;
  createdAt: string;
}

export function createEventsRepo(pool: Pool) {
  return {
    async append(e: EventRecord): Promise<boolean> {
      const r = await pool.query(
        `INSERT INTO events (id, client_id, type, resource_id, data, created_at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (id) DO NOTHING`,
        [e.id, e.clientId, e.type, e.resourceId, JSON.stringify(e.data), e.createdAt],
      );
      return (r.rowCount ?? 0) > 0;
    },
    async listForResource(resourceId: string): Promise<EventRecord[]> {
      const r = await pool.query<{
        id: string;
        client_id: string;
        type: string;
        resource_id: string;
        data: Record<string, unknown>;
        created_at: Date;
      }>('SELECT * FROM events WHERE resource_id = $1 ORDER BY created_at, id', [resourceId]);
      return r.rows.map((x) => ({
        id: x.id,
        clientId: x.client_id,
        type: x.type,
        resourceId: x.resource_id,
        data: x.data,
        createdAt: x.created_at.toISOString(),
      }));
    },
  };
}
export type EventsRepo = ReturnType<typeof createEventsRepo>;
