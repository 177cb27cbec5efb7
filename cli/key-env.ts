/** Configuration shared by the key and vault CLI commands: database + key hierarchy, parsed once. */
import { createPool, type Pool } from '../db/pool';
import { keyProviderRefinement, keyShape, parseEnv, shared } from '../domain/config';
import { createKeyHierarchyFromConfig } from '../security/vault-factory';
import { createVaultFromConfig } from '../security/vault-factory';

const cliKeyShape = {
  DATABASE_URL: shared.DATABASE_URL,
  SETTLE_FINGERPRINT_KEY: shared.SETTLE_FINGERPRINT_KEY,
  ...keyShape,
};

export async function withKeys<T>(
  run: (ctx: {
    cfg: ReturnType<typeof loadCliKeyConfig>;
    pool: Pool;
    hierarchy: ReturnType<typeof createKeyHierarchyFromConfig>;
    vault: ReturnType<typeof createVaultFromConfig>;
  }) => Promise<T>,
): Promise<T> {
  const cfg = loadCliKeyConfig();
  const pool = createPool(cfg.DATABASE_URL, 'settle-cli', 3);
  try {
    const hierarchy = createKeyHierarchyFromConfig(cfg, pool);
    return await run({ cfg, pool, hierarchy, vault: createVaultFromConfig(cfg, pool, { hierarchy }) });
  } finally {
    await pool.end();
  }
}

export const loadCliKeyConfig = (env: NodeJS.ProcessEnv = process.env) =>
  parseEnv(cliKeyShape, env, keyProviderRefinement);

export const cliActor = () => `cli:${process.env.USER ?? 'unknown'}`;
