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
  /** Requests per minute per authenticated client on /v1. */
  clientPerMinute: number;
}

export const DEFAULT_RATE_LIMITS: RateLimitConfig = { authPerMinute: 20, clientPerMinute: 600 };

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
    windowMs: 60_000,
    limit: cfg.clientPerMinute,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    keyGenerator: (req) => `sub:${req.auth?.sub ?? ipKeyGenerator(req.ip ?? 'unknown', 56)}`,
    handler: exceeded,
  });
}
