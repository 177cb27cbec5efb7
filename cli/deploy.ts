/**
 * `npm run cli -- deploy status|ramp <build> <percent>|promote <build>|rollback`: the Worker
 * Deployment's routing (workers/versioning.ts, docs/deploy.md "Worker Versioning"), through the
 * Temporal API (DescribeWorkerDeployment, SetWorkerDeploymentRampingVersion,
 * SetWorkerDeploymentCurrentVersion). Every change is audited (`deploy.ramp|promote|rollback`,
 * refusals as failures).
 *
 * The replay gate: `ramp` and `promote` first replay, against the workflow code of the build being
 * deployed, (a) the replay corpus and (b) the histories of the last `--hours` hours (default 24) of
 * the deployment's queues, plus the running AUTO_UPGRADE loops the new build would take over; any
 * non-determinism refuses the step and names the workflow and the event. "The build's workflow
 * code": by default what this build's workers would run (workers/workflow-code.ts: the image's
 * dist/workflow-bundle.js, else this checkout's sources), so run the CLI from the new build's image
 * or checkout; or the bundle given with `--bundle <file>`, or the workflows module given with
 * `--workflows <new checkout>/workflows/index.ts`. Live histories are fetched and decrypted in
 * memory with the payload keys (DATABASE_URL + key variables), never written anywhere.
 *
 * `rollback`: the current version goes back to the one that was current before it (the deployment's
 * version with the latest `lastCurrentTime`), and any ramp stops. No gate: it is the way back, and
 * payments are PINNED (they stay on the build they started on).
 *
 * Env: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, SETTLE_DEPLOYMENT_NAME, SETTLE_TASK_QUEUE,
 * SETTLE_WEBHOOK_TASK_QUEUE, DATABASE_URL + SETTLE_SECRET_ROOT_KEY (audit) + key variables (gate).
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { ConfigError, keyProviderRefinement, requireVars, type CliConfig } from '../config/shapes';
import { createAuditLog } from '../db/audit-repo';
import { createPool, type Pool } from '../db/pool';
import { configurePayloadEncryption } from '../vault/vault-factory';
import { dataConverter } from '../workflows/data-converter';
import type { Command } from './command';
import { cliActor } from './key-env';
import { workflowCode } from '../workers/workflow-code';
import {
  replayGate,
  refusalText,
  DEFAULT_CORPUS_DIR,
  type GateResult,
  type WorkflowCode,
} from './replay-gate';

type DeploymentInfo = temporal.api.deployment.v1.IWorkerDeploymentInfo;

export * from './replay-gate';

export interface DeployTarget {
  client: Client;
  namespace: string;
  deploymentName: string;
  identity: string;
}

export async function describeDeployment(t: DeployTarget): Promise<DeploymentInfo> {
  const r = await t.client.workflowService.describeWorkerDeployment({
    namespace: t.namespace,
    deploymentName: t.deploymentName,
  });
  if (!r.workerDeploymentInfo) throw new Error(`worker deployment ${t.deploymentName} not found`);
  return r.workerDeploymentInfo;
}

const buildOf = (v: temporal.api.deployment.v1.IWorkerDeploymentVersion | null | undefined) =>
  v?.buildId || undefined;

const millis = (ts: { seconds?: unknown; nanos?: number | null } | null | undefined): number =>
  ts ? Number(ts.seconds ?? 0) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6) : 0;

/** The build that was current before the current one (latest lastCurrentTime among the others). */
export function previousCurrent(info: DeploymentInfo): string | undefined {
  const current = buildOf(info.routingConfig?.currentDeploymentVersion);
  return (info.versionSummaries ?? [])
    .filter((v) => buildOf(v.deploymentVersion) !== current && millis(v.lastCurrentTime) > 0)
    .sort((a, b) => millis(b.lastCurrentTime) - millis(a.lastCurrentTime))
    .map((v) => buildOf(v.deploymentVersion))[0];
}

