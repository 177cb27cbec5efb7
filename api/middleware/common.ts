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
    } else if (isBodyParserError(err)) {
      e =
        err.type === 'entity.too.large'
          ? new AppError('invalid_request', 'body_too_large', 'The request body is too large', {
              status: 413,
            })
          : new AppError('invalid_request', 'invalid_json', 'The request body is not valid JSON');
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

function isBodyParserError(err: unknown): err is { type: string; status: number } {
  return (
    typeof err === 'object' &&
    err !== null &&
    'type' in err &&
    typeof err.type === 'string' &&
    'status' in err
  );
}
