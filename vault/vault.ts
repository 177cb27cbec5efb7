/**
 * The card vault: tokenization with envelope encryption. Each card gets its own random data key,
 * wrapped by a cached wrapping key of its legal entity's KEK (vault/key-hierarchy.ts) with AAD
 * binding legal entity + token, so deleting a card destroys exactly its key (crypto-shredding) while
 * KMS calls stay independent of card volume. Only `reveal` returns card data and it is called only by
 * the card-data worker; the API and the payment worker see metadata and tokens.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { WrappingKeyGoneError, type CardsRepo } from '../db/cards-repo';
import { binOf, detectBrand, isExpired, validateCvc, validatePan, type CardFieldError } from '../domain/card';
import { AppError } from '../domain/errors';
import { newId } from '../domain/ids';
import type { CardData } from '../domain/card';
import { canonicalContext, open, seal } from '../security/envelope';
import type { KeyHierarchy } from './key-hierarchy';

export interface TokenizeInput {
  number: string;
  expMonth: number;
  expYear: number;
  cvc?: string | undefined;
  holderName?: string | undefined;
}
export interface CardMetadata {
  token: string;
  brand: string;
  bin: string;
  last4: string;
  expMonth: number;
  expYear: number;
  fingerprint: string;
}

/** Audit hook (security/audit.ts records these in the hash chain when wired). */
export type AuditHook = (e: {
  action: string;
  resource: string;
  outcome: string;
  actor: string;
}) => Promise<void>;

export interface VaultDeps {
  cards: CardsRepo;
  hierarchy: KeyHierarchy;
  fingerprintKey: Buffer;
  audit?: AuditHook | undefined;
  now?: () => Date;
  /** How long an unused CVC may be kept (PCI 3.3.1.2): one hour. */
  cvcTtlMs?: number;
}

const fieldError = (e: CardFieldError) =>
  new AppError('invalid_request', e.code, e.message, { details: { field: e.field } });

const aad = (token: string, legalEntity: string, field: 'pan' | 'cvc') =>
  `settle:card:${legalEntity}:${token}:${field}`;
const keyContext = (token: string, legalEntity: string) => ({ purpose: 'card', legalEntity, token });
/** AAD of a per-card data key under a wrapping key: the key only opens for its own token and entity. */
export const dataKeyAad = (token: string, legalEntity: string, wrappingKeyId: string) =>
  canonicalContext({ ...keyContext(token, legalEntity), wrappingKey: wrappingKeyId });

