/**
 * Named activity option sets: the ONLY place timeouts and retry policies are defined.
 * Failure types come from domain/errors.ts FAILURE_TYPES (strings survive bundling; classes don't).
 */
import type { ActivityOptions, LocalActivityOptions } from '@temporalio/workflow';
import { NON_RETRYABLE_FAILURES } from '../domain/errors';

/**
 * Provider calls heartbeat while in flight (activities/card-activities.ts). A card worker killed
 * mid-call is then detected within this window and the retry (sync first, then resend with the same
 * idempotency key) starts in seconds, while a slow but live provider call may still use the whole
 * startToCloseTimeout.
 */
const PROVIDER_HEARTBEAT = '5 seconds';

/**
 * Never retry what cannot succeed on retry: malformed requests, missing cards, our own validation,
 * values the database refuses (domain/errors.ts, the one list).
 */
const NON_RETRYABLE = [...NON_RETRYABLE_FAILURES];

/**
 * PostgreSQL projections and other local writes: retried until they land (DB restarts are
 * transient), except a value the database refuses (DataRejected), which no retry can land.
 */
export const projection: ActivityOptions = {
  startToCloseTimeout: '10 seconds',
  retry: {
    initialInterval: '500 ms',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    nonRetryableErrorTypes: NON_RETRYABLE,
  },
};

/**
 * One step's PostgreSQL writes (projection + refund + merchant events in one transaction) as a LOCAL
 * activity on the payment worker: a few milliseconds of local work that needs no task-queue round trip
 * of its own. Retried like `projection`; past `localRetryThreshold` the SDK waits between attempts
 * with a workflow timer instead of holding the workflow task open through a PostgreSQL outage.
 */
export const localWrite: LocalActivityOptions = {
  startToCloseTimeout: '10 seconds',
  localRetryThreshold: '10 seconds',
  retry: {
    initialInterval: '200 ms',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    nonRetryableErrorTypes: NON_RETRYABLE,
  },
};

/**
 * Authorization: the customer is waiting, but an outage is worth riding out for a while: the API
 * answers 503 after its own wait and the payment keeps trying durably for up to 10 minutes. Each
 * retry after an unknown outcome syncs with the provider first (activities/card-activities.ts).
 */
export const authorize: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  heartbeatTimeout: PROVIDER_HEARTBEAT,
  scheduleToCloseTimeout: '10 minutes',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: NON_RETRYABLE,
  },
};

/** Capture / void / refund requested by a client: bounded so the API call gets an answer. */
export const providerOperation: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  heartbeatTimeout: PROVIDER_HEARTBEAT,
  scheduleToCloseTimeout: '2 minutes',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '20 seconds',
    nonRetryableErrorTypes: NON_RETRYABLE,
  },
};

/**
 * Compensation (void on expiry, release of an ambiguous authorization): must eventually happen, so
 * it retries without a deadline, backing off to 10 minutes between attempts.
 */
export const compensation: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  heartbeatTimeout: PROVIDER_HEARTBEAT,
  retry: {
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '10 minutes',
    nonRetryableErrorTypes: NON_RETRYABLE,
  },
};

/**
 * Instant bank verification: the API waits for it, so it is short. An outage or a hang falls back to
 * micro-deposits (the workflow catches the failure) instead of retrying for long.
 */
export const bankInstant: ActivityOptions = {
  startToCloseTimeout: '5 seconds',
  scheduleToCloseTimeout: '12 seconds',
  retry: { initialInterval: '1 second', maximumAttempts: 2, nonRetryableErrorTypes: NON_RETRYABLE },
};

/**
 * Sending micro-deposits: must eventually happen (the key makes resends harmless and the activity
 * syncs before resending), so it retries without a deadline like a compensation.
 */
export const bankMicrodeposits: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '10 minutes',
    nonRetryableErrorTypes: NON_RETRYABLE,
  },
};

/**
 * Routing on the card-data worker, for payments started before the API decided the route
 * (workflows/payment-legacy.ts). Cheap and local; if it keeps failing the workflow falls back to the
 * payment's preferred provider alone.
 */
export const routing: ActivityOptions = {
  startToCloseTimeout: '10 seconds',
  scheduleToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 ms', backoffCoefficient: 2, maximumInterval: '5 seconds' },
};

/**
 * Authorization at a provider that has a fallback after it (failover): a few quick attempts
 * (each retry syncs first), then the workflow moves on to the next provider instead of riding out
 * the outage. The LAST provider of the route uses `authorize` (durable, 10 minutes).
 */
export const authorizeFailover: ActivityOptions = {
  startToCloseTimeout: '10 seconds',
  heartbeatTimeout: PROVIDER_HEARTBEAT,
  scheduleToCloseTimeout: '20 seconds',
  retry: {
    initialInterval: '500 ms',
    backoffCoefficient: 2,
    maximumInterval: '4 seconds',
    maximumAttempts: 3,
    nonRetryableErrorTypes: NON_RETRYABLE,
  },
};

/** Merchant webhooks: moving outbox events to deliveries (local DB work) retries until it lands. */
export const webhookDispatch: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
};

/**
 * One merchant webhook delivery attempt. The HTTP outcome (2xx or not) is a RESULT: the delivery
 * workflow owns the >= 24 h backoff schedule. Only our own failures (DB) are retried here, briefly.
 */
export const webhookAttempt: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '10 seconds',
    maximumAttempts: 5,
  },
};

/**
 * Reconciliation (workflows/reconciliation.ts): one page of provider records or of the ledger, read,
 * matched and stored. Reads and keyed writes, so retrying is safe; bounded, so a provider down for
 * long fails the run (status `failed`, visible) instead of holding it open for days.
 */
export const reconciliationPage: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  scheduleToCloseTimeout: '30 minutes',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: NON_RETRYABLE,
  },
};
