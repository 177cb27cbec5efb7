/**
 * The contract's error types (API.md "Errors") and the one AppError that carries them through the
 * layers. The API's error middleware is the only place that turns an AppError into HTTP.
 */
export const ERROR_TYPES = [
  'invalid_request',
  'authentication',
  'authorization',
  'card_error',
  'idempotency',
  'conflict',
  'not_found',
  'rate_limit',
  'provider_unavailable',
  'internal',
] as const;
export type ErrorType = (typeof ERROR_TYPES)[number];

/** Default HTTP status per type; individual errors may override (e.g. 422 for some invalid_request). */
export const STATUS_BY_TYPE: Readonly<Record<ErrorType, number>> = {
  invalid_request: 400,
  authentication: 401,
  authorization: 403,
  card_error: 402,
  idempotency: 409,
  conflict: 409,
  not_found: 404,
  rate_limit: 429,
  provider_unavailable: 503,
  internal: 500,
};

export class AppError extends Error {
  readonly type: ErrorType;
  readonly code: string;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    type: ErrorType,
    code: string,
    message: string,
    opts: { status?: number; details?: Record<string, unknown> } = {},
  ) {
    super(message);
    this.name = 'AppError';
    this.type = type;
    this.code = code;
    this.status = opts.status ?? STATUS_BY_TYPE[type];
    this.details = opts.details;
  }
}

export const invalidRequest = (code: string, message: string, details?: Record<string, unknown>) =>
  new AppError('invalid_request', code, message, details ? { details } : {});
export const notFound = (what: string) => new AppError('not_found', 'resource_missing', `No such ${what}`);
export const conflict = (message: string, details?: Record<string, unknown>) =>
  new AppError('conflict', 'invalid_state', message, details ? { details } : {});
/**
 * A dependency of ours (PostgreSQL, Temporal) is down: 503 so clients retry, but typed `internal`,
 * because `provider_unavailable` promises that no payment provider answered, which is not the case.
 */
export const serviceUnavailable = () =>
  new AppError(
    'internal',
    'service_unavailable',
    'A service the API depends on is unavailable; retry later',
    {
      status: 503,
    },
  );

/**
 * Failure types raised by activities as ApplicationFailure.type. Workflows branch on these strings
 * (class names do not survive bundling). Each provider's errors.ts maps SDK errors onto them.
 */
export const FAILURE_TYPES = {
  /** The provider could not be reached or answered 5xx/429: retry with backoff. */
  ProviderUnavailable: 'ProviderUnavailable',
  /** The request may or may not have taken effect (timeout after send): sync before resending. */
  ProviderOutcomeUnknown: 'ProviderOutcomeUnknown',
  /** The provider rejected the request as malformed: retrying cannot help. */
  ProviderInvalidRequest: 'ProviderInvalidRequest',
  /** The vault cannot serve the token (deleted, shredded, expired CVC is not this). */
  CardUnavailable: 'CardUnavailable',
  /** Our own input validation failed: retrying cannot help. */
  ValidationFailed: 'ValidationFailed',
  /**
   * The database refused the value itself (data exception, constraint, access rule): the same
   * statement fails the same way on every attempt, so it is never retried.
   */
  DataRejected: 'DataRejected',
  /** Anything not classified above (a bug, a dependency outage): retried with backoff. */
  InternalError: 'InternalError',
  /** A payment update the payment's status does not allow (capture after void...). */
  PaymentConflict: 'PaymentConflict',
  /** A payment update whose amount the payment cannot take (more than capturable...). */
  PaymentAmountRejected: 'PaymentAmountRejected',
  /** A bank-account update its status does not allow. */
  BankConflict: 'BankConflict',
  /** Micro-deposit amounts that do not match. */
  BankAmountsMismatch: 'BankAmountsMismatch',
  /** A dispute update its status or its evidence deadline does not allow (evidence after the due date...). */
  DisputeConflict: 'DisputeConflict',
} as const;
export type FailureType = (typeof FAILURE_TYPES)[keyof typeof FAILURE_TYPES];

/**
 * The one list of failure types retrying cannot fix: activities mark them non-retryable
 * (activities/errors.ts) and every retry policy names them (workflows/activity-options.ts).
 */
export const NON_RETRYABLE_FAILURES: readonly FailureType[] = [
  FAILURE_TYPES.ProviderInvalidRequest,
  FAILURE_TYPES.CardUnavailable,
  FAILURE_TYPES.ValidationFailed,
  FAILURE_TYPES.DataRejected,
];

/** How the API answers an update that failed with one failure type. */
export interface UpdateFailureAnswer {
  type: ErrorType;
  /** The default code; a workflow's rejection may carry a more precise one in its details. */
  code: string;
  status?: number;
  /** The message to show; absent: the workflow's own rejection message (written for clients). */
  message?: string;
}

const internalFailure: UpdateFailureAnswer = {
  type: 'internal',
  code: 'internal_error',
  message: 'The operation failed',
};
const providerOutage: UpdateFailureAnswer = {
  type: 'provider_unavailable',
  code: 'provider_unavailable',
  message: 'The provider did not answer in time; retry later',
};

/**
 * The API's answer per failure type of a failed update (capture, void, refund, micro-deposit checks).
 * Only a provider that did not answer is an outage (503, retry later); a value the database refused,
 * a missing card or a bug is ours, a 500 that must not send the client into a retry loop.
 */
export const UPDATE_FAILURE_ANSWERS: Readonly<Record<FailureType, UpdateFailureAnswer>> = {
  PaymentConflict: { type: 'conflict', code: 'invalid_state' },
  PaymentAmountRejected: { type: 'invalid_request', code: 'invalid_amount', status: 422 },
  BankConflict: { type: 'conflict', code: 'invalid_state' },
  BankAmountsMismatch: { type: 'invalid_request', code: 'verification_amounts_mismatch', status: 422 },
  DisputeConflict: { type: 'conflict', code: 'invalid_state' },
  ProviderInvalidRequest: {
    type: 'conflict',
    code: 'provider_rejected',
    message: 'The provider rejected the operation',
  },
  ProviderUnavailable: providerOutage,
  ProviderOutcomeUnknown: providerOutage,
  CardUnavailable: internalFailure,
  ValidationFailed: internalFailure,
  DataRejected: internalFailure,
  InternalError: internalFailure,
};
