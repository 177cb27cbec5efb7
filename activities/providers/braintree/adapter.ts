/**
 * Braintree adapter: transactions through the official `braintree` SDK.
 *
 *   authorize  transaction.sale (orderId = our payment id); options.submitForSettlement only for
 *              automatic capture. Without it the sale is an authorization.
 *   capture    final capture, nothing captured yet: submitForSettlement(id, amount);
 *              otherwise submitForPartialSettlement(id, amount, { orderId: key, finalCapture }).
 *   void       transaction.void (before settlement).
 *   refund     transaction.refund(id, { amount, orderId: key }) on the settled sale, or spread over
 *              its partial settlements (each is its own settled transaction).
 *   sync       find by reference, else search by orderId.
 *
 * Amounts cross as decimal strings converted from minor units by string arithmetic
 * (minorToDecimalString / decimalStringToMinor): 1234 JPY -> "1234", 1234 USD -> "12.34",
 * 1234 KWD -> "1.234". No floats.
 *
 * IDEMPOTENCY. Braintree has no idempotency keys, so every write is guarded by a lookup first. A
 * retried activity therefore finds the effect of the attempt whose response was lost instead of
 * repeating it:
 *   authorize  search transactions with orderId == paymentId. A live one (authorizing, authorized or
 *              any settlement status) is reused; a processor_declined / gateway_rejected one returns
 *              the same decline (the issuer already answered). Only `failed` (processor unreachable),
 *              voided and expired ones are ignored, and then a new sale is sent.
 *   capture    find the sale; a partial-settlement child whose orderId equals this capture's key
 *              means this capture already happened: return it. A sale already submitted as a whole
 *              (no children) means the single capture already happened: return it.
 *   void       find the sale; already voided: done, nothing sent.
 *   refund     collect every refund of the sale (or of its partial settlements); refunds whose
 *              orderId is this refund's key (or `${key}#n` for pieces spread over several partial
 *              settlements) are this refund: only the remainder, if any, is sent.
 * The lookup and the write are two calls, so two concurrent attempts could both miss each other;
 * Temporal runs one attempt of an activity at a time, which is what this relies on.
 */
import braintree from 'braintree';
import { decimalStringToMinor, minorToDecimalString, normalizeCurrency } from '../../../domain/money';
import {
  ProviderError,
  type AuthorizeRequest,
  type AuthorizeResult,
  type CaptureRequest,
  type CaptureResult,
  type DeclineCode,
  type PaymentProvider,
  type ProviderPaymentSnapshot,
  type RefundRequest,
  type RefundResult,
  type SyncRequest,
  type VoidRequest,
} from '../types';
import type { ProviderEvent } from '../../../domain/providers';
import {
  classifyBraintreeResult,
  classifyBraintreeThrown,
  type BraintreeFailedResult,
  type CallKind,
} from './errors';
import {
  CAPTURED_STATUSES,
  LIVE_STATUSES,
  braintreeStatusToSnapshot,
  declineMessage,
  gatewayRejectionDeclineCode,
  processorDeclineCode,
  refundTransactionStatus,
} from './transformers';
import { parseBraintreeWebhook, type WebhookParser } from './webhook';

export interface BraintreeProviderOptions {
  merchantId: string;
  publicKey: string;
  privateKey: string;
  environment: 'development' | 'sandbox' | 'production';
  /** Development only: where the (local) gateway listens. Defaults as the SDK: localhost:3000. */
  gatewayHost?: string;
  gatewayPort?: number;
  /** Braintree fixes the currency per merchant account: ISO currency -> merchant account id. */
  merchantAccountIds?: Record<string, string>;
  /** Per-request timeout; after it a write's outcome is unknown. SDK default is 60 s. */
  timeoutMs?: number;
}

/** The fields of an SDK Transaction we read (its published types are incomplete). */
interface BtTransaction {
  id: string;
  status: string;
  type?: string;
  amount: string;
  currencyIsoCode: string;
  orderId?: string | null;
  processorResponseCode?: string | null;
  gatewayRejectionReason?: string | null;
  refundIds?: string[] | null;
  partialSettlementTransactionIds?: string[] | null;
  authorizationExpiresAt?: string | null;
  createdAt?: string;
  statusHistory?: Array<{ status?: string; amount?: string }> | null;
}

interface BtResult extends BraintreeFailedResult {
  success: boolean;
  transaction?: BtTransaction;
}

interface BtSearch {
  orderId(): { is(value: string): void };
}

