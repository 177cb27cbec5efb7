/**
 * The merchant-event outbox. `append` is idempotent by event id: ids are derived deterministically
 * by the caller (resource + version/transition), so an activity retry never creates a second event.
 */
import type { EventRecord } from '../domain/merchant-event';
import type { Pool, PoolClient } from './pool';

export type { EventRecord };

/** Append one event (on a pool or inside a caller's transaction); false when its id is already there. */
export async function appendEvent(q: Pool | PoolClient, e: EventRecord): Promise<boolean> {
  const r = await q.query(
    `INSERT INTO events (id, client_id, type, resource_id, data, created_at) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (id) DO NOTHING`,
    [e.id, e.clientId, e.type, e.resourceId, JSON.stringify(e.data), e.createdAt],
  );
  return (r.rowCount ?? 0) > 0;
}

export function createEventsRepo(pool: Pool) {
  return {
    append: (e: EventRecord) => appendEvent(pool, e),
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
