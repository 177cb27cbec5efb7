/** Request id, bearer authentication, 404 and the ONE error middleware (ErrorType -> HTTP). */
import type { NextFunction, Request, Response } from 'express';
import { AppError, serviceUnavailable } from '../../domain/errors';
import { isDependencyUnavailable } from '../unavailable';
import { newId } from '../../domain/ids';
import type { Logger } from '../../security/logger';
import type { TokenService } from '../../security/tokens';

/**
 * Base62 like every other id: a hex request id can pass for a card number once in a few thousand
 * (its digit runs pass Luhn by chance) and be masked in logs and the audit trail.
 */
export const newRequestId = () => newId('req');

export function requestId(req: Request, res: Response, next: NextFunction): void {
  req.requestId = newRequestId();
  res.set('Request-Id', req.requestId);
  next();
}

/** Server-side operator sessions: idle timeout and revocation (db/operators-repo touchSession). */
export interface SessionCheck {
  touch(sid: string, operatorId: string): Promise<boolean>;
}

/** Service clients: a disabled client's tokens stop working at once, not when they expire. */
export interface ClientCheck {
  isActiveService(clientId: string): Promise<boolean>;
}

export function authenticate(tokens: TokenService, sessions: SessionCheck, clients: ClientCheck) {
  return async (req: Request, _res: Response, next: NextFunction): Promise<void> => {
    const header = req.get('Authorization');
    const m = header ? /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(header) : null;
    if (!m?.[1]) throw new AppError('authentication', 'unauthenticated', 'A Bearer access token is required');
    const claims = await tokens.verify(m[1]);
    if (claims.role === 'service') {
      if (!(await clients.isActiveService(claims.sub))) {
        throw new AppError('authentication', 'invalid_token', 'The access token is invalid or expired');
      }
    } else {
      // Operator tokens are only as good as their server-side session: a token without one, or
      // whose session was logged out, revoked or idle for more than 15 minutes, is refused.
      if (!claims.sid || !(await sessions.touch(claims.sid, claims.sub))) {
        throw new AppError('authentication', 'session_expired', 'The session has ended; log in again');
      }
    }
    req.auth = { sub: claims.sub, role: claims.role, sid: claims.sid };
    next();
  };
}

export function notFoundHandler(_req: Request, _res: Response, next: NextFunction): void {
  next(new AppError('not_found', 'route_not_found', 'No such route'));
}

export function errorHandler(log: Logger) {
  // Express recognises error middleware by arity: keep four parameters.
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    let e: AppError;
    if (err instanceof AppError) e = err;
    else if (err instanceof URIError) {
      // A percent-escape that is not UTF-8 (e.g. in a path parameter Express decodes lazily).
      e = new AppError(
        'invalid_request',
        'invalid_encoding',
        'The request URL is not valid percent-encoded UTF-8',
      );
    } else if (isClientHttpError(err)) {
      e = bodyParserError(err);
    } else if (isDependencyUnavailable(err)) {
      // PostgreSQL or Temporal is down: clients should retry, this is not a bug of the request.
      e = serviceUnavailable();
    } else {
      log.error({ err, requestId: req.requestId }, 'unhandled error');
      e = new AppError('internal', 'internal_error', 'An internal error occurred');
    }
    if (e.status >= 500 && e.type !== 'provider_unavailable')
      log.warn({ code: e.code, requestId: req.requestId }, 'request failed');
    const body: { error: Record<string, unknown> } = {
      error: { type: e.type, code: e.code, message: e.message, requestId: req.requestId },
    };
    if (e.details) body.error.details = e.details;
    res.status(e.status).json(body);
  };
}

/**
 * An http-errors error the parser marked as the client's fault (`expose` and a 4xx status). body-parser
 * sets `type` on most, but not on every one: a zlib failure on a body that is not really gzip, br
 * or deflate has only `status` and `expose`. Any of them is the request's problem, never a 500.
 */
function isClientHttpError(err: unknown): err is { status: number; expose: true; type?: unknown } {
  if (typeof err !== 'object' || err === null) return false;
  const { status, expose } = err as { status?: unknown; expose?: unknown };
  return expose === true && typeof status === 'number' && status >= 400 && status < 500;
}

/** body-parser `type` -> [status, code, message]; none of the messages echo client input. */
const BODY_ERRORS: Readonly<Record<string, [number, string, string]>> = {
  'entity.too.large': [413, 'body_too_large', 'The request body is too large'],
  'encoding.unsupported': [415, 'unsupported_encoding', 'The Content-Encoding is not supported'],
  'charset.unsupported': [415, 'unsupported_charset', 'The request body must be UTF-8'],
  'entity.parse.failed': [400, 'invalid_json', 'The request body is not valid JSON'],
};

function bodyParserError(err: { status: number; type?: unknown }): AppError {
  const known = typeof err.type === 'string' ? BODY_ERRORS[err.type] : undefined;
  if (known) return new AppError('invalid_request', known[1], known[2], { status: known[0] });
  // No type: the body could not be decoded as its Content-Encoding says (e.g. plain JSON sent as gzip).
  if (err.type === undefined && err.status === 400)
    return new AppError(
      'invalid_request',
      'invalid_body_encoding',
      'The request body does not match its Content-Encoding',
    );
  return new AppError('invalid_request', 'invalid_body', 'The request body could not be read', {
    status: err.status,
  });
}
