/**
 * One CLI command; each group file exports a record of these and cli/index.ts registers the groups.
 * `cfg`: the environment, parsed once by cli/index.ts.
 */
import type { CliConfig } from '../config/shapes';

export type Command = (args: string[], cfg: CliConfig) => Promise<void>;
