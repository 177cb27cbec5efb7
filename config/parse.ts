/**
 * Parsing the environment with zod shapes (config/shapes.ts): a bad or missing value is a
 * ConfigError naming the variable, never echoing the value; loadOrExit turns it into exit 78.
 */
import { z } from 'zod';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** The environment a loader reads: `process.env` in a process root, a literal in tests. */
export type Env = Readonly<Record<string, string | undefined>>;

/** Parse `env` with `shape`; throw ConfigError naming each bad variable (never echoing secrets). */
export function parseEnv<S extends z.ZodRawShape>(
  shape: S,
  env: Env,
  extraChecks: (cfg: z.infer<z.ZodObject<S>>) => string[] = () => [],
): z.infer<z.ZodObject<S>> {
  const picked: Record<string, string | undefined> = {};
  for (const k of Object.keys(shape)) {
    const v = env[k];
    picked[k] = v === '' ? undefined : v;
  }
  const res = z.object(shape).safeParse(picked);
  if (!res.success) {
    throw new ConfigError(
      res.error.issues.map(
        (i) =>
          `${i.path.join('.')}: ${i.code === 'invalid_type' && picked[String(i.path[0])] === undefined ? 'is required' : i.message}`,
      ),
    );
  }
  const extra = extraChecks(res.data);
  if (extra.length) throw new ConfigError(extra);
  return res.data;
}

/** For process roots: print the ConfigError and exit 78 (EX_CONFIG) without a stack trace. */
export function loadOrExit<T>(load: () => T): T {
  try {
    return load();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }
}

/** Optional variables a command needs after all (the CLI parses one shape for every command). */
export function requireVars<T extends object, K extends keyof T & string>(
  cfg: T,
  ...names: K[]
): T & { [P in K]-?: NonNullable<T[P]> } {
  const missing = names.filter((n) => cfg[n] === undefined);
  if (missing.length) throw new ConfigError(missing.map((n) => `${n}: is required`));
  return cfg as T & { [P in K]-?: NonNullable<T[P]> };
}