export function createVault(deps: VaultDeps) {
  const now = deps.now ?? (() => new Date());
  const cvcTtlMs = deps.cvcTtlMs ?? 60 * 60 * 1000;

  async function unwrapDataKey(row: {
    token: string;
    legalEntity: string;
    kekId: string;
    wrappingKeyId: string | null;
    wrappedKey: Buffer;
  }): Promise<Buffer> {
    if (row.wrappingKeyId === null) {
      // Written before the wrapping-key tier: wrapped directly by the KEK (one KMS call per reveal
      // until a rotation re-wraps it).
      return deps.hierarchy.keyProvider.decryptDataKey(
        row.kekId,
        row.wrappedKey,
        keyContext(row.token, row.legalEntity),
      );
    }
    const wk = await deps.hierarchy.wrappingKey(row.wrappingKeyId, {
      legalEntity: row.legalEntity,
      purpose: 'card',
    });
    return open(wk.key, row.wrappedKey, dataKeyAad(row.token, row.legalEntity, row.wrappingKeyId));
  }

  /**
   * Crypto-shred one card: its data key and ciphertexts are destroyed; neighbours under the same
   * wrapping key are untouched. Audited whether or not a card was found. Returns false when there
   * was no live card (or not the client's).
   */
  async function shred(token: string, clientId?: string, actor = clientId ?? 'system'): Promise<boolean> {
    let ok = false;
    try {
      ok = await deps.cards.shred(token, clientId);
      return ok;
    } finally {
      await deps.audit?.({
        action: 'vault.card.shred',
        resource: `card:${token}`,
        outcome: ok ? 'success' : 'failure',
        actor,
      });
    }
  }

  function fingerprint(pan: string): string {
    return createHmac('sha256', deps.fingerprintKey).update(`pan:${pan}`).digest('base64url').slice(0, 32);
  }

  async function revealCard(token: string): Promise<CardData | undefined> {
    let row = await deps.cards.findSecret(token);
    if (!row || !row.wrappedKey || !row.panCt) return undefined;
    let key: Buffer;
    try {
      key = await unwrapDataKey({ ...row, wrappedKey: row.wrappedKey });
    } catch (err) {
      // A rotation may have re-wrapped this card and destroyed the old wrapping key between our
      // read and the unwrap: read the row again once; anything else is a real failure.
      const again = await deps.cards.findSecret(token);
      if (!again?.wrappedKey || !again.panCt || again.wrappingKeyId === row.wrappingKeyId) throw err;
      row = again;
      key = await unwrapDataKey({ ...again, wrappedKey: again.wrappedKey });
    }
    const panCt = row.panCt;
    if (!panCt) {
      key.fill(0);
      return undefined;
    }
    try {
      const { n, h } = JSON.parse(open(key, panCt, aad(token, row.legalEntity, 'pan')).toString('utf8')) as {
        n: string;
        h: string | null;
      };
      const cvcLive = row.cvcCt && row.cvcExpiresAt && row.cvcExpiresAt.getTime() > now().getTime();
      const cvc =
        cvcLive && row.cvcCt
          ? open(key, row.cvcCt, aad(token, row.legalEntity, 'cvc')).toString('utf8')
          : undefined;
      return { number: n, expMonth: row.expMonth, expYear: row.expYear, cvc, holderName: h ?? undefined };
    } finally {
      key.fill(0);
    }
  }

  return {
    fingerprint,

    async tokenize(clientId: string, legalEntity: string, input: TokenizeInput): Promise<CardMetadata> {
      const checked = validatePan(input.number);
      if ('field' in checked) throw fieldError(checked);
      const { pan } = checked;
      if (isExpired(input.expMonth, input.expYear, now())) {
        throw fieldError({ field: 'expYear', code: 'expired_card', message: 'The card has expired' });
      }
      const brand = detectBrand(pan);
      if (input.cvc !== undefined) {
        const e = validateCvc(input.cvc, brand);
        if (e) throw fieldError(e);
      }
      const token = newId('tok');
      const dataKey = randomBytes(32);
      try {
        const panCt = seal(
          dataKey,
          Buffer.from(JSON.stringify({ n: pan, h: input.holderName ?? null })),
          aad(token, legalEntity, 'pan'),
        );
        const cvcCt = input.cvc
          ? seal(dataKey, Buffer.from(input.cvc), aad(token, legalEntity, 'cvc'))
          : null;
        const meta: CardMetadata = {
          token,
          brand,
          bin: binOf(pan),
          last4: pan.slice(-4),
          expMonth: input.expMonth,
          expYear: input.expYear,
          fingerprint: fingerprint(pan),
        };
        // A rotation may destroy the cached wrapping key between our read and our insert; the insert
        // notices (row lock) and we seal again under the new one. Twice is enough: a fresh key is
        // under the active KEK and is never destroyed by the rotation that made it active.
        for (let attempt = 1; ; attempt++) {
          const wk = await deps.hierarchy.currentWrappingKey(legalEntity, 'card');
          try {
            await deps.cards.insert({
              ...meta,
              clientId,
              legalEntity,
              dataKeyId: `dk_${newId('tok').slice(4)}`,
              kekId: wk.kekId,
              wrappingKeyId: wk.id,
              wrappedKey: seal(wk.key, dataKey, dataKeyAad(token, legalEntity, wk.id)),
              panCt,
              cvcCt,
              cvcExpiresAt: cvcCt ? new Date(now().getTime() + cvcTtlMs) : null,
            });
            return meta;
          } catch (err) {
            if (!(err instanceof WrappingKeyGoneError) || attempt >= 3) throw err;
            deps.hierarchy.refresh();
          }
        }
      } finally {
        dataKey.fill(0);
      }
    },

    /** Metadata of a live card. `clientId` scopes the lookup to the card's owner when given. */
    async metadata(
      token: string,
      clientId?: string,
    ): Promise<(CardMetadata & { legalEntity: string }) | undefined> {
      const row = await deps.cards.findMetadata(token);
      if (!row || row.deletedAt || (clientId !== undefined && row.clientId !== clientId)) return undefined;
      return {
        token: row.token,
        brand: row.brand,
        bin: row.bin,
        last4: row.last4,
        expMonth: row.expMonth,
        expYear: row.expYear,
        fingerprint: row.fingerprint,
        legalEntity: row.legalEntity,
      };
    },

    /** Card data for a provider call. Card-data worker only. */
    /**
     * Card data for a provider call (card-data worker only). Every decryption is card-data access
     * (PCI DSS 10.2.1.1): audited with its outcome and purpose, never with card data.
     */
    async reveal(token: string, purpose = 'card-worker'): Promise<CardData | undefined> {
      let card: CardData | undefined;
      try {
        card = await revealCard(token);
        return card;
      } finally {
        await deps.audit?.({
          action: 'vault.card.decrypt',
          resource: `card:${token}`,
          outcome: card ? 'success' : 'failure',
          actor: purpose,
        });
      }
    },

    destroyCvc: (token: string) => deps.cards.destroyCvc(token),
    destroyExpiredCvcs: () => deps.cards.destroyExpiredCvcs(now()),
    shred,
    /** GDPR erasure of a data subject's card: every live token with this card number's fingerprint. */
    async shredByCardNumber(number: string, actor: string): Promise<string[]> {
      const checked = validatePan(number);
      if ('field' in checked) throw fieldError(checked);
      const tokens = await deps.cards.liveTokensByFingerprint(fingerprint(checked.pan));
      const done: string[] = [];
      for (const t of tokens) if (await shred(t, undefined, actor)) done.push(t);
      return done;
    },
    /** Unwrap a card's data key (also used by rotation). Caller zeroes the result. */
    unwrapDataKey,
  };
}
export type Vault = ReturnType<typeof createVault>;