export function statusText(info: DeploymentInfo): string {
  const rc = info.routingConfig;
  const status = temporal.api.enums.v1.WorkerDeploymentVersionStatus;
  const drainage = temporal.api.enums.v1.VersionDrainageStatus;
  const lines = [
    `deployment ${info.name}`,
    `  current: ${buildOf(rc?.currentDeploymentVersion) ?? '(unversioned)'}`,
    `  ramping: ${buildOf(rc?.rampingDeploymentVersion) ? `${buildOf(rc?.rampingDeploymentVersion)} at ${rc?.rampingVersionPercentage ?? 0}%` : '(none)'}`,
    `  versions:`,
    ...(info.versionSummaries ?? []).map(
      (v) =>
        `    ${buildOf(v.deploymentVersion) ?? v.version}: ${status[v.status ?? 0] ?? v.status}` +
        (v.drainageStatus ? `, ${drainage[v.drainageStatus]}` : ''),
    ),
  ];
  return `${lines.join('\n')}\n`;
}

export async function setRamping(t: DeployTarget, build: string, percentage: number): Promise<void> {
  await t.client.workflowService.setWorkerDeploymentRampingVersion({
    namespace: t.namespace,
    deploymentName: t.deploymentName,
    buildId: build,
    percentage,
    identity: t.identity,
  });
}

export async function setCurrent(t: DeployTarget, build: string): Promise<void> {
  await t.client.workflowService.setWorkerDeploymentCurrentVersion({
    namespace: t.namespace,
    deploymentName: t.deploymentName,
    buildId: build,
    identity: t.identity,
  });
}

/** Rolls back to the previous current build and stops any ramp; returns [from, to]. */
export async function rollbackDeployment(t: DeployTarget): Promise<[string | undefined, string]> {
  const info = await describeDeployment(t);
  const from = buildOf(info.routingConfig?.currentDeploymentVersion);
  const to = previousCurrent(info);
  if (!to) throw new Error(`deployment ${t.deploymentName}: no previous current version to roll back to`);
  if (buildOf(info.routingConfig?.rampingDeploymentVersion)) await setRamping(t, '', 0);
  await setCurrent(t, to);
  return [from, to];
}

// ---- the commands ----

async function withTarget<T>(
  cfg: CliConfig,
  fn: (t: DeployTarget, pool: Pool | undefined) => Promise<T>,
): Promise<T> {
  const pool = cfg.DATABASE_URL ? createPool(cfg.DATABASE_URL, 'settle-cli', 2) : undefined;
  const connection = await Connection.connect({ address: cfg.TEMPORAL_ADDRESS });
  try {
    if (pool) {
      const problems = keyProviderRefinement(cfg);
      if (problems.length) throw new ConfigError(problems);
      configurePayloadEncryption(cfg, pool);
    }
    const client = new Client({ connection, namespace: cfg.TEMPORAL_NAMESPACE, dataConverter });
    return await fn(
      {
        client,
        namespace: cfg.TEMPORAL_NAMESPACE,
        deploymentName: cfg.SETTLE_DEPLOYMENT_NAME,
        identity: cliActor(cfg),
      },
      pool,
    );
  } finally {
    await connection.close();
    await pool?.end();
  }
}

async function audit(
  pool: Pool,
  cfg: CliConfig,
  action: string,
  outcome: 'success' | 'failure',
  details: Record<string, unknown>,
): Promise<void> {
  await createAuditLog(pool).append({
    actor: cliActor(cfg),
    action,
    resource: `deployment:${cfg.SETTLE_DEPLOYMENT_NAME}`,
    outcome,
    details,
  });
}

const gateOptions = {
  bundle: { type: 'string' },
  workflows: { type: 'string' },
  corpus: { type: 'string' },
  hours: { type: 'string', default: '24' },
  limit: { type: 'string', default: '2000' },
} as const;

type GateFlags = { bundle?: string; workflows?: string; corpus?: string; hours: string; limit: string };

function gateSettings(values: GateFlags) {
  const hours = Number(values.hours);
  const limit = Number(values.limit);
  if (!(hours > 0)) throw new Error('--hours must be a positive number');
  if (!Number.isInteger(limit) || limit < 1) throw new Error('--limit must be a positive integer');
  if (values.bundle && values.workflows) throw new Error('one of --bundle or --workflows, not both');
  const given = values.bundle ?? values.workflows;
  if (given && !fs.existsSync(given)) throw new Error(`${given}: not found`);
  // Default: what this build's workers run (the image's prebuilt bundle, else the sources).
  const code: WorkflowCode = values.bundle
    ? { workflowBundle: { codePath: path.resolve(values.bundle) } }
    : values.workflows
      ? { workflowsPath: path.resolve(values.workflows) }
      : workflowCode();
  return {
    code,
    corpusDir: values.corpus ?? DEFAULT_CORPUS_DIR,
    since: new Date(Date.now() - hours * 3_600_000),
    limit,
  };
}

