/**
 * `cli audit verify [--anchor FILE]`: walks the hash chain and reports the first broken link; with an
 * anchor (from `cli audit anchor`), a truncated tail is reported too. Exit 1 when broken.
 * `cli audit anchor [--out FILE]`: exports the latest seq + hash, to be kept outside the database.
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { createAuditLog } from '../db/audit-repo';
import { createPool } from '../db/pool';
import type { Anchor } from '../security/audit';
import type { Command } from './index';

function dbUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL: is required');
  return url;
}

export function parseAnchor(text: string): Anchor {
  const a = JSON.parse(text) as Partial<Anchor>;
  if (
    typeof a.seq !== 'number' ||
    typeof a.id !== 'string' ||
    typeof a.hash !== 'string' ||
    !/^[0-9a-f]{64}$/.test(a.hash)
  )
    throw new Error('the anchor file is not a Settle audit anchor');
  return { seq: a.seq, id: a.id, hash: a.hash };
}

const verify: Command = async (args) => {
  const { values } = parseArgs({ args, options: { anchor: { type: 'string' } }, strict: true });
  const anchor = values.anchor ? parseAnchor(fs.readFileSync(values.anchor, 'utf8')) : undefined;
  const pool = createPool(dbUrl(), 'settle-cli', 2);
  try {
    const log = createAuditLog(pool);
    const r = await log.verify(anchor);
    await log.append({
      actor: `cli:${process.env.USER ?? 'unknown'}`,
      action: 'audit.verify',
      resource: 'audit-events',
      outcome: 'success',
      details: { valid: r.valid, checked: r.checked },
    });
    if (r.valid) {
      process.stdout.write(
        `audit chain valid: ${r.checked} events checked${anchor ? ', anchor matched' : ''}\n`,
      );
    } else {
      process.stdout.write(
        `audit chain BROKEN at ${r.firstBrokenId} (${r.reason ?? 'unknown'}); ${r.checked} events checked\n`,
      );
      process.exitCode = 1;
    }
  } finally {
    await pool.end();
  }
};

const anchor: Command = async (args) => {
  const { values } = parseArgs({ args, options: { out: { type: 'string' } }, strict: true });
  const pool = createPool(dbUrl(), 'settle-cli', 2);
  try {
    const a = await createAuditLog(pool).anchor();
    if (!a) throw new Error('the audit trail is empty: nothing to anchor');
    const text = `${JSON.stringify({ ...a, exportedAt: new Date().toISOString() })}\n`;
    if (values.out) fs.writeFileSync(values.out, text, { mode: 0o600 });
    process.stdout.write(text);
  } finally {
    await pool.end();
  }
};

export const auditCommands: Record<string, Command> = { verify, anchor };
