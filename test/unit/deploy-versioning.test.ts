/**
 * The pure parts of Worker Versioning: the worker options (workers/versioning.ts), and the deploy
 * CLI's rollback target, gate query and refusal event (cli/deploy.ts). The rehearsal on a dev server
 * is test/integration/worker-versioning.test.ts.
 */
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { corpusCandidates, eventOf, previousCurrent, recentQuery } from '../../cli/deploy';
import { buildId, workerVersioning } from '../../workers/versioning';

const EventType = temporal.api.enums.v1.EventType;

describe('workerVersioning', () => {
  test('off: no deployment options (the worker polls unversioned)', () => {
    expect(workerVersioning({ SETTLE_WORKER_VERSIONING: false, SETTLE_DEPLOYMENT_NAME: 'settle' })).toEqual(
      {},
    );
  });

  test('on: <deployment>:<build id>, PINNED by default', () => {
    expect(
      workerVersioning({
        SETTLE_WORKER_VERSIONING: true,
        SETTLE_DEPLOYMENT_NAME: 'settle',
        SETTLE_BUILD_ID: 'b7',
      }),
    ).toEqual({
      workerDeploymentOptions: {
        version: { deploymentName: 'settle', buildId: 'b7' },
        useWorkerVersioning: true,
        defaultVersioningBehavior: 'PINNED',
      },
    });
  });

  test('build id: the configured one, else <package version>+<git sha> in a checkout', () => {
    expect(buildId('1.2.3+abc')).toBe('1.2.3+abc');
    expect(buildId()).toMatch(/^0\.1\.0(\+[0-9a-f]{7,})?$/);
  });
});

const ts = (ms: number) => ({ seconds: Math.floor(ms / 1000), nanos: 0 });
const summary = (build: string, lastCurrent?: number) => ({
  deploymentVersion: { deploymentName: 'settle', buildId: build },
  ...(lastCurrent === undefined ? {} : { lastCurrentTime: ts(lastCurrent) }),
});

test('rollback target: the version current most recently before the current one', () => {
  // As the server sends it (timestamps with Long seconds).
  const info = (builds: Array<[string, number?]>) =>
    temporal.api.deployment.v1.WorkerDeploymentInfo.fromObject({
      name: 'settle',
      routingConfig: { currentDeploymentVersion: { deploymentName: 'settle', buildId: 'v3' } },
      versionSummaries: builds.map(([build, at]) => summary(build, at)),
    });
  expect(previousCurrent(info([['v1', 1_000], ['v2', 2_000], ['v3', 3_000], ['v4']]))).toBe('v2');
  expect(
    previousCurrent(
      info([
        ['v2', 2_000_000_000_000],
        ['v1', 1_000_000_000_000],
        ['v3', 3_000],
      ]),
    ),
  ).toBe('v2');
  expect(previousCurrent(info([['v3', 3_000], ['v4']]))).toBeUndefined();
});

test("the gate's query: the deployment's queues, the last hours, and the running AUTO_UPGRADE loops", () => {
  expect(recentQuery(['settle-payments', 'settle-webhooks'], new Date('2026-01-02T03:04:05.000Z'))).toBe(
    "(TaskQueue = 'settle-payments' OR TaskQueue = 'settle-webhooks') AND " +
      "(StartTime >= '2026-01-02T03:04:05.000Z' OR CloseTime >= '2026-01-02T03:04:05.000Z' OR " +
      "(ExecutionStatus = 'Running' AND (WorkflowType = 'webhookEndpointWorkflow' OR " +
      "WorkflowType = 'webhookDispatcherWorkflow')))",
  );
});

describe('the refusal names the event', () => {
  const corpus = corpusCandidates(path.join(__dirname, '..', 'replay', 'histories'));
  const manual = corpus.find((c) => c.source === 'corpus authorize-manual.json')!.history;

  test('by id', () => {
    const e = manual.events![4]!;
    expect(eventOf(`[TMPRL1100] ... HistoryEvent(id: ${String(e.eventId)}, ...)`, manual)).toBe(
      `event ${String(e.eventId)} (${EventType[e.eventType!]})`,
    );
  });

  test('by patch marker', () => {
    expect(
      eventOf(
        'Nondeterminism error: Non-deprecated patch marker encountered for change one-step-writes, but there is no corresponding change command!',
        manual,
      ),
    ).toMatch(/^event \d+ \(EVENT_TYPE_MARKER_RECORDED, patch one-step-writes\)$/);
  });

  test('by the activity it scheduled', () => {
    const scheduled = manual.events!.find((e) => e.activityTaskScheduledEventAttributes)!;
    const name = scheduled.activityTaskScheduledEventAttributes!.activityType!.name!;
    expect(
      eventOf(
        `Activity type of scheduled event '${name}' does not match activity type of activity command 'x'`,
        manual,
      ),
    ).toBe(`event ${String(scheduled.eventId)} (EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, '${name}')`);
  });
});
