/**
 * Is this error a dependency being down (PostgreSQL or Temporal), as opposed to a bug or bad input?
 * The error middleware answers those with 503 `internal` / `service_unavailable` (retry later), never
 * 500, and never `provider_unavailable`, which is reserved for payment providers.
 */
import { isGrpcServiceError } from '@temporalio/client';
import { classifyDbError } from '../db/errors';

/** gRPC status codes (grpc/doc/statuscodes.md): the server is unreachable or did not answer in time. */
const UNAVAILABLE_CODES: ReadonlySet<number> = new Set([14 /* UNAVAILABLE */, 4 /* DEADLINE_EXCEEDED */]);

export function isDependencyUnavailable(err: unknown): boolean {
  // Temporal's client wraps the gRPC error (ServiceError.cause); walk a few causes deep.
  let e: unknown = err;
  for (let depth = 0; depth < 5 && e; depth++) {
    if (classifyDbError(e) === 'unavailable') return true;
    if (isGrpcServiceError(e) && UNAVAILABLE_CODES.has(e.code)) return true;
    e = e instanceof Error ? e.cause : undefined;
  }
  return false;
}
