/**
 * `npm run cli -- <group> <command> [--flags]`. Each command group lives in its own file and
 * registers here; commands print results for humans and exit non-zero with a clear message.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { clientCommands } from './clients';
import { workflowCommands } from './workflows';
import { operatorCommands } from './operators';
import { paymentCommands } from './payments';
import { ConfigError, DEFAULT_DATA_DIR, loadOrExit } from '../config/shapes';
import { loadCliConfig } from '../config/load';
import { configureAuditLog } from '../db/audit-repo';
import { auditKeysFrom, rootKeyFrom } from '../security/purpose-keys';
import { auditCommands } from './audit';
import { keyCommands } from './keys';
import { ledgerCommands } from './ledger';
import { reconcileCommands } from './reconcile';
import { deployCommands } from './deploy';
import { vaultCommands } from './vault';
import type { Command } from './command';

export const groups: Record<string, Record<string, Command>> = {
  clients: clientCommands,
  workflows: workflowCommands,
  operators: operatorCommands,
  payments: paymentCommands,
  audit: auditCommands,
  keys: keyCommands,
  vault: vaultCommands,
  ledger: ledgerCommands,
  reconcile: reconcileCommands,
  deploy: deployCommands,
};

export function flags(
  args: string[],
  spec: Record<string, { type: 'string' | 'boolean'; default?: string | boolean }>,
) {
  return parseArgs({ args, options: spec, allowPositionals: true, strict: true });
}

/**
 * Next to a running `npm start` (embedded default), the CLI uses its settings from .data/ for any
 * variable not set in the environment, so `npm run cli -- ...` works without exporting keys.
 */
function withEmbeddedDefaults(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const dir = env.SETTLE_DATA_DIR || DEFAULT_DATA_DIR;
  const files = ['runtime.json', 'secrets.json'].map((f) => path.join(dir, f));
  if (env.DATABASE_URL || !files.every((f) => fs.existsSync(f))) return env;
  const merged: NodeJS.ProcessEnv = { SETTLE_KEY_PROVIDER: 'local' };
  for (const f of files)
    Object.assign(merged, JSON.parse(fs.readFileSync(f, 'utf8')) as Record<string, string>);
  process.stderr.write(`(using the embedded default's settings from ${dir})\n`);
  // A variable set in the environment wins over the embedded default's.
  return { ...merged, ...Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) };
}

async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const [group, command, ...rest] = argv;
  const cmd = group && command ? groups[group]?.[command] : undefined;
  if (!cmd) {
    const list = Object.entries(groups)
      .flatMap(([g, cmds]) => Object.keys(cmds).map((c) => `  ${g} ${c}`))
      .join('\n');
    process.stderr.write(`usage: npm run cli -- <group> <command> [flags]\ncommands:\n${list}\n`);
    process.exit(2);
  }
  // The CLI's root: the environment is parsed once here and handed to the command.
  const cfg = loadOrExit(() => loadCliConfig(withEmbeddedDefaults(env)));
  // Every command that changes something appends to the audit log, which needs the audit keys.
  if (cfg.SETTLE_SECRET_ROOT_KEY)
    configureAuditLog({ keys: auditKeysFrom(rootKeyFrom(cfg.SETTLE_SECRET_ROOT_KEY)) });
  await cmd(rest, cfg);
}

if (require.main === module) {
  main(process.argv.slice(2), process.env).catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    // A variable a command needs and did not get (requireVars) exits as a bad one does.
    process.exit(err instanceof ConfigError ? 78 : 1);
  });
}
