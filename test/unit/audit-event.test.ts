/** The HTTP audit event masks card numbers in everything a request could have put in it. */
import type { Request, Response } from 'express';
import { httpAuditEvent } from '../../api/middleware/audit';
import { containsCardNumber } from '../../security/redaction';

const VISA = '4242424242424242'; // Stripe's documented Visa test number

const DISGUISES = [
  VISA,
  `aaaaaaaa${VISA}aaaaaaaa`,
  `cafebabe${VISA}cafebabecafe`,
  'deadbeef-4242-4242-4242-4242deadbeef',
  '4242----4242----4242----4242',
  '4242:4242:4242:4242',
];

function event(originalUrl: string, audit: Record<string, unknown>) {
  const req = { method: 'POST', originalUrl, requestId: 'req_AbCdEfGh12345678', ip: '127.0.0.1' };
  const res = { statusCode: 401, locals: { audit } };
  return httpAuditEvent(req as unknown as Request, res as unknown as Response);
}

function strings(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.flatMap(strings);
  if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => [k, ...strings(x)]);
  return [];
}

test.each(DISGUISES)('%j in a failed login username, actor, resource or path is masked', (d) => {
  const e = event(`/v1/auth/login/${encodeURIComponent(d)}`, {
    actor: `op ${d}`,
    resource: `operator:${d}`,
    details: { username: d, nested: [{ [d]: d }] },
  });
  // Each string on its own: masks side by side (BIN + last 4 twice) may read as a number together.
  const leaks = strings(e).filter((s) => containsCardNumber(s) || s.includes(VISA));
  expect(leaks).toEqual([]);
  expect(e.details).toMatchObject({ status: 401, requestId: 'req_AbCdEfGh12345678' });
  expect(String((e.details as { username: string }).username)).toContain('424242…4242');
});

test('clean values are kept as they are', () => {
  const e = event('/v1/auth/login', {
    action: 'auth.login',
    details: { username: 'ops-alice', locked: false },
  });
  expect(e).toMatchObject({
    actor: 'anonymous',
    action: 'auth.login',
    resource: '/v1/auth/login',
    outcome: 'failure',
    details: { username: 'ops-alice', locked: false },
  });
});
