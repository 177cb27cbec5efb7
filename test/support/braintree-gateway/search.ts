/**
 * Transaction search criteria the emulator's store (model.ts) lacks, for reconciliation's Braintree
 * record source: `created_at` and `settled_at` ranges (`{ min, max }`, inclusive, as the SDK's
 * `createdAt().between(min, max)` sends them). The store answered only `order_id`, `id` and `ids`
 * (what the adapter's guards use) and refused anything else as unsupported; every other criterion
 * still goes to it.
 */
import type { EmulatedTransaction, TransactionStore } from './model';

type Range = { min?: unknown; max?: unknown; is?: unknown };

function within(at: Date | undefined, range: Range | undefined): boolean {
  if (!range) return true;
  if (!at) return false;
  const t = at.getTime();
  // The SDK sends Dates, which reach the wire as RFC 3339 strings.
  const bound = (v: unknown) => (typeof v === 'string' ? Date.parse(v) : undefined);
  const min = bound(range.min ?? range.is);
  const max = bound(range.max ?? range.is);
  if (min !== undefined && t < min) return false;
  if (max !== undefined && t > max) return false;
  return true;
}

/** When a transaction settled: its status history's `settled` entry. */
const settledAt = (t: EmulatedTransaction) => t.statusHistory.find((e) => e.status === 'settled')?.at;

export function searchTransactions(
  store: TransactionStore,
  criteria: Record<string, unknown>,
): EmulatedTransaction[] | { unsupported: string } {
  const { created_at: created, settled_at: settled, ...rest } = criteria;
  const found = store.search(rest);
  if (!Array.isArray(found)) return found;
  return found.filter(
    (t) =>
      within(t.createdAt, created as Range | undefined) && within(settledAt(t), settled as Range | undefined),
  );
}
