/**
 * Idempotency-Key handling for every mutating POST (API.md Conventions), scoped to the client.
 * The response (status + exact body bytes) is stored BEFORE it is sent, so a client that retries
 * the moment it gets an answer is replayed, never re-executed. Every 5xx (a 503 `provider_unavailable`
 * included) releases the key: nothing final was promised, and every operation behind it is itself
 * idempotent (deterministic workflow and update ids), so the retry re-attaches to it.
 */
import { createHmac, hkdfSync } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { AppError } from '../../domain/errors';
import type { IdempotencyRepo } from '../../db/idempotency-repo';
import { open, seal } from '../../security/envelope';
import { retryWithBackoff } from '../../domain/backoff';
import { idempotencyConflicts, idempotencyReplays } from '../../observability/metrics';

const KEY_RE = /^[\x20-\x7e]{1,255}$/;

/** Canonical JSON (sorted keys): equal for bodies that differ only in key order or whitespace. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/**
 * Keyed (HMAC) so the stored hash of a body holding a card or account number cannot be brute-forced
 * back to the number from BIN + last 4 or a short account number.
 */
export function requestHash(hashKey: Buffer, req: Request): string {
  return createHmac('sha256', hashKey)
    .update(`${req.method} ${req.baseUrl}${req.path}\n${canonical(req.body)}`)
    .digest('hex');
}

/**
 * Stored responses can carry one-time secrets (a webhook endpoint's `secret`): with a key they are
 * sealed at rest (AES-256-GCM, bound to client + key) and opened only to replay them.
 */
const SEALED = 'sealed:v1:';
const subKey = (secret: Buffer, label: string) =>
  Buffer.from(hkdfSync('sha256', secret, 'settle', label, 32));

/**
 * `secret`: a 32-byte server key; the request-hash, key-MAC and response-sealing keys are derived
 * from it. Only an HMAC of the Idempotency-Key is stored: clients choose keys freely (one can hold a
 * card number), and an exact-match lookup needs nothing more than a keyed digest.
 */
export function idempotency(repo: IdempotencyRepo, secret: Buffer) {
  const hashKey = subKey(secret, 'settle:idempotency-request-hash:v1');
  const keyMacKey = subKey(secret, 'settle:idempotency-key-mac:v1');
  const storedKey = (key: string) => createHmac('sha256', keyMacKey).update(key, 'utf8').digest('hex');
  const opts = { sealKey: subKey(secret, 'settle:idempotency-responses:v1') };
  const aad = (clientId: string, key: string) => `settle:idempotency:${clientId}:${key}`;
  const toStore = (clientId: string, key: string, text: string) =>
    SEALED + seal(opts.sealKey, Buffer.from(text, 'utf8'), aad(clientId, key)).toString('base64');
  const fromStore = (clientId: string, key: string, stored: string) => {
    if (!stored.startsWith(SEALED)) return stored;
    return open(
      opts.sealKey,
      Buffer.from(stored.slice(SEALED.length), 'base64'),
      aad(clientId, key),
    ).toString('utf8');
  };
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    if (req.method !== 'POST') return next();
    const key = req.get('Idempotency-Key');
    if (key === undefined) {
      throw new AppError(
        'invalid_request',
        'idempotency_key_required',
        'The Idempotency-Key header is required for this request',
      );
    }
    if (!KEY_RE.test(key)) {
      throw new AppError(
        'invalid_request',
        'idempotency_key_invalid',
        'Idempotency-Key must be 1-255 printable ASCII characters',
      );
    }
    const clientId = req.auth?.sub;
    if (!clientId) throw new AppError('authentication', 'unauthenticated', 'Authentication required');

    const keyMac = storedKey(key);
    const begun = await repo.begin(clientId, keyMac, requestHash(hashKey, req));
    if (begun.kind === 'mismatch') {
      idempotencyConflicts.inc({ reason: 'mismatch' });
      throw new AppError(
        'idempotency',
        'idempotency_key_reused',
        'This Idempotency-Key was used with a different request',
        { status: 422 },
      );
    }
    if (begun.kind === 'in_flight') {
      idempotencyConflicts.inc({ reason: 'in_flight' });
      throw new AppError(
        'idempotency',
        'idempotency_key_in_use',
        'A request with this Idempotency-Key is still in progress',
        { status: 409 },
      );
    }
    if (begun.kind === 'replay') {
      idempotencyReplays.inc();
      res
        .status(begun.status)
        .set('Idempotent-Replayed', 'true')
        .type('application/json')
        .end(fromStore(clientId, keyMac, begun.body));
      return;
    }

    req.idempotencyKey = key;
    const send = res.send.bind(res);
    let stored = false;
    res.send = ((body: unknown) => {
      if (stored) return send(body);
      stored = true;
      const text =
        typeof body === 'string'
          ? body
          : Buffer.isBuffer(body)
            ? body.toString('utf8')
            : JSON.stringify(body ?? '');
      // A 5xx is never the key's answer: a bug or PostgreSQL / Temporal down promised nothing, and a
      // 503 `provider_unavailable` means the outcome is not known yet. Releasing the key lets the
      // same-key retry run again and re-attach to the same workflow and update (ids derived from
      // client + key + body), answering the outcome once known, which is then kept and replayed.
      // A release that fails because the database is down is retried in the background, so the key
      // does not stay in flight until its lease ends.
      const done =
        res.statusCode < 500
          ? repo.complete(clientId, keyMac, res.statusCode, toStore(clientId, keyMac, text))
          : repo.release(clientId, keyMac).catch(() => {
              void retryWithBackoff(() => repo.release(clientId, keyMac), { attempts: 8 });
            });
      done.then(
        () => send(body),
        () => send(body),
      );
      return res;
    }) as Response['send'];
    next();
  };
}
