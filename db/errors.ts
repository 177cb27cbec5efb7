/**
 * PostgreSQL errors by what a retry can do about them (SQLSTATE classes, PostgreSQL docs Appendix A).
 *   poison       the statement itself is wrong for this value: data exception (22, e.g. 22P05
 *                untranslatable character, 22021 NUL / invalid byte sequence), integrity constraint
 *                (23), syntax or access rule (42). The same statement fails the same way every time.
 *   unavailable  the server cannot be reached or is going away: connection exception (08),
 *                insufficient resources (53), operator intervention (57: admin shutdown, cannot
 *                connect now), and the driver's socket errors. Retrying later succeeds.
 * Anything else is left to the caller (unknown: retry with backoff, answer 500).
 */
export type DbErrorKind = 'poison' | 'unavailable';

const POISON_CLASSES = new Set(['22', '23', '42']);
const UNAVAILABLE_CLASSES = new Set(['08', '53', '57']);
/** Socket-level errors node-postgres passes through from the OS. */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
/** node-postgres raises these without a code when a connection drops or cannot be made. */
const DRIVER_MESSAGES = [
  /^Connection terminated/,
  /^timeout exceeded when trying to connect/,
  /^Client has encountered a connection error and is not queryable/,
  /^Client was closed and is not queryable/,
];

export function classifyDbError(err: unknown): DbErrorKind | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (SOCKET_CODES.has(code)) return 'unavailable';
    if (/^[0-9A-Z]{5}$/.test(code)) {
      const cls = code.slice(0, 2);
      if (POISON_CLASSES.has(cls)) return 'poison';
      if (UNAVAILABLE_CLASSES.has(cls)) return 'unavailable';
      return undefined;
    }
  }
  // pg-pool wraps connect failures in an AggregateError when every address family was refused.
  const nested = (err as { errors?: unknown }).errors;
  if (Array.isArray(nested) && nested.some((e) => classifyDbError(e) === 'unavailable')) return 'unavailable';
  const message = (err as { message?: unknown }).message;
  if (typeof message === 'string' && DRIVER_MESSAGES.some((re) => re.test(message))) return 'unavailable';
  return undefined;
}

/** The SQLSTATE of a database error, for logs and failure messages (never the offending value). */
export function sqlState(err: unknown): string | undefined {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}
