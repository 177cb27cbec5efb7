/** What the key and vault CLI commands share: database + key hierarchy, from the CLI's parsed config. */
import type { CliConfig } from '../config/shapes';
import { ConfigError, keyProviderRefinement, requireVars } from '../config/shapes';
import { createPool, type Pool } from '../db/pool';
import { createKeyHierarchyFromConfig, createVaultFromConfig } from '../vault/vault-factory';

/** The key commands need the database, the fingerprint key and a complete key-provider setting. */
export function cliKeyConfig(cfg: CliConfig) {
  const need = requireVars(cfg, 'DATABASE_URL', 'SETTLE_FINGERPRINT_KEY');
  const problems = keyProviderRefinement(need);
  if (problems.length) throw new ConfigError(problems);
  return need;
}

export async function withKeys<T>(
  config: CliConfig,
  run: (ctx: {
    cfg: ReturnType<typeof cliKeyConfig>;
    pool: Pool;
    hierarchy: ReturnType<typeof createKeyHierarchyFromConfig>;
    vault: ReturnType<typeof createVaultFromConfig>;
  }) => Promise<T>,
): Promise<T> {
  const cfg = cliKeyConfig(config);
  const pool = createPool(cfg.DATABASE_URL, 'settle-cli', 3);
  try {
    const hierarchy = createKeyHierarchyFromConfig(cfg, pool);
    return await run({ cfg, pool, hierarchy, vault: createVaultFromConfig(cfg, pool, { hierarchy }) });
  } finally {
    await pool.end();
  }
}

/** The actor of the CLI's audit events: the operating-system user. */
export const cliActor = (cfg: Pick<CliConfig, 'USER'>) => `cli:${cfg.USER}`;
