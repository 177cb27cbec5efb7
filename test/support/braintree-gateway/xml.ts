/**
 * The Braintree gateway's XML wire format, as the braintree SDK parses it (lib/braintree/http.js:
 * xml2js with attrkey "@", charkey "#", explicitArray false, then Util.convertNodeToObject):
 *   - element names are kebab-case and become camelCase keys;
 *   - `type="array"` makes an array of the children (whatever their element name);
 *   - `type="integer"` / `type="boolean"` are converted, `nil="true"` is null;
 *   - `type="collection"` (paged search results) is an object.
 */
import type { EmulatedTransaction } from './model';

export function esc(v: string): string {
  return v
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

export function text(name: string, value: string | number | null | undefined, type?: string): string {
  if (value === null || value === undefined) return `<${name} nil="true"/>`;
  return `<${name}${type ? ` type="${type}"` : ''}>${esc(String(value))}</${name}>`;
}

export function array(name: string, items: string[], itemName = 'item'): string {
  if (items.length === 0) return `<${name} type="array"/>`;
  return `<${name} type="array">${items.map((i) => text(itemName, i)).join('')}</${name}>`;
}

export function transactionXml(
  t: EmulatedTransaction,
  formatAmount: (minor: number, currency: string) => string,
): string {
  const amount = formatAmount(t.amount, t.currency);
  const history = t.statusHistory
    .map(
      (e) =>
        `<status-event>${text('timestamp', e.at.toISOString(), 'datetime')}${text('status', e.status)}` +
        `${text('amount', formatAmount(e.amount, t.currency))}${text('transaction-source', 'api')}</status-event>`,
    )
    .join('');
  return (
    '<transaction>' +
    text('id', t.id) +
    text('status', t.status) +
    text('type', t.type) +
    text('currency-iso-code', t.currency) +
    text('amount', amount) +
    text('merchant-account-id', t.merchantAccountId) +
    text('order-id', t.orderId ?? null) +
    text('created-at', t.createdAt.toISOString(), 'datetime') +
    text('updated-at', t.updatedAt.toISOString(), 'datetime') +
    text('processor-response-code', t.processorResponseCode) +
    text('processor-response-text', t.processorResponseText) +
    text('processor-response-type', t.processorResponseType) +
    text('gateway-rejection-reason', t.gatewayRejectionReason ?? null) +
    text(
      'authorization-expires-at',
      t.authorizationExpiresAt ? t.authorizationExpiresAt.toISOString() : null,
      'datetime',
    ) +
    array('refund-ids', t.refundIds) +
    text('refunded-transaction-id', t.refundedTransactionId ?? null) +
    array('partial-settlement-transaction-ids', t.partialSettlementTransactionIds) +
    text('authorized-transaction-id', t.authorizedTransactionId ?? null) +
    (history
      ? `<status-history type="array">${history}</status-history>`
      : '<status-history type="array"/>') +
    '<credit-card>' +
    text('bin', t.card.bin) +
    text('last-4', t.card.last4) +
    text('card-type', t.card.cardType) +
    text('expiration-month', t.card.expirationMonth) +
    text('expiration-year', t.card.expirationYear) +
    text('masked-number', `${t.card.bin}******${t.card.last4}`) +
    '</credit-card>' +
    '</transaction>'
  );
}

export interface ValidationErrorXml {
  code: string;
  attribute: string;
  message: string;
}

/** `<api-error-response>`: validation errors (nested under `transaction`) and/or a failed transaction. */
export function apiErrorXml(opts: {
  message: string;
  errors?: ValidationErrorXml[];
  transaction?: string;
}): string {
  const errs = (opts.errors ?? [])
    .map(
      (e) =>
        `<error>${text('code', e.code)}${text('attribute', e.attribute, 'symbol')}${text('message', e.message)}</error>`,
    )
    .join('');
  const nested = errs ? `<transaction><errors type="array">${errs}</errors></transaction>` : '';
  return (
    '<api-error-response>' +
    `<errors><errors type="array"/>${nested}</errors>` +
    '<params/>' +
    text('message', opts.message) +
    (opts.transaction ?? '') +
    '</api-error-response>'
  );
}

export function searchIdsXml(ids: string[], pageSize: number): string {
  return `<search-results>${text('page-size', pageSize, 'integer')}${array('ids', ids)}</search-results>`;
}

export function searchPageXml(transactions: string[], pageSize: number): string {
  return (
    '<credit-card-transactions type="collection">' +
    text('current-page-number', 1, 'integer') +
    text('page-size', pageSize, 'integer') +
    text('total-items', transactions.length, 'integer') +
    transactions.join('') +
    '</credit-card-transactions>'
  );
}

export function document(body: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${body}\n`;
}
