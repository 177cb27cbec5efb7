/**
 * Worker Versioning (Temporal Worker Deployments): a workflow worker runs as version
 * `<deployment>:<build id>` when SETTLE_WORKER_VERSIONING is on. Off (the default: dev, tests, npm
 * start), workers poll unversioned, as before. The routing between versions (ramp, promote, roll
 * back) is the operator's, through `npm run cli -- deploy ...` (cli/deploy.ts, docs/deploy.md).
 *
 * Only the workers that run workflow code are versioned (payment worker, webhook worker): a build's
 * workflow code is what must replay its histories. The card-data worker runs activities only, on its
 * own queue, and stays unversioned: activity signatures change by adding optional fields only.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { WorkerDeploymentOptions } from '@temporalio/worker';

export interface VersioningConfig {
  SETTLE_WORKER_VERSIONING: boolean;
  SETTLE_DEPLOYMENT_NAME: string;
  SETTLE_BUILD_ID?: string | undefined;
}

/** package.json's version: next to the sources (`..`) or, from dist/workers, two levels up. */
function packageVersion(): string {
  for (const rel of ['..', path.join('..', '..')]) {
    const file = path.join(__dirname, rel, 'package.json');
    if (!fs.existsSync(file)) continue;
    const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === 'settle' && pkg.version) return pkg.version;
  }
  return '0.0.0';
}

function gitShortSha(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], {
      cwd: path.join(__dirname, '..'),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined; // not a checkout (an image), or no git: the version alone
  }
}

/**
 * The build id: SETTLE_BUILD_ID when set (the image sets it at build time, from the same two
 * parts), else `<package version>+<git short sha>` in a checkout, else the package version.
 */
export function buildId(configured?: string): string {
  if (configured) return configured;
  const version = packageVersion();
  const sha = gitShortSha();
  return sha ? `${version}+${sha}` : version;
}

/**
 * Worker.create's `workerDeploymentOptions`, or nothing when versioning is off. The behaviour is the
 * worker's: the payment worker's workflows are PINNED, the webhook worker's loops AUTO_UPGRADE (the
 * reasoning is next to each workflow). It is not declared in workflow code with setWorkflowOptions:
 * an unversioned worker (dev, tests, a deployment with versioning off) fails every workflow task
 * whose workflow declares one.
 */
export function workerVersioning(
  cfg: VersioningConfig,
  behavior: 'PINNED' | 'AUTO_UPGRADE' = 'PINNED',
): { workerDeploymentOptions: WorkerDeploymentOptions } | Record<string, never> {
  if (!cfg.SETTLE_WORKER_VERSIONING) return {};
  return {
    workerDeploymentOptions: {
      version: { deploymentName: cfg.SETTLE_DEPLOYMENT_NAME, buildId: buildId(cfg.SETTLE_BUILD_ID) },
      useWorkerVersioning: true,
      defaultVersioningBehavior: behavior,
    },
  };
}