interface BtGateway {
  config: { timeout: number };
  transaction: {
    sale(attrs: Record<string, unknown>): Promise<BtResult>;
    find(id: string): Promise<BtTransaction>;
    submitForSettlement(id: string, amount: string): Promise<BtResult>;
    submitForPartialSettlement(
      id: string,
      amount: string,
      options: Record<string, unknown>,
    ): Promise<BtResult>;
    void(id: string): Promise<BtResult>;
    refund(id: string, options: Record<string, unknown>): Promise<BtResult>;
    search(fn: (s: BtSearch) => void): NodeJS.ReadableStream;
  };
  webhookNotification: WebhookParser;
}

function environmentFor(opts: BraintreeProviderOptions): braintree.Environment {
  switch (opts.environment) {
    case 'production':
      return braintree.Environment.Production;
    case 'sandbox':
      return braintree.Environment.Sandbox;
    case 'development':
    default:
      // Environment.Development is built once, at require time, from process.env GATEWAY_HOST /
      // GATEWAY_PORT / GATEWAY_SSL (lib/braintree/environment.js). Rather than mutate process.env,
      // build an equivalent Environment for the given host and port; the SDK's HTTP layer reads
      // `server`, `port` and `ssl` from it directly.
      return new braintree.Environment(
        opts.gatewayHost ?? 'localhost',
        String(opts.gatewayPort ?? 3000),
        'http://auth.venmo.dev:9292',
        false,
        'graphql.bt.local',
        '8080',
      );
  }
}

const isNotFound = (err: unknown) =>
  !!err && typeof err === 'object' && (err as { type?: unknown }).type === 'notFoundError';

