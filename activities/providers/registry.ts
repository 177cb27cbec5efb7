/** Provider name -> adapter, for the providers enabled by configuration. */
import { ProviderError, type PaymentProvider } from './types';
import type { ProviderName } from '../../domain/providers';

export function createProviderRegistry(providers: PaymentProvider[]) {
  const byName = new Map<ProviderName, PaymentProvider>(providers.map((p) => [p.name, p]));
  return {
    get(name: string): PaymentProvider {
      const p = byName.get(name as ProviderName);
      if (!p) throw ProviderError.invalid('sandbox', `provider ${name} is not enabled`);
      return p;
    },
    has: (name: string) => byName.has(name as ProviderName),
    names: (): ProviderName[] => [...byName.keys()],
  };
}
export type ProviderRegistry = ReturnType<typeof createProviderRegistry>;