/** Runs the gate for `build`; audits and throws the refusal, or prints what it replayed. */
async function gated(
  t: DeployTarget,
  pool: Pool,
  cfg: CliConfig,
  action: string,
  build: string,
  values: GateFlags,
): Promise<GateResult> {
  const settings = gateSettings(values);
  // The replay worker's bundling and state lines are noise here; the verdict is ours.
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    // Already installed: a caller in a process that runs workers (the rehearsal test).
  }
  const result = await replayGate({
    client: t.client,
    ...settings,
    taskQueues: [cfg.SETTLE_TASK_QUEUE, cfg.SETTLE_WEBHOOK_TASK_QUEUE],
  });
  if (result.refusal) {
    await audit(pool, cfg, action, 'failure', {
      build,
      refused: true,
      workflowId: result.refusal.workflowId,
      source: result.refusal.source,
      event: result.refusal.event,
    });
    throw new Error(refusalText(build, result.refusal));
  }
  process.stdout.write(
    `replay gate: build ${build} replays ${result.corpus} corpus histories and ${result.live} ` +
      `live ones since ${settings.since.toISOString()}: OK\n`,
  );
  return result;
}

const status: Command = async (args, cfg) => {
  parseArgs({ args, options: {}, strict: true });
  await withTarget(cfg, async (t) => {
    process.stdout.write(statusText(await describeDeployment(t)));
  });
};

const ramp: Command = async (args, cfg) => {
  const { values, positionals } = parseArgs({
    args,
    options: gateOptions,
    allowPositionals: true,
    strict: true,
  });
  const [build, pct] = positionals;
  const percentage = Number(pct);
  if (!build || pct === undefined || !(percentage >= 0 && percentage <= 100))
    throw new Error('usage: deploy ramp <build id> <percent 0-100> [--bundle F] [--corpus DIR] [--hours N]');
  requireVars(cfg, 'DATABASE_URL', 'SETTLE_SECRET_ROOT_KEY');
  await withTarget(cfg, async (t, pool) => {
    const gate = await gated(t, pool!, cfg, 'deploy.ramp', build, values);
    await setRamping(t, build, percentage);
    await audit(pool!, cfg, 'deploy.ramp', 'success', {
      build,
      percentage,
      corpus: gate.corpus,
      live: gate.live,
    });
    process.stdout.write(`deployment ${t.deploymentName}: ${build} ramping at ${percentage}%\n`);
  });
};

const promote: Command = async (args, cfg) => {
  const { values, positionals } = parseArgs({
    args,
    options: gateOptions,
    allowPositionals: true,
    strict: true,
  });
  const [build] = positionals;
  if (!build) throw new Error('usage: deploy promote <build id> [--bundle F] [--corpus DIR] [--hours N]');
  requireVars(cfg, 'DATABASE_URL', 'SETTLE_SECRET_ROOT_KEY');
  await withTarget(cfg, async (t, pool) => {
    const gate = await gated(t, pool!, cfg, 'deploy.promote', build, values);
    const before = buildOf((await describeDeployment(t)).routingConfig?.currentDeploymentVersion);
    await setCurrent(t, build);
    await audit(pool!, cfg, 'deploy.promote', 'success', {
      build,
      previous: before ?? null,
      corpus: gate.corpus,
      live: gate.live,
    });
    process.stdout.write(
      `deployment ${t.deploymentName}: ${build} is current (was ${before ?? 'unversioned'})\n`,
    );
  });
};

const rollback: Command = async (args, cfg) => {
  parseArgs({ args, options: {}, strict: true });
  requireVars(cfg, 'DATABASE_URL', 'SETTLE_SECRET_ROOT_KEY');
  await withTarget(cfg, async (t, pool) => {
    const [from, to] = await rollbackDeployment(t);
    await audit(pool!, cfg, 'deploy.rollback', 'success', { from: from ?? null, to });
    process.stdout.write(`deployment ${t.deploymentName}: rolled back from ${from ?? '?'} to ${to}\n`);
  });
};

export const deployCommands: Record<string, Command> = { status, ramp, promote, rollback };
