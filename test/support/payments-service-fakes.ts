/**
 * A payments service over a given Temporal client, for unit tests of its mapping: the repositories
 * and the vault answer as for one known card, one client with no routing rule.
 */
import type { Client } from '@temporalio/client';
import { createPaymentsService } from '../../api/payments-service';
import type { PaymentsRepo } from '../../db/payments-repo';
import type { ProviderRoutesRepo } from '../../db/provider-routes-repo';
import type { PaymentView } from '../../domain/payment';
import type { Vault } from '../../vault/vault';

export function paymentsServiceOver(client: Client, stored?: () => PaymentView | undefined) {
  return createPaymentsService({
    client,
    payments: {
      exists: () => Promise.resolve(true),
      get: (id: string) => {
        const p = stored?.();
        return Promise.resolve(p ? { ...p, id } : undefined);
      },
      upsert: () => Promise.resolve(),
    } as unknown as PaymentsRepo,
    routes: { get: () => Promise.resolve(undefined) } as unknown as ProviderRoutesRepo,
    vault: {
      metadata: () =>
        Promise.resolve({ token: 'tok_x', legalEntity: 'default', brand: 'visa', last4: '4242' }),
    } as unknown as Vault,
    taskQueue: 'q',
    cardTaskQueue: 'cq',
    enabledProviders: ['sandbox'],
    defaultProvider: 'sandbox',
    authWaitMs: 10_000,
  });
}
