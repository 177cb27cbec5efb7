/**
 * Rate limits (express-rate-limit, in-memory store per API process): a tight one on the auth routes
 * keyed by source address (password and TOTP guessing), and one per authenticated client on /v1.
 * Exceeding either is 429 `rate_limit` in the contract's error shape.
 */
import type { NextFunction, Request, Response } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { AppError } from '../../domain/errors';

export interface RateLimitConfig {
  /** Requests per minute per source address on /v1/auth. */
  authPerMinute: number;
  /** Requests per authenticated client on /v1 within each `clientWindowMs` window. */
  clientLimit: number;
  clientWindowMs: number;
}

/**
 * Auth stays tight: it only guards password, secret and TOTP guessing. A service client gets what
 * Stripe gives an account (100 read/write operations per second): one 1-second window, so a client
 * is throttled only by a real burst, never by a steady load the engine serves. A per-minute limit on
 * top would be 6000 (60 x 100) and change nothing; the window starts at the client's first request,
 * so at a window edge a client may briefly reach twice the rate, which the engine absorbs.
 */
export const DEFAULT_RATE_LIMITS: RateLimitConfig = {
  authPerMinute: 20,
  clientLimit: 100,
  clientWindowMs: 1_000,
};

function exceeded(_req: Request, _res: Response, next: NextFunction): void {
  next(new AppError('rate_limit', 'rate_limited', 'Too many requests; retry later'));
}

export function authRateLimit(cfg: RateLimitConfig) {
  return rateLimit({
    windowMs: 60_000,
    limit: cfg.authPerMinute,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    // IPv6 clients are grouped by /56 so one host cannot rotate addresses to escape the limit.
    keyGenerator: (req) => ipKeyGenerator(req.ip ?? 'unknown', 56),
    handler: exceeded,
  });
}

/** Mount after authentication: keyed by the token's subject, so one client cannot starve others. */
export function clientRateLimit(cfg: RateLimitConfig) {
  return rateLimit({
    windowMs: cfg.clientWindowMs,
    limit: cfg.clientLimit,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    keyGenerator: (req) => `sub:${req.auth?.sub ?? ipKeyGenerator(req.ip ?? 'unknown', 56)}`,
    handler: exceeded,
  });
}
