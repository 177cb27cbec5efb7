/** What an API client may do (api/rbac.ts maps each route to the roles allowed on it). */
export type Role = 'service' | 'admin' | 'auditor';
