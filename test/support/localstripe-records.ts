/**
 * A localstripe proxy extension (test/support/localstripe.ts `extensions`) for reconciliation's
 * Stripe record source: `GET /v1/payment_intents` with a `created` range.
 *
 * What localstripe lacks: its PaymentIntent list accepts no filter at all (a `created[...]` parameter
 * is a 400 "Unexpected created"), lists in insertion order instead of Stripe's newest first, and its
 * Charge list knows only `created[gt]`. Stripe documents `created[gte|gt|lte|lt]` on the list and
 * newest-first order with `starting_after` paging. This handler fetches the whole (unfiltered) list
 * from localstripe once per request, then filters, orders and pages it as Stripe does. Requests
 * without `created` are forwarded untouched.
 *
 * Fees: localstripe creates a balance transaction per charge but always with `fee: 0`, where Stripe
 * states its processing fee. When the list expands `data.latest_charge.balance_transaction`, a
 * captured charge's balance transaction here carries STRIPE_TEST_FEE of the charge's captured amount
 * (`amount_captured`, or `amount` where localstripe lacks it: it models a partial capture as a full
 * capture plus a refund), Stripe's US card price (2.9% rounded half up, plus 30 minor units).
 */
import http from 'node:http';
import type { StripeProxyExtension } from './localstripe';

interface Listed {
  id: string;
  created: number;
  latest_charge?: unknown;
}

/** Stripe's US card price as the emulator states it: 2.9% rounded half up + 30 minor units. */
export const stripeTestFee = (captured: number): number => Math.floor((captured * 29 + 500) / 1000) + 30;

const BALANCE_EXPAND = 'data.latest_charge.balance_transaction';

/** The fee Stripe would state, on the expanded balance transaction of a captured charge. */
function withFee(pi: Listed): Listed {
  const ch = pi.latest_charge as
    | { captured?: boolean; amount?: number; amount_captured?: number; balance_transaction?: unknown }
    | null
    | undefined;
  const bt = ch?.balance_transaction;
  if (!ch?.captured || !bt || typeof bt !== 'object') return pi;
  const captured = ch.amount_captured ?? ch.amount ?? 0;
  return {
    ...pi,
    latest_charge: { ...ch, balance_transaction: { ...bt, fee: stripeTestFee(captured) } },
  };
}

function fetchAll(port: number, req: http.IncomingMessage, expand: string[]): Promise<Listed[]> {
  const qs = new URLSearchParams([
    ['limit', '1000000'],
    ...expand.map((e) => ['expand[]', e] as [string, string]),
  ]);
  return new Promise((resolve, reject) => {
    const up = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'GET',
        path: `/v1/payment_intents?${qs.toString()}`,
        headers: { authorization: req.headers.authorization ?? '' },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            resolve((JSON.parse(Buffer.concat(chunks).toString('utf8')) as { data: Listed[] }).data);
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        });
      },
    );
    up.on('error', reject);
    up.end();
  });
}

/** The extension for a proxy in front of localstripe on `targetPort`. */
export function localStripeRecords(targetPort: number): StripeProxyExtension {
  return (req, res, url) => {
    if (req.method !== 'GET' || url.pathname !== '/v1/payment_intents') return false;
    const p = url.searchParams;
    const bound = (op: string) => {
      const v = p.get(`created[${op}]`);
      return v === null ? undefined : Number(v);
    };
    const [gte, gt, lte, lt] = ['gte', 'gt', 'lte', 'lt'].map(bound);
    if ([gte, gt, lte, lt].every((b) => b === undefined)) return false;
    const limit = Math.min(Number(p.get('limit') ?? 10), 100);
    const after = p.get('starting_after');
    // stripe-node sends arrays indexed (`expand[0]=...`); other clients send `expand[]=...`.
    const expand = [...p.entries()].filter(([k]) => /^expand\[\d*\]$/.test(k)).map(([, v]) => v);
    req.resume();
    fetchAll(targetPort, req, expand)
      .then((all) => {
        const inRange = all
          .map((x, i) => ({ x, i }))
          .filter(
            ({ x }) =>
              (gte === undefined || x.created >= gte) &&
              (gt === undefined || x.created > gt) &&
              (lte === undefined || x.created <= lte) &&
              (lt === undefined || x.created < lt),
          )
          // Newest first; within one second, the later-created first (as Stripe).
          .sort((a, b) => b.x.created - a.x.created || b.i - a.i)
          .map(({ x }) => x);
        const start = after ? inRange.findIndex((x) => x.id === after) + 1 : 0;
        const page = inRange.slice(start, start + limit);
        const data = expand.includes(BALANCE_EXPAND) ? page.map(withFee) : page;
        const body = JSON.stringify({
          object: 'list',
          url: '/v1/payment_intents',
          data,
          has_more: inRange.length > start + limit,
        });
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
        res.end(body);
      })
      .catch(() => {
        res.writeHead(502, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: { type: 'api_error', message: 'records extension failed' } }));
      });
    return true;
  };
}
