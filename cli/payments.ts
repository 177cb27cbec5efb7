/**
 * Repairing payments by hand, with the sweeper's own code (workflows/payment-sweeper.ts):
 * `cli payments inspect <id>`: the projection, the workflow's state (query) and the provider's
 *   (sync through the card-data worker), side by side; differing fields marked `!`; what a resync
 *   would do. Changes nothing.
 * `cli payments resync <id>`: the same, then the repair: signal `repair` to the payment workflow,
 *   which applies what its state accepts; what it cannot repair is reported as the sweeper does.
 * `cli payments stuck [--all] [--limit N]`: the sweeper's open findings (all of them with --all) and
 *   its last scheduled run.
 * Each command appends an audit event (actor `cli:<user>`).
 * Env: DATABASE_URL, TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, SETTLE_TASK_QUEUE, SETTLE_CARD_TASK_QUEUE,
 * SETTLE_SECRET_ROOT_KEY and the key variables (workflow payloads are encrypted).
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { ConfigError, keyProviderRefinement, requireVars, type CliConfig } from '../config/shapes';
import { createAuditLog, type AuditLog } from '../db/audit-repo';
import { createPool, type Pool } from '../db/pool';
import { createSweeperRepo } from '../db/sweeper-repo';
import { COMPARED_FIELDS } from '../domain/payment-repair';
import { configurePayloadEncryption } from '../vault/vault-factory';
import { sweeperInput, sweeperScheduleId } from '../workers/sweeper';
import { dataConverter } from '../workflows/data-converter';
import { paymentSweeperWorkflow, type SweepReport } from '../workflows/payment-sweeper';
import type { Command } from './command';
import { cliActor } from './key-env';

async function withStack<T>(
  config: CliConfig,
  fn: (ctx: { client: Client; pool: Pool; audit: AuditLog; cfg: CliConfig }) => Promise<T>,
): Promise<T> {
  const cfg = requireVars(config, 'DATABASE_URL', 'SETTLE_SECRET_ROOT_KEY');
  const problems = keyProviderRefinement(cfg);
  if (problems.length) throw new ConfigError(problems);
  const pool = createPool(cfg.DATABASE_URL, 'settle-cli', 2);
  const connection = await Connection.connect({ address: cfg.TEMPORAL_ADDRESS });
  try {
    configurePayloadEncryption(cfg, pool);
    const client = new Client({ connection, namespace: cfg.TEMPORAL_NAMESPACE, dataConverter });
    return await fn({ client, pool, audit: createAuditLog(pool), cfg });
  } finally {
    await connection.close();
    await pool.end();
  }
}

const paymentId = (args: string[]): string => {
  const { positionals } = parseArgs({ args, allowPositionals: true, strict: true });
  const id = positionals[0];
  if (!id || !/^pay_[0-9A-Za-z]{8,64}$/.test(id)) throw new Error('usage: payments <command> <pay_...>');
  return id;
};

/** One sweeper run over one payment, as the Schedule's runs do it (dry: judge only). */
function runOne(client: Client, cfg: CliConfig, id: string, dryRun: boolean) {
  const queues = { taskQueue: cfg.SETTLE_TASK_QUEUE, cardTaskQueue: cfg.SETTLE_CARD_TASK_QUEUE };
  return client.workflow.execute(paymentSweeperWorkflow, {
    taskQueue: cfg.SETTLE_TASK_QUEUE,
    workflowId: `payment-${dryRun ? 'inspect' : 'resync'}-${id}-${randomBytes(4).toString('hex')}`,
    args: [
      sweeperInput(
        { ...queues, intervalMinutes: 0, staleAfterMinutes: 15, batchSize: 1, maxBatches: 1 },
        { paymentIds: [id], dryRun, actor: cliActor(cfg) },
      ),
    ],
  });
}

const show = (v: unknown): string =>
  v === undefined
    ? '-'
    : typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'
      ? String(v)
      : JSON.stringify(v);

