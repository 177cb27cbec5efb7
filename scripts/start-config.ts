/** Configuration of `npm start` (the embedded default). Every variable has a default. */
import path from 'node:path';
import { z } from 'zod';
import { parseEnv, shared } from '../domain/config';
import { ROOT } from './tools';

export const startShape = {
  /** Where the embedded default keeps its state (Temporal SQLite file, PostgreSQL, generated keys). */
  SETTLE_DATA_DIR: z.string().min(1).default(path.join(ROOT, '.data')),
  /** Use this PostgreSQL instead of the embedded one. */
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional(),
  /**
   * The owner of that database, for migrations (default DATABASE_URL). When both are set,
   * DATABASE_URL is what the processes use; else they use the runtime role settle_runtime on it.
   */
  DATABASE_OWNER_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional(),
  /** Root of the per-purpose keys (default: generated into <data dir>/secrets.json). */
  SETTLE_SECRET_ROOT_KEY: shared.SETTLE_SECRET_ROOT_KEY.optional(),
  /** Password of the runtime login role (default: generated into <data dir>/secrets.json). */
  SETTLE_DB_RUNTIME_PASSWORD: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Use this Temporal server instead of starting the dev server. */
  TEMPORAL_ADDRESS: z
    .string()
    .regex(/^[^:\s]+:\d{1,5}$/, 'must be host:port')
    .optional(),
  TEMPORAL_PORT: z.coerce.number().int().min(1).max(65535).default(7233),
  TEMPORAL_UI_PORT: z.coerce.number().int().min(1).max(65535).default(8233),
  EMBEDDED_PG_PORT: z.coerce.number().int().min(1).max(65535).default(5433),
  PORT: z.coerce.number().int().min(1).max(65535).default(3000),
};
export type StartConfig = z.infer<z.ZodObject<typeof startShape>>;
export const loadStartConfig = (env: NodeJS.ProcessEnv = process.env): StartConfig =>
  parseEnv(startShape, env);
