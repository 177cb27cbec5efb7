/**
 * Custom search attributes operators use to find payments in the Temporal UI. Registered on the
 * server at start (scripts/temporal-dev.ts) and kept current by the workflows. Values are card-free.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const SA_STATUS = defineSearchAttributeKey('SettleStatus', SearchAttributeType.KEYWORD);
export const SA_PROVIDER = defineSearchAttributeKey('SettleProvider', SearchAttributeType.KEYWORD);
export const SA_MERCHANT_REFERENCE = defineSearchAttributeKey(
  'SettleMerchantReference',
  SearchAttributeType.KEYWORD,
);
export const SA_AMOUNT = defineSearchAttributeKey('SettleAmount', SearchAttributeType.INT);
export const SA_CURRENCY = defineSearchAttributeKey('SettleCurrency', SearchAttributeType.KEYWORD);

/** name -> Temporal CLI type, for `temporal server start-dev --search-attribute name=Type`. */
export const SEARCH_ATTRIBUTE_REGISTRATIONS: ReadonlyArray<[string, string]> = [
  [SA_STATUS.name, 'Keyword'],
  [SA_PROVIDER.name, 'Keyword'],
  [SA_MERCHANT_REFERENCE.name, 'Keyword'],
  [SA_AMOUNT.name, 'Int'],
  [SA_CURRENCY.name, 'Keyword'],
];
