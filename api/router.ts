/**
 * Every Express router of the API comes from here: case-sensitive and strict, like the app itself,
 * so `/V1/VAULT/...` or `/v1/payments/x/CAPTURE` never reaches a handler (audit and access decisions
 * are keyed on the matched route), and every `:id` / `:token` path parameter follows the one id rule.
 */
import { Router, type NextFunction, type Request, type Response } from 'express';
import { invalidRequest } from '../domain/errors';
import { fieldPath, isId } from './validation';

export const ROUTER_OPTIONS = { caseSensitive: true, strict: true } as const;

function idParam(_req: Request, _res: Response, next: NextFunction, value: unknown, name: string): void {
  if (typeof value === 'string' && isId(value)) return next();
  const field = fieldPath(['path', name]);
  next(invalidRequest('invalid_field', `Invalid value for ${field}: must be an id`, { field }));
}

export function createRouter(): Router {
  const r = Router(ROUTER_OPTIONS);
  r.param('id', idParam);
  r.param('token', idParam);
  return r;
}
