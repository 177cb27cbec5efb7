/**
 * Provider record sources for reconciliation (domain/reconciliation.ts): each reads ONE page of a
 * provider's own records for a window per call, through the provider's SDK (the sandbox: its books),
 * and returns them without card data (references, amounts, currency, creation time). The opaque
 * `cursor` is where the next page starts; null: the window is done. They run on the card-data worker,
 * the only process holding provider credentials (activities/provider-records.ts).
 */
import type { ProviderName } from '../../domain/providers';
import type { ProviderRecord, Window } from '../../domain/reconciliation';

export interface RecordPageRequest {
  window: Window;
  /** null: the first page. */
  cursor: string | null;
  /** Records per page (a source may return fewer; Braintree pages by time slice instead). */
  limit: number;
}

export interface RecordPage {
  records: ProviderRecord[];
  next: string | null;
}

export interface ProviderRecordSource {
  readonly name: ProviderName;
  page(req: RecordPageRequest): Promise<RecordPage>;
}
