/**
 * `cli ledger verify [--client cli_...] [--max N]`: proves the books hold together (db/ledger-repo.ts verify): every journal entry
 * balances; every payment with entries shows ledger balances equal to its amounts (captured,
 * refunded, capturable hold, disputed; the receivable net of the provider fees posted, and those fees
 * never negative); the balances the API reads equal the sums of the lines per account.
 * `--client` limits it to one merchant. Prints the first problems (at most N, default 20), each naming
 * its entry, payment or account, and exits 1 when any.
 * Env: DATABASE_URL.
 */
import { parseArgs } from 'node:util';
import { requireVars } from '../config/shapes';
import { createLedgerRepo } from '../db/ledger-repo';
import { createPool } from '../db/pool';
import type { Command } from './command';

const verify: Command = async (args, cfg) => {
  const { values } = parseArgs({
    args,
    options: { max: { type: 'string', default: '20' }, client: { type: 'string' } },
    strict: true,
  });
  const max = Number(values.max);
  if (!Number.isSafeInteger(max) || max < 1) throw new Error('--max must be a positive integer');
  const pool = createPool(requireVars(cfg, 'DATABASE_URL').DATABASE_URL, 'settle-cli', 2);
  try {
    const r = await createLedgerRepo(pool).verify({ maxProblems: max, clientId: values.client });
    if (r.problems.length === 0) {
      process.stdout.write(`ledger balanced: ${r.entries} entries, ${r.payments} payments checked\n`);
      return;
    }
    process.stdout.write(
      `ledger NOT balanced: ${r.entries} entries, ${r.payments} payments checked; first problems:\n` +
        r.problems.map((p) => `  ${p}\n`).join(''),
    );
    process.exitCode = 1;
  } finally {
    await pool.end();
  }
};

export const ledgerCommands: Record<string, Command> = { verify };
