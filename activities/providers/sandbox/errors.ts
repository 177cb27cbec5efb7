/**
 * Sandbox error classification. The sandbox raises ProviderError directly for its injected faults;
 * anything else thrown inside it (a PostgreSQL hiccup) is an outage of the provider: retryable.
 */
import { ProviderError } from '../types';

export function classifySandboxError(err: unknown): ProviderError {
  if (err instanceof ProviderError) return err;
  // A database error inside the sandbox is the sandbox being unavailable, never the caller's fault.
  return ProviderError.unavailable('sandbox', 'sandbox provider storage unavailable');
}
