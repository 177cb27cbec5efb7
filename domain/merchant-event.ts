/**
 * A merchant event as the outbox stores it (API.md "Events"): ids are derived by whoever records it
 * (resource + version/transition), so recording the same event twice stores it once.
 */
export interface EventRecord {
  id: string;
  clientId: string;
  type: string;
  resourceId: string;
  data: Record<string, unknown>;
  createdAt: string;
}
