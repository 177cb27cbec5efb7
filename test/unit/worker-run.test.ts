/**
 * workers/run.ts: a worker that fails (PostgreSQL or Temporal briefly away) is replaced in-process
 * after a backoff instead of taking the process down, and a stop signal during that backoff ends the
 * process cleanly without building another worker.
 */
import type { Worker } from '@temporalio/worker';
import { firstThenBuild, runUntilSignal, type LifecycleAudit } from '../../workers/run';

const failing = () => ({ run: () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5432')) });
const asWorker = (w: object) => w as unknown as Worker;

function lifecycle(onError: (err: unknown, what: string) => void) {
  const actions: string[] = [];
  const audit: LifecycleAudit = {
    append: (e) => {
      actions.push(e.action);
      return Promise.resolve();
    },
  };
  return { actions, opts: { audit, name: 'test-worker', onError } };
}

test('a failed worker is replaced after a backoff; the process keeps running until the new one stops', async () => {
  const healthy = { run: jest.fn(() => Promise.resolve()) };
  const build = jest.fn(() => Promise.resolve(asWorker(healthy)));
  const cleanup = jest.fn(() => Promise.resolve());
  const reported: string[] = [];
  const { actions, opts } = lifecycle((_err, what) => reported.push(what));

  await runUntilSignal(firstThenBuild(asWorker(failing()), build), cleanup, opts);

  expect({
    builtAfterTheFailure: build.mock.calls.length,
    replacementRan: healthy.run.mock.calls.length,
    reported,
    cleanups: cleanup.mock.calls.length,
    audited: actions,
  }).toEqual({
    builtAfterTheFailure: 1,
    replacementRan: 1,
    reported: ['worker failed; replacing it'],
    cleanups: 1,
    audited: ['process.start', 'process.stop'],
  });
});

test('a stop signal during the backoff ends the process without building another worker', async () => {
  const build = jest.fn(() => Promise.resolve(asWorker(failing())));
  const cleanup = jest.fn(() => Promise.resolve());
  // The signal arrives while the failed worker is being reported, i.e. during the backoff.
  const { opts } = lifecycle((_err, what) => {
    if (what === 'worker failed; replacing it') setImmediate(() => process.emit('SIGTERM'));
  });

  await expect(runUntilSignal(build, cleanup, opts)).resolves.toBeUndefined();
  expect(build).toHaveBeenCalledTimes(1);
  expect(cleanup).toHaveBeenCalledTimes(1);
});
