/**
 * The API's error mapping, through the payments service and the one error middleware: an activity
 * failure that is not a provider's (e.g. DataRejected, a value the database refused) is 500
 * `internal`, never a 503 "provider did not answer"; a provider outage stays 503
 * `provider_unavailable`; PostgreSQL or Temporal being down is 503 `internal` / `service_unavailable`
 * (retry later); anything unknown is 500 `internal`.
 */

import express, { type NextFunction, type Request, type Response } from 'express';
import request from 'supertest';
import type { Client } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, RetryState } from '@temporalio/common';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { PaymentsService } from '../../api/payments-service';
import { paymentsServiceOver } from '../support/payments-service-fakes';
import { errorHandler, requestId } from '../../api/middleware/common';
import { createLogger } from '../../security/logger';

const silent = createLogger({ level: 'silent' });

function activityFailed(type: string): WorkflowUpdateFailedError {
  const app = ApplicationFailure.create({ type, message: 'failed', nonRetryable: true });
  return new WorkflowUpdateFailedError(
    'Workflow Update failed',
    new ActivityFailure('activity failed', 'projectPayment', '1', RetryState.NON_RETRYABLE_FAILURE, 'w', app),
  );
}

/** A service whose Temporal client fails every call with `err`. */
function serviceFailingWith(err: unknown): PaymentsService {
  const fail = () => Promise.reject(err instanceof Error ? err : new Error(String(err)));
  const client = {
    withAbortSignal: (_s: AbortSignal, fn: () => Promise<unknown>) => fn(),
    workflow: { startUpdateWithStart: fail, getHandle: () => ({ executeUpdate: fail }) },
  } as unknown as Client;
  return paymentsServiceOver(client);
}

/** A minimal app: the route calls the service, the ONE error middleware answers. */
function appFor(svc: PaymentsService, op: 'capture' | 'create') {
  const app = express();
  app.use(requestId);
  app.post('/op', async (_req: Request, res: Response, next: NextFunction) => {
    try {
      const caller = { sub: 'cli_x', role: 'service' };
      const out =
        op === 'capture'
          ? await svc.capture(caller, 'pay_x', 'k', {})
          : await svc.create(caller, 'k', {
              amount: 100,
              currency: 'USD',
              paymentMethod: { token: 'tok_x' },
              capture: 'manual',
            });
      res.json(out);
    } catch (err) {
      next(err);
    }
  });
  app.use(errorHandler(silent));
  return app;
}

const answer = async (svc: PaymentsService, op: 'capture' | 'create') => {
  const r = await request(appFor(svc, op)).post('/op');
  return [r.status, r.body?.error?.type, r.body?.error?.code];
};

const grpcUnavailable = () =>
  Object.assign(new Error('14 UNAVAILABLE: No connection established'), {
    code: 14,
    details: '',
    metadata: {},
  });
const pgDown = () =>
  Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

test('an activity failure that is not a provider outage is 500 internal, not 503 provider_unavailable', async () => {
  expect(await answer(serviceFailingWith(activityFailed('DataRejected')), 'capture')).toEqual([
    500,
    'internal',
    'internal_error',
  ]);
});

test('a provider outage is still 503 provider_unavailable', async () => {
  expect(await answer(serviceFailingWith(activityFailed('ProviderUnavailable')), 'capture')).toEqual([
    503,
    'provider_unavailable',
    'provider_unavailable',
  ]);
});

test('Temporal or PostgreSQL down is 503 internal service_unavailable; an unknown error is 500', async () => {
  expect(await answer(serviceFailingWith(grpcUnavailable()), 'create')).toEqual([
    503,
    'internal',
    'service_unavailable',
  ]);
  expect(await answer(serviceFailingWith(grpcUnavailable()), 'capture')).toEqual([
    503,
    'internal',
    'service_unavailable',
  ]);
  expect(await answer(serviceFailingWith(pgDown()), 'capture')).toEqual([
    503,
    'internal',
    'service_unavailable',
  ]);
  expect(await answer(serviceFailingWith(new Error('boom')), 'create')).toEqual([
    500,
    'internal',
    'internal_error',
  ]);
});
