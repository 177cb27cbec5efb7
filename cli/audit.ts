/**
 * `cli audit verify [--anchor FILE]`: walks the keyed hash chain and reports the first broken link,
 * checked against the latest keyed anchor in the database (and, when given, an exported one), so a
 * rewritten or truncated chain is reported. Exit 1 when broken.
 * `cli audit anchor [--out FILE]`: writes a keyed anchor of the chain head to the database and prints
 * it (to be kept outside the database as well: WORM storage, a ticket...).
 * Env: DATABASE_URL, SETTLE_SECRET_ROOT_KEY (the audit chain and anchor keys derive from it).
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { requireVars } from '../config/shapes';
import { createAuditLog } from '../db/audit-repo';
import { createPool } from '../db/pool';
import type { Anchor, KeyedAnchor } from '../security/audit';
import type { Command } from './command';
import { cliActor } from './key-env';

/** An exported anchor: keyed (with `at` and `mac`, checked on use) or a bare seq/id/hash triple. */
export function parseAnchor(text: string): Anchor | KeyedAnchor {
  const a = JSON.parse(text) as Partial<KeyedAnchor>;
  if (
    typeof a.seq !== 'number' ||
    typeof a.id !== 'string' ||
    typeof a.hash !== 'string' ||
    !/^[0-9a-f]{64}$/.test(a.hash)
  )
    throw new Error('the anchor file is not a Settle audit anchor');
  const bare = { seq: a.seq, id: a.id, hash: a.hash };
  if (a.mac === undefined) return bare;
  if (typeof a.mac !== 'string' || typeof a.at !== 'string')
    throw new Error('the anchor file is not a Settle audit anchor');
  return { ...bare, at: a.at, mac: a.mac };
}

const verify: Command = async (args, cfg) => {
  const { values } = parseArgs({ args, options: { anchor: { type: 'string' } }, strict: true });
  const external = values.anchor ? parseAnchor(fs.readFileSync(values.anchor, 'utf8')) : undefined;
  const pool = createPool(requireVars(cfg, 'DATABASE_URL').DATABASE_URL, 'settle-cli', 2);
  try {
    const log = createAuditLog(pool);
    const r = await log.verify(external);
    await log.append({
      actor: cliActor(cfg),
      action: 'audit.verify',
      resource: 'audit-events',
      outcome: 'success',
      details: { valid: r.valid, checked: r.checked },
    });
    const anchored = `${r.anchoredAt ? `, anchored at ${r.anchoredAt}` : ', no anchor yet'}${external ? ', exported anchor matched' : ''}`;
    if (r.valid) {
      process.stdout.write(`audit chain valid: ${r.checked} events checked${anchored}\n`);
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

const anchor: Command = async (args, cfg) => {
  const { values } = parseArgs({ args, options: { out: { type: 'string' } }, strict: true });
  const pool = createPool(requireVars(cfg, 'DATABASE_URL').DATABASE_URL, 'settle-cli', 2);
  try {
    const a = await createAuditLog(pool).anchor();
    if (!a) throw new Error('the audit trail is empty: nothing to anchor');
    const text = `${JSON.stringify(a)}\n`;
    if (values.out) fs.writeFileSync(values.out, text, { mode: 0o600 });
    process.stdout.write(text);
  } finally {
    await pool.end();
  }
};

export const auditCommands: Record<string, Command> = { verify, anchor };
