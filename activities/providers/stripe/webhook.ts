/**
 * Stripe webhook verification and normalization.
 *
 * `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "t.rawBody")>[,v1=...]` is checked over the
 * RAW body bytes (a re-serialized JSON body would not match) with the SDK's own verifier
 * (`webhooks.constructEvent`), once per configured secret: during a secret rotation both the old and
 * the new endpoint secret are configured and an event signed with either is accepted.
 *
 * The SDK only rejects timestamps older than the tolerance; we also reject timestamps more than the
 * tolerance in the future, so a captured header cannot be pre-dated for later replay.
 */
import type Stripe from 'stripe';
import { ProviderError } from '../types';
import type { ProviderEvent } from '../../../domain/providers';
import { stripeEventKind } from './codes';
import { disputeFactsFromStripe } from './dispute-transformers';

export const STRIPE_WEBHOOK_TOLERANCE_SECONDS = 300;

type WebhooksApi = Stripe['webhooks'];

function headerValue(headers: Record<string, string | undefined>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === wanted) return v;
  return undefined;
}

/**
 * The timestamp the SDK's verifier will check the signature against: it splits the header exactly
 * like this and keeps the LAST `t=`. Reading any other one would let a decoy `t=` pass our future
 * check while the signed, pre-dated one is what the SDK verifies. Non-numeric: malformed.
 */
function timestampOf(header: string): number | undefined {
  let t: string | undefined;
  for (const part of header.split(',')) {
    const kv = part.split('=');
    if (kv[0] === 't') t = kv[1];
  }
  return t !== undefined && /^\d{1,12}$/.test(t) ? Number(t) : undefined;
}

export function verifyStripeEvent(
  webhooks: WebhooksApi,
  rawBody: Buffer,
  headers: Record<string, string | undefined>,
  secrets: readonly string[],
  nowMs: number = Date.now(),
): Stripe.Event {
  const header = headerValue(headers, 'stripe-signature');
  if (!header) throw ProviderError.invalid('stripe', 'Missing Stripe-Signature header', 400);
  if (secrets.length === 0) throw ProviderError.invalid('stripe', 'No Stripe webhook secret configured', 400);

  const t = timestampOf(header);
  if (t === undefined) throw ProviderError.invalid('stripe', 'Malformed Stripe-Signature header', 400);
  if (t - Math.floor(nowMs / 1000) > STRIPE_WEBHOOK_TOLERANCE_SECONDS) {
    throw ProviderError.invalid('stripe', 'Stripe-Signature timestamp is in the future', 400);
  }

  let stale = false;
  for (const secret of secrets) {
    try {
      return webhooks.constructEvent(
        rawBody,
        header,
        secret,
        STRIPE_WEBHOOK_TOLERANCE_SECONDS,
        undefined,
        nowMs,
      );
    } catch (err) {
      // Only the SDK's own message tells "stale" from "wrong signature"; it carries no payload data.
      if (err instanceof Error && /tolerance/i.test(err.message)) stale = true;
    }
  }
  throw ProviderError.invalid(
    'stripe',
    stale
      ? 'Stripe-Signature timestamp outside the 300 s tolerance'
      : 'Stripe-Signature does not match any configured secret',
    400,
  );
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined;
const s = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const n = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isSafeInteger(v) ? v : undefined;

/** Pick an id from a field that may be an id string or an expanded object. */
const ref = (v: unknown): string | undefined => s(v) ?? s(obj(v)?.id);

/** Amount that the event is about, per object type. */
function eventAmount(type: string, o: Obj): number | undefined {
  switch (type) {
    case 'payment_intent.amount_capturable_updated':
      return n(o.amount_capturable) ?? n(o.amount);
    case 'payment_intent.succeeded':
      return n(o.amount_received) ?? n(o.amount);
    case 'charge.refunded':
      return n(o.amount_refunded);
    default:
      return n(o.amount);
  }
}

/**
 * Normalize a verified event. `raw` is an allow-listed summary (ids, statuses, amounts): a Stripe
 * object may carry billing details or card metadata, none of which we store.
 */
export function normalizeStripeEvent(event: Stripe.Event): ProviderEvent {
  const o = obj(event.data?.object) ?? {};
  const objectType = s(o.object);
  const metadata = obj(o.metadata);
  const providerReference = objectType === 'payment_intent' ? s(o.id) : ref(o.payment_intent);
  const kind = stripeEventKind(event.type, objectType === 'refund' ? s(o.status) : undefined);
  return {
    provider: 'stripe',
    eventId: event.id,
    kind,
    providerReference,
    paymentId: s(metadata?.settle_payment_id),
    amount: eventAmount(event.type, o),
    occurredAt: new Date(event.created * 1000).toISOString(),
    // A dispute names the PaymentIntent (providerReference) but carries none of its metadata.
    dispute: objectType === 'dispute' && kind.startsWith('dispute.') ? disputeFactsFromStripe(o) : undefined,
    raw: {
      id: event.id,
      type: event.type,
      created: event.created,
      object: {
        id: s(o.id),
        object: objectType,
        status: s(o.status),
        amount: n(o.amount),
        currency: s(o.currency),
        payment_intent: ref(o.payment_intent),
        charge: ref(o.charge),
        reason: s(o.reason),
      },
    },
  };
}
