import type { Role } from '../db/clients-repo';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      requestId: string;
      auth?: { sub: string; role: Role; sid?: string | undefined };
      idempotencyKey?: string;
    }
  }
}
export {};
