/**
 * Bank-account secrets, outside Temporal history:
 *   - the account (routing, account number, holder) sealed with a per-record data key from the
 *     KeyProvider (same envelope hierarchy as the card vault; context binds it to the record);
 *   - a keyed fingerprint of routing + account number (find "the same account" without decrypting);
 *   - the micro-deposit amounts, DERIVED from a secret key and the account id + a workflow nonce, so
 *     they never travel through the workflow: the card-data worker derives them to send them, and the
 *     workflow only ever holds a keyed MAC of the sorted pair. A plain or salted hash would not do:
 *     there are only 99*99 pairs, so anyone reading history could brute-force it; without the key
 *     (env / KMS, never in history) the MAC reveals nothing.
 * Keys: the bank-secrets purpose key (HKDF from SETTLE_SECRET_ROOT_KEY, security/purpose-keys.ts),
 * split again with HKDF into one key per use; never the card fingerprint key.
 */
import { createHmac, hkdfSync } from 'node:crypto';
import type { SealedAccount } from '../domain/bank-account';
import { open, seal } from '../security/envelope';
import type { KeyProvider } from '../security/key-provider';
import { purposeKey, rootKeyFrom } from '../security/purpose-keys';
import { createKeyProvider, type KeyConfig } from './vault-factory';

export interface BankAccountSecret {
  routingNumber: string;
  accountNumber: string;
  holderName: string;
}

export interface BankSecretsDeps {
  keyProvider: KeyProvider;
  kekIdFor: (legalEntity: string) => string;
  /** The bank-secrets purpose key (purposeKey(root, 'bank-secrets')); per-use keys derive from it. */
  rootKey: Buffer;
}

const keyContext = (id: string, legalEntity: string) => ({ purpose: 'bank_account', legalEntity, id });
const aad = (id: string, legalEntity: string) => `settle:bank_account:${legalEntity}:${id}`;
const derive = (root: Buffer, info: string) => Buffer.from(hkdfSync('sha256', root, 'settle-bank', info, 32));

export function createBankSecrets(deps: BankSecretsDeps) {
  const fingerprintKey = derive(deps.rootKey, 'bank-fingerprint');
  const amountsKey = derive(deps.rootKey, 'bank-microdeposit-amounts');
  const macKey = derive(deps.rootKey, 'bank-microdeposit-mac');

  return {
    fingerprint(routingNumber: string, accountNumber: string): string {
      return createHmac('sha256', fingerprintKey)
        .update(`${routingNumber}:${accountNumber}`)
        .digest('base64url')
        .slice(0, 32);
    },

    async seal(id: string, legalEntity: string, secret: BankAccountSecret): Promise<SealedAccount> {
      const kekId = deps.kekIdFor(legalEntity);
      const dk = await deps.keyProvider.generateDataKey(kekId, keyContext(id, legalEntity));
      try {
        const accountCt = seal(dk.plaintext, Buffer.from(JSON.stringify(secret)), aad(id, legalEntity));
        return { kekId, wrappedKey: dk.wrapped, accountCt };
      } finally {
        dk.plaintext.fill(0);
      }
    },

    /** Card-data worker only: the provider call is the one place the account number is needed. */
    async open(id: string, legalEntity: string, sealed: SealedAccount): Promise<BankAccountSecret> {
      const key = await deps.keyProvider.decryptDataKey(
        sealed.kekId,
        sealed.wrappedKey,
        keyContext(id, legalEntity),
      );
      try {
        return JSON.parse(
          open(key, sealed.accountCt, aad(id, legalEntity)).toString('utf8'),
        ) as BankAccountSecret;
      } finally {
        key.fill(0);
      }
    },

    /** The two amounts (1..99 minor units each) for one verification. Card-data worker only. */
    microdepositAmounts(bankAccountId: string, nonce: string): [number, number] {
      const h = createHmac('sha256', amountsKey).update(`${bankAccountId}:${nonce}`).digest();
      // 32-bit values mod 99: the bias (2^32 mod 99 / 2^32) is below 1e-8.
      return [(h.readUInt32BE(0) % 99) + 1, (h.readUInt32BE(4) % 99) + 1];
    },

    /** Keyed MAC of a pair, order-insensitive (customers read the deposits in either order). */
    amountsMac(bankAccountId: string, amounts: readonly [number, number]): string {
      const [a, b] = [...amounts].sort((x, y) => x - y);
      return createHmac('sha256', macKey).update(`${bankAccountId}:${a}:${b}`).digest('base64url');
    },
  };
}
export type BankSecrets = ReturnType<typeof createBankSecrets>;

/** From configuration: the same key provider as the vault, keys from SETTLE_SECRET_ROOT_KEY. */
export function bankSecretsFromConfig(
  cfg: Omit<KeyConfig, 'SETTLE_FINGERPRINT_KEY'> & { SETTLE_SECRET_ROOT_KEY: string },
): BankSecrets {
  const { keyProvider, kekIdFor } = createKeyProvider(cfg);
  return createBankSecrets({
    keyProvider,
    kekIdFor,
    rootKey: purposeKey(rootKeyFrom(cfg.SETTLE_SECRET_ROOT_KEY), 'bank-secrets'),
  });
}