/** The three accounts side by side; `!` marks a field where they disagree. */
export function sideBySide(r: SweepReport): string {
  const p = r.inspection.projection;
  const w = r.inspection.workflow;
  const view = 'view' in w ? w.view : undefined;
  const o = r.observation;
  const rows: Array<[string, unknown, unknown, unknown]> = COMPARED_FIELDS.map((f) => [
    f,
    p[f],
    view ? view[f] : undefined,
    f === 'status'
      ? o?.status
      : f === 'amountCaptured'
        ? o?.amountCaptured
        : f === 'amountRefunded'
          ? o?.amountRefunded
          : f === 'providerReference'
            ? o?.providerReference
            : undefined,
  ]);
  rows.push(['version', p.version, undefined, undefined]);
  const widths = [18, 26, 26, 26];
  const line = (cells: unknown[], mark = ' ') =>
    `${mark} ${cells.map((c, i) => show(c).padEnd(widths[i]!)).join(' ')}`.trimEnd();
  const out = [line(['field', 'projection', 'workflow', 'provider'])];
  for (const [f, a, b, c] of rows) {
    const seen = [a, b, c].filter((x) => x !== undefined).map(String);
    // Provider statuses have their own vocabulary (partially captured = authorized): not compared.
    const compared = f === 'status' ? [a, b].filter((x) => x !== undefined).map(String) : seen;
    out.push(line([f, a, b, c], new Set(compared).size > 1 ? '!' : ' '));
  }
  const wf = !w.found
    ? 'no workflow'
    : 'error' in w
      ? `workflow unreachable: ${w.error}`
      : w.running
        ? 'running'
        : 'closed';
  const pv = !o
    ? 'provider not asked / unreachable'
    : o.found
      ? 'provider knows it'
      : 'provider does not know it';
  out.push('', `workflow: ${wf}; ${pv}`);
  out.push(`problems: ${r.problems.length ? r.problems.join(', ') : 'none'}`);
  const repair = r.verdict.repair;
  if (repair)
    out.push(
      `repair: ${[
        repair.reproject ? 're-project' : '',
        repair.action
          ? `${repair.action.kind} ${'amount' in repair.action ? repair.action.amount : ''}`.trim()
          : '',
      ]
        .filter(Boolean)
        .join(' + ')}`,
    );
  return `${out.join('\n')}\n`;
}

const inspect: Command = async (args, config) => {
  const id = paymentId(args);
  await withStack(config, async ({ client, audit, cfg }) => {
    const result = await runOne(client, cfg, id, true);
    const report = result.reports[0];
    await audit.append({
      actor: cliActor(cfg),
      action: 'payment.inspect',
      resource: id,
      outcome: report ? 'success' : 'failure',
      details: report ? { problems: report.problems } : { reason: 'not found' },
    });
    if (!report) throw new Error(`${id}: no such payment`);
    process.stdout.write(sideBySide(report));
  });
};

const resync: Command = async (args, config) => {
  const id = paymentId(args);
  await withStack(config, async ({ client, audit, cfg }) => {
    const result = await runOne(client, cfg, id, false);
    const report = result.reports[0];
    const outcome = report?.outcome ?? 'not found';
    await audit.append({
      actor: cliActor(cfg),
      action: 'payment.resync',
      resource: id,
      outcome: report && report.outcome !== 'unrepaired' ? 'success' : 'failure',
      details: { outcome, problems: report?.problems ?? [], run: result.runId },
    });
    if (!report) throw new Error(`${id}: no such payment`);
    process.stdout.write(
      `${id}: ${outcome}${report.problems.length ? ` (${report.problems.join(', ')})` : ''}\n`,
    );
    if (report.outcome === 'unrepaired') process.exitCode = 1;
  });
};

const stuck: Command = async (args, config) => {
  const { values } = parseArgs({
    args,
    options: { all: { type: 'boolean', default: false }, limit: { type: 'string', default: '50' } },
    strict: true,
  });
  const limit = Number(values.limit);
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000) throw new Error('--limit must be 1..1000');
  await withStack(config, async ({ pool, audit, cfg }) => {
    const repo = createSweeperRepo(pool);
    const findings = await repo.findings({ status: values.all ? undefined : 'open', limit });
    const last = await repo.lastRun(sweeperScheduleId(cfg.SETTLE_TASK_QUEUE));
    await audit.append({
      actor: cliActor(cfg),
      action: 'payment.stuck',
      resource: 'payments',
      outcome: 'success',
      details: { listed: findings.length },
    });
    process.stdout.write(
      last
        ? `last sweeper run ${last.runId} at ${last.finishedAt}: ${JSON.stringify(last.summary)}\n`
        : 'the sweeper has not finished a scheduled run yet\n',
    );
    if (!findings.length) process.stdout.write('no findings\n');
    for (const f of findings) {
      process.stdout.write(
        `${f.paymentId}  ${f.status.padEnd(8)}  ${f.problems.join(',').padEnd(36)}  since ${f.firstSeenAt}  last ${f.lastSeenAt}\n`,
      );
    }
  });
};

export const paymentCommands: Record<string, Command> = { inspect, resync, stuck };
