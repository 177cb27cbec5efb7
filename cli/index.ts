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
import { auditCommands, configureCliAuditLog } from './audit';
import { keyCommands } from './keys';
import { vaultCommands } from './vault';

export type Command = (args: string[]) => Promise<void>;
export const groups: Record<string, Record<string, Command>> = {
  clients: clientCommands,
  workflows: workflowCommands,
  operators: operatorCommands,
  audit: auditCommands,
  keys: keyCommands,
  vault: vaultCommands,
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
function useEmbeddedDefaults(): void {
  const dir = process.env.SETTLE_DATA_DIR ?? path.join(__dirname, '..', '.data');
  const files = ['runtime.json', 'secrets.json'].map((f) => path.join(dir, f));
  if (process.env.DATABASE_URL || !files.every((f) => fs.existsSync(f))) return;
  for (const f of files) {
    for (const [k, v] of Object.entries(JSON.parse(fs.readFileSync(f, 'utf8')) as Record<string, string>))
      process.env[k] ??= v;
  }
  process.env.SETTLE_KEY_PROVIDER ??= 'local';
  process.stderr.write(`(using the embedded default's settings from ${dir})\n`);
}

async function main(argv: string[]): Promise<void> {
  useEmbeddedDefaults();
  configureCliAuditLog();
  const [group, command, ...rest] = argv;
  const cmd = group && command ? groups[group]?.[command] : undefined;
  if (!cmd) {
    const list = Object.entries(groups)
      .flatMap(([g, cmds]) => Object.keys(cmds).map((c) => `  ${g} ${c}`))
      .join('\n');
    process.stderr.write(`usage: npm run cli -- <group> <command> [flags]\ncommands:\n${list}\n`);
    process.exit(2);
  }
  await cmd(rest);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