export function createBraintreeProvider(opts: BraintreeProviderOptions): PaymentProvider {
  const gateway = new braintree.BraintreeGateway({
    environment: environmentFor(opts),
    merchantId: opts.merchantId,
    publicKey: opts.publicKey,
    privateKey: opts.privateKey,
  }) as unknown as BtGateway;
  // Config has no constructor option for the timeout; the HTTP layer reads it from here per request.
  gateway.config.timeout = opts.timeoutMs ?? 30_000;

  async function call<T>(kind: CallKind, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw classifyBraintreeThrown(err, kind);
    }
  }

  const find = (id: string) => call('read', () => gateway.transaction.find(id));

  async function findOrUndefined(id: string): Promise<BtTransaction | undefined> {
    try {
      return await gateway.transaction.find(id);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw classifyBraintreeThrown(err, 'read');
    }
  }

  /** Search is a stream in the SDK; collect it. */
  function searchByOrderId(orderId: string): Promise<BtTransaction[]> {
    return new Promise((resolve, reject) => {
      const out: BtTransaction[] = [];
      let stream: NodeJS.ReadableStream;
      try {
        stream = gateway.transaction.search((s) => s.orderId().is(orderId));
      } catch (err) {
        reject(classifyBraintreeThrown(err, 'read'));
        return;
      }
      stream.on('data', (t: BtTransaction) => out.push(t));
      stream.on('error', (err: unknown) => reject(classifyBraintreeThrown(err, 'read')));
      stream.on('end', () => resolve(out.filter((t) => t.orderId === orderId)));
    });
  }

  function toMinor(t: { amount: string; currencyIsoCode: string }): number {
    return decimalStringToMinor(t.amount, t.currencyIsoCode);
  }

  function merchantAccountFor(currency: string): string | undefined {
    if (!opts.merchantAccountIds) return undefined;
    const id = opts.merchantAccountIds[currency.toUpperCase()];
    // Without a merchant account in this currency Braintree would charge the default account's
    // currency: refuse before sending anything.
    if (!id)
      throw ProviderError.invalid('braintree', `No Braintree merchant account for ${currency.toUpperCase()}`);
    return id;
  }

  function authorizedResult(t: BtTransaction): AuthorizeResult {
    return {
      outcome: 'authorized',
      providerReference: t.id,
      captured: CAPTURED_STATUSES.has(t.status),
      captureBefore: isoOrUndefined(t.authorizationExpiresAt),
    };
  }

  function declinedResult(t: BtTransaction | undefined, code: DeclineCode): AuthorizeResult {
    return {
      outcome: 'declined',
      providerReference: t?.id,
      declineCode: code,
      message: declineMessage(code),
    };
  }

  function declineCodeOf(t: BtTransaction): DeclineCode {
    return t.status === 'gateway_rejected'
      ? gatewayRejectionDeclineCode(t.gatewayRejectionReason)
      : processorDeclineCode(t.processorResponseCode);
  }

  async function authorize(req: AuthorizeRequest): Promise<AuthorizeResult> {
    const currency = normalizeCurrency(req.currency);
    if (!currency) throw ProviderError.invalid('braintree', 'Unsupported currency');
    const merchantAccountId = merchantAccountFor(currency);

    // Guard (see header): reuse what an earlier attempt for this payment left behind.
    const previous = await searchByOrderId(req.paymentId);
    const live = newest(previous.filter((t) => LIVE_STATUSES.has(t.status)));
    if (live) return authorizedResult(live);
    const declined = newest(
      previous.filter((t) => t.status === 'processor_declined' || t.status === 'gateway_rejected'),
    );
    if (declined) return declinedResult(declined, declineCodeOf(declined));

    const result = await call('write', () =>
      gateway.transaction.sale({
        amount: minorToDecimalString(req.amount, currency),
        orderId: req.paymentId,
        ...(merchantAccountId ? { merchantAccountId } : {}),
        creditCard: {
          number: req.card.number,
          expirationMonth: String(req.card.expMonth).padStart(2, '0'),
          expirationYear: String(req.card.expYear),
          ...(req.card.cvc ? { cvv: req.card.cvc } : {}),
          ...(req.card.holderName ? { cardholderName: req.card.holderName } : {}),
        },
        options: { submitForSettlement: req.capture === 'automatic' },
      }),
    );
    if (result.success && result.transaction) {
      if (result.transaction.currencyIsoCode !== currency) {
        // The merchant account charges another currency: release the hold and refuse, loudly.
        await call('write', () => gateway.transaction.void(result.transaction!.id)).catch(() => undefined);
        throw ProviderError.invalid('braintree', `Braintree merchant account is not in ${currency}`);
      }
      return authorizedResult(result.transaction);
    }
    const c = classifyBraintreeResult(result);
    if (c.kind === 'decline') return declinedResult(result.transaction, c.declineCode);
    throw c.error;
  }

  async function capture(req: CaptureRequest): Promise<CaptureResult> {
    const sale = await find(req.providerReference);
    const amount = minorToDecimalString(req.amount, sale.currencyIsoCode);
    const children = await Promise.all((sale.partialSettlementTransactionIds ?? []).map(find));

    // Guard: this capture already happened?
    const mine = children.find((c) => c.orderId === req.idempotencyKey);
    if (mine) return { providerCaptureId: mine.id, amount: toMinor(mine) };
    if (children.length === 0 && CAPTURED_STATUSES.has(sale.status))
      return { providerCaptureId: sale.id, amount: toMinor(sale) };

    if (children.length === 0 && req.final) {
      // One capture for the whole payment: settle the sale itself (amount may be lower: the rest is released).
      const result = await call('write', () => gateway.transaction.submitForSettlement(sale.id, amount));
      if (!result.success) throw failure(result);
      return { providerCaptureId: sale.id, amount: req.amount };
    }
    // Several captures: each is a child transaction tagged with this capture's deterministic key.
    const result = await call('write', () =>
      gateway.transaction.submitForPartialSettlement(sale.id, amount, {
        orderId: req.idempotencyKey,
        ...(req.final ? { finalCapture: true } : {}),
      }),
    );
    if (!result.success || !result.transaction) throw failure(result);
    return { providerCaptureId: result.transaction.id, amount: req.amount };
  }

  async function voidPayment(req: VoidRequest): Promise<void> {
    const sale = await find(req.providerReference);
    if (sale.status === 'voided') return; // guard: an earlier attempt already voided it
    const result = await call('write', () => gateway.transaction.void(sale.id));
    if (!result.success) throw failure(result);
  }

  async function refund(req: RefundRequest): Promise<RefundResult> {
    const sale = await find(req.providerReference);
    const children = await Promise.all((sale.partialSettlementTransactionIds ?? []).map(find));
    // Refunds go against settled sales: the sale itself, or each partial settlement.
    const targets = children.length > 0 ? children.filter((c) => CAPTURED_STATUSES.has(c.status)) : [sale];
    const refundsByTarget = await Promise.all(
      targets.map(async (t) => ({ t, refunds: await Promise.all((t.refundIds ?? []).map(find)) })),
    );

    // Guard: refunds already made for this key (one, or pieces `${key}#n`).
    const isMine = (r: BtTransaction) =>
      r.orderId === req.idempotencyKey || (r.orderId ?? '').startsWith(`${req.idempotencyKey}#`);
    const mine = refundsByTarget.flatMap((x) => x.refunds.filter(isMine));
    const liveMine = mine.filter((r) => refundTransactionStatus(r.status) !== 'failed');
    let remaining = req.amount - liveMine.reduce((sum, r) => sum + toMinor(r), 0);
    const made: BtTransaction[] = [...liveMine];
    let piece = mine.length;

    for (const { t, refunds } of refundsByTarget) {
      if (remaining <= 0) break;
      const refundable =
        toMinor(t) -
        refunds
          .filter((r) => refundTransactionStatus(r.status) !== 'failed')
          .reduce((sum, r) => sum + toMinor(r), 0);
      const part = Math.min(remaining, refundable);
      if (part <= 0) continue;
      const orderId = piece === 0 ? req.idempotencyKey : `${req.idempotencyKey}#${piece}`;
      const result = await call('write', () =>
        gateway.transaction.refund(t.id, { amount: minorToDecimalString(part, t.currencyIsoCode), orderId }),
      );
      if (result.transaction && (result.success || result.transaction.status === 'processor_declined')) {
        made.push(result.transaction);
        if (!result.success) return { providerRefundId: result.transaction.id, status: 'failed' };
      } else {
        throw failure(result);
      }
      remaining -= part;
      piece += 1;
    }
    if (remaining > 0) {
      // More than what is left to refund; nothing was sent for the excess.
      throw ProviderError.invalid('braintree', 'Refund exceeds the refundable amount at Braintree', 422);
    }
    const first = made[0];
    if (!first) throw ProviderError.invalid('braintree', 'Nothing to refund at Braintree', 422);
    const statuses = made.map((r) => refundTransactionStatus(r.status));
    const status = statuses.includes('failed')
      ? 'failed'
      : statuses.every((s) => s === 'succeeded')
        ? 'succeeded'
        : 'pending';
    return { providerRefundId: first.id, status };
  }

  async function sync(req: SyncRequest): Promise<ProviderPaymentSnapshot> {
    let sale: BtTransaction | undefined;
    if (req.providerReference) {
      sale = await findOrUndefined(req.providerReference);
    } else {
      // `failed` sales (processor unreachable) never held money: as if no attempt existed.
      const found = (await searchByOrderId(req.paymentId)).filter((t) => t.status !== 'failed');
      sale = newest(found.filter((t) => LIVE_STATUSES.has(t.status))) ?? newest(found);
    }
    if (!sale) return { found: false };

    const children = await Promise.all((sale.partialSettlementTransactionIds ?? []).map(find));
    const liveChildren = children.filter((c) => CAPTURED_STATUSES.has(c.status));
    const targets = children.length > 0 ? liveChildren : [sale];
    const refunds = (await Promise.all(targets.flatMap((t) => (t.refundIds ?? []).map(find)))).filter(
      (r) => refundTransactionStatus(r.status) !== 'failed',
    );

    const status = children.length > 0 ? 'captured' : braintreeStatusToSnapshot(sale.status);
    const captures =
      children.length > 0
        ? liveChildren.map((c) => ({
            providerCaptureId: c.id,
            amount: toMinor(c),
            idempotencyKey: c.orderId ?? undefined,
          }))
        : CAPTURED_STATUSES.has(sale.status)
          ? [{ providerCaptureId: sale.id, amount: toMinor(sale) }]
          : [];
    const heldOrTaken = status === 'authorized' || status === 'captured' || status === 'voided';

    return {
      found: true,
      providerReference: sale.id,
      status,
      amountAuthorized: heldOrTaken ? authorizedAmount(sale) : 0,
      amountCaptured: captures.reduce((sum, c) => sum + c.amount, 0),
      amountRefunded: refunds.reduce((sum, r) => sum + toMinor(r), 0),
      captureBefore: isoOrUndefined(sale.authorizationExpiresAt),
      declineCode: status === 'declined' ? declineCodeOf(sale) : undefined,
      captures,
      refunds: refunds.map((r) => ({
        providerRefundId: r.id,
        amount: toMinor(r),
        idempotencyKey: r.orderId ? r.orderId.replace(/#\d+$/, '') : undefined,
      })),
    };
  }

  /** The amount at authorization: a full submitForSettlement with a lower amount rewrites `amount`. */
  function authorizedAmount(t: BtTransaction): number {
    const event = (t.statusHistory ?? []).find(
      (e) => e.status === 'authorized' && typeof e.amount === 'string',
    );
    return event?.amount ? decimalStringToMinor(event.amount, t.currencyIsoCode) : toMinor(t);
  }

  function failure(result: BtResult): ProviderError {
    const c = classifyBraintreeResult(result);
    return c.kind === 'error'
      ? c.error
      : ProviderError.invalid('braintree', `Braintree declined the operation (${c.declineCode})`, 422);
  }

  async function parseWebhook(
    rawBody: Buffer,
    _headers: Record<string, string | undefined>,
  ): Promise<ProviderEvent> {
    return parseBraintreeWebhook(gateway.webhookNotification, rawBody);
  }

  return { name: 'braintree', authorize, capture, void: voidPayment, refund, sync, parseWebhook };
}

function newest(ts: BtTransaction[]): BtTransaction | undefined {
  return [...ts].sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? ''))[0];
}

function isoOrUndefined(v: string | null | undefined): string | undefined {
  if (!v) return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}
