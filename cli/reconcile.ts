/**
 * `cli reconcile report <rc_id> [--json]`: one reconciliation run (API.md "Ledger and
 * reconciliation"): its provider, window, status, how many payments it compared, and every
 * discrepancy with both sides (ledger `expected`, provider `actual`). Exits 1 when the run found
 * discrepancies or failed, 3 when it is still running, so a script can gate on it. Reading a run is
 * audited like the other CLI commands (actor `cli:<user>`).
 * Env: DATABASE_URL, SETTLE_SECRET_ROOT_KEY (audit).
 */
import { parseArgs } from 'node:util';
import { requireVars } from '../config/shapes';
import { createAuditLog } from '../db/audit-repo';
import { createPool } from '../db/pool';
import { createReconciliationRepo, type ReconciliationRunView } from '../db/reconciliation-repo';
import type { MoneyFacts } from '../domain/reconciliation';
import type { Command } from './command';
import { cliActor } from './key-env';

const side = (m: MoneyFacts | undefined) =>
  m ? `${m.status} ${m.currency} captured ${m.amountCaptured} refunded ${m.amountRefunded}` : '-';

export function formatRun(run: ReconciliationRunView): string {
  const head =
    `reconciliation ${run.id}: ${run.provider} [${run.from}, ${run.to}) ${run.status}, ` +
    `${run.checked} checked, ${run.discrepancies.length} discrepancies\n`;
  return (
    head +
    run.discrepancies
      .map(
        (d) =>
          `  ${d.kind} payment ${d.paymentId ?? '-'} reference ${d.providerReference ?? '-'}\n` +
          `    ledger:   ${side(d.expected)}\n    provider: ${side(d.actual)}\n`,
      )
      .join('')
  );
}

const report: Command = async (args, cfg) => {
  const { values, positionals } = parseArgs({
    args,
    options: { json: { type: 'boolean', default: false } },
    allowPositionals: true,
    strict: true,
  });
  const id = positionals[0];
  if (!id || !/^rc_[0-9A-Za-z]{8,64}$/.test(id)) throw new Error('usage: reconcile report <rc_id> [--json]');
  const { DATABASE_URL } = requireVars(cfg, 'DATABASE_URL', 'SETTLE_SECRET_ROOT_KEY');
  const pool = createPool(DATABASE_URL, 'settle-cli', 2);
  try {
    const run = await createReconciliationRepo(pool).getRun(id);
    await createAuditLog(pool).append({
      actor: cliActor(cfg),
      action: 'reconciliation.report',
      resource: id,
      outcome: run ? 'success' : 'failure',
    });
    if (!run) throw new Error(`no reconciliation run ${id}`);
    process.stdout.write(values.json ? `${JSON.stringify(run, null, 2)}\n` : formatRun(run));
    if (run.status === 'running') process.exitCode = 3;
    else if (run.status !== 'matched') process.exitCode = 1;
  } finally {
    await pool.end();
  }
};

export const reconcileCommands: Record<string, Command> = { report };
