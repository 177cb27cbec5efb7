/**
 * The activity boundary: every error leaving an activity becomes an ApplicationFailure with a
 * FailureType and a card-free message. Whether a type is retryable is decided by the one list in
 * domain/errors.ts (NON_RETRYABLE_FAILURES), which the retry policies name too.
 */
import { ApplicationFailure } from '@temporalio/common';
import { classifyDbError, sqlState } from '../db/errors';
import { FAILURE_TYPES, NON_RETRYABLE_FAILURES, type FailureType } from '../domain/errors';
import { ProviderError } from './providers/types';
import { scrubCardNumbers } from '../security/redaction';

const NON_RETRYABLE: ReadonlySet<FailureType> = new Set(NON_RETRYABLE_FAILURES);

export function toFailure(err: unknown): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof ProviderError) {
    return ApplicationFailure.create({
      type: err.failureType,
      message: scrubCardNumbers(`${err.provider}: ${err.message}`),
      nonRetryable: NON_RETRYABLE.has(err.failureType),
      details: [{ provider: err.provider, httpStatus: err.httpStatus ?? null }],
    });
  }
  // A value PostgreSQL refuses (NUL byte, untranslatable character, constraint) is refused on every
  // attempt: fail at once instead of retrying forever. The message names the SQLSTATE only, because
  // PostgreSQL's own message may quote the offending value.
  if (classifyDbError(err) === 'poison') {
    const state = sqlState(err) ?? 'unknown';
    return ApplicationFailure.create({
      type: FAILURE_TYPES.DataRejected,
      message: `the database rejected the data (SQLSTATE ${state})`,
      nonRetryable: true,
      details: [{ sqlState: state }],
    });
  }
  // Unknown errors are retryable; the message is scrubbed and the stack dropped (it may hold input).
  const message = err instanceof Error ? err.message : String(err);
  return ApplicationFailure.create({
    type: FAILURE_TYPES.InternalError,
    message: scrubCardNumbers(message),
    nonRetryable: false,
  });
}

export async function atBoundary<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toFailure(err);
  }
}

export function failure(type: FailureType, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: NON_RETRYABLE.has(type) });
}
