/**
 * The vault against a real KMS API (moto's server): KMS call counts follow key count, not card
 * volume; each legal entity's KEK protects only its own cards; crypto-shredding leaves nothing that
 * decrypts; unused CVCs are destroyed after an hour by the sweep loop.
 */
import { createPool, type Pool } from '../../db/pool';
import { createKeysRepo } from '../../db/keys-repo';
import { open } from '../../security/envelope';
import { startCvcSweeper } from '../../vault/cvc-sweeper';
import { wrappingKeyContext } from '../../vault/key-hierarchy';
import { dataKeyAad } from '../../vault/vault';
import { startMoto, type Moto } from '../support/moto';
import {
  countingKms,
  insertClient,
  kmsConfig,
  kmsVault,
  nextYear,
  testDatabaseUrl,
  uniqueEntity,
} from '../support/vault-fixtures';

const VISA = '4242424242424242';
const MC = '5555555555554444';
const CARDS = ['4242424242424242', '4000000000000002', '4111111111111111', '5555555555554444'];

let moto: Moto;
let pool: Pool;
let clientId: string;

beforeAll(async () => {
  moto = await startMoto();
  pool = createPool(testDatabaseUrl(), 'settle-test-vault-kms', 5);
  clientId = await insertClient(pool);
}, 90_000);
afterAll(async () => {
  await pool?.end();
  await moto?.stop();
});

test('KMS calls follow the number of wrapping keys, not the number of cards', async () => {
  const entity = uniqueEntity('volume');
  const cfg = kmsConfig(moto, await moto.createKey());
  const maxUses = 25;
  const measure = async (cards: number) => {
    const writer = countingKms(moto);
    const { vault } = kmsVault(pool, cfg, writer, { maxUses });
    const tokens: string[] = [];
    for (let i = 0; i < cards; i++) {
      const meta = await vault.tokenize(clientId, entity, {
        number: CARDS[i % CARDS.length]!,
        expMonth: 12,
        expYear: nextYear(),
      });
      tokens.push(meta.token);
    }
    // A second process (cold cache) reveals every card.
    const reader = countingKms(moto);
    const { vault: readerVault } = kmsVault(pool, cfg, reader, { maxUses });
    for (const [i, t] of tokens.entries()) {
      expect((await readerVault.reveal(t))?.number).toBe(CARDS[i % CARDS.length]);
    }
    return { generate: writer.calls.generate, decrypt: reader.calls.decrypt };
  };

  const small = await measure(20);
  const large = await measure(200);
  // Bound: one GenerateDataKey per maxUses cards; one Decrypt per wrapping key the reader meets.
  expect(small.generate).toBeLessThanOrEqual(Math.ceil(20 / maxUses));
  expect(large.generate).toBeLessThanOrEqual(Math.ceil(200 / maxUses));
  expect(large.decrypt).toBeLessThanOrEqual(Math.ceil(200 / maxUses) * 2);
  expect(large.generate + large.decrypt).toBeLessThan(200 / 5);
  process.stdout.write(
    `KMS calls: 20 cards -> ${JSON.stringify(small)}, 200 cards -> ${JSON.stringify(large)}\n`,
  );
}, 120_000);

test("one legal entity's KEK cannot open another's keys, and a card row moved across entities fails", async () => {
  const a = uniqueEntity('entity-a');
  const b = uniqueEntity('entity-b');
  const keyA = await moto.createKey('entity A');
  const keyB = await moto.createKey('entity B');
  const cfg = kmsConfig(moto, await moto.createKey('default'), { [a]: keyA, [b]: keyB });
  const kms = countingKms(moto);
  const { vault } = kmsVault(pool, cfg, kms);
  const cardA = await vault.tokenize(clientId, a, { number: VISA, expMonth: 1, expYear: nextYear() });
  const cardB = await vault.tokenize(clientId, b, { number: MC, expMonth: 1, expYear: nextYear() });

  const wk = await pool.query<{ id: string; kek_id: string; wrapped: Buffer; legal_entity: string }>(
    `SELECT w.id, w.kek_id, w.wrapped, w.legal_entity FROM cards c JOIN data_keys d ON d.id = c.data_key_id
       JOIN wrapping_keys w ON w.id = d.wrapping_key_id WHERE c.token = $1`,
    [cardA.token],
  );
  const wkA = wk.rows[0]!;
  expect(wkA.kek_id).toBe(keyA);
  // KMS refuses A's wrapped key under B's KEK, and under A's KEK with B's encryption context.
  await expect(
    kms.decryptDataKey(keyB, wkA.wrapped, wrappingKeyContext('card', a, wkA.id)),
  ).rejects.toThrow();
  await expect(
    kms.decryptDataKey(keyA, wkA.wrapped, wrappingKeyContext('card', b, wkA.id)),
  ).rejects.toThrow();
  expect((await kms.decryptDataKey(keyA, wkA.wrapped, wrappingKeyContext('card', a, wkA.id))).length).toBe(
    32,
  );

  // Re-labelling A's card as entity B (a row copied across tenants) makes it unreadable.
  await pool.query('UPDATE cards SET legal_entity = $2 WHERE token = $1', [cardA.token, b]);
  const { vault: fresh } = kmsVault(pool, cfg, countingKms(moto));
  await expect(fresh.reveal(cardA.token)).rejects.toThrow();
  expect((await fresh.reveal(cardB.token))?.number).toBe(MC);
}, 60_000);

test('crypto-shredding destroys the card key; nothing left in the database opens the old ciphertext', async () => {
  const entity = uniqueEntity('shred');
  const cfg = kmsConfig(moto, await moto.createKey());
  const kms = countingKms(moto);
  const audited: Array<{ action: string; resource: string; outcome: string; actor: string }> = [];
  const { vault } = kmsVault(pool, cfg, kms, { audit: (e) => Promise.resolve(void audited.push(e)) });
  const victim = await vault.tokenize(clientId, entity, {
    number: VISA,
    expMonth: 3,
    expYear: nextYear(),
    cvc: '123',
  });
  const neighbour = await vault.tokenize(clientId, entity, { number: MC, expMonth: 3, expYear: nextYear() });

  // What an attacker with a pre-deletion backup of the cards table holds.
  const before = await pool.query<{ pan_ct: Buffer; wrapping_key_id: string }>(
    `SELECT c.pan_ct, d.wrapping_key_id FROM cards c JOIN data_keys d ON d.id = c.data_key_id WHERE c.token = $1`,
    [victim.token],
  );
  const stolenCt = before.rows[0]!.pan_ct;

  expect(await vault.shred(victim.token, clientId)).toBe(true);
  expect(audited).toEqual([
    { action: 'vault.card.shred', resource: `card:${victim.token}`, outcome: 'success', actor: clientId },
  ]);
  expect(await vault.reveal(victim.token)).toBeUndefined();
  expect(await vault.shred(victim.token, clientId)).toBe(false);

  const after = await pool.query<{ pan_ct: Buffer | null; cvc_ct: Buffer | null; wrapped: Buffer | null }>(
    `SELECT c.pan_ct, c.cvc_ct, d.wrapped FROM cards c JOIN data_keys d ON d.id = c.data_key_id WHERE c.token = $1`,
    [victim.token],
  );
  expect(after.rows[0]).toEqual({ pan_ct: null, cvc_ct: null, wrapped: null });

  // Everything that remains, with full KMS access: every live wrapping key, and every data key still
  // wrapped by them. None opens the stolen ciphertext (the victim's key no longer exists anywhere).
  const wks = await pool.query<{ id: string; kek_id: string; wrapped: Buffer; legal_entity: string }>(
    `SELECT id, kek_id, wrapped, legal_entity FROM wrapping_keys WHERE wrapped IS NOT NULL AND legal_entity = $1`,
    [entity],
  );
  expect(wks.rows.map((r) => r.id)).toContain(before.rows[0]!.wrapping_key_id);
  const candidates: Buffer[] = [];
  for (const w of wks.rows) {
    const wkKey = await kms.decryptDataKey(
      w.kek_id,
      w.wrapped,
      wrappingKeyContext('card', w.legal_entity, w.id),
    );
    candidates.push(wkKey);
    const dks = await pool.query<{ wrapped: Buffer; token: string }>(
      `SELECT d.wrapped, c.token FROM data_keys d JOIN cards c ON c.data_key_id = d.id WHERE d.wrapping_key_id = $1
         AND d.wrapped IS NOT NULL`,
      [w.id],
    );
    for (const d of dks.rows) {
      candidates.push(open(wkKey, d.wrapped, dataKeyAad(d.token, entity, w.id)));
    }
  }
  expect(candidates.length).toBeGreaterThanOrEqual(2);
  const aad = `settle:card:${entity}:${victim.token}:pan`;
  for (const k of candidates) expect(() => open(k, stolenCt, aad)).toThrow();

  // The neighbour under the same wrapping key is untouched.
  expect((await vault.reveal(neighbour.token))?.number).toBe(MC);
}, 60_000);

test('GDPR erasure by card number shreds every token of that card and is audited', async () => {
  const entity = uniqueEntity('gdpr');
  const cfg = kmsConfig(moto, await moto.createKey());
  const audited: string[] = [];
  const { vault } = kmsVault(pool, cfg, countingKms(moto), {
    audit: (e) => Promise.resolve(void audited.push(`${e.action}:${e.resource}:${e.actor}`)),
  });
  const t1 = await vault.tokenize(clientId, entity, { number: VISA, expMonth: 4, expYear: nextYear() });
  const t2 = await vault.tokenize(clientId, entity, { number: VISA, expMonth: 5, expYear: nextYear() });
  const other = await vault.tokenize(clientId, entity, { number: MC, expMonth: 5, expYear: nextYear() });
  const erased = await vault.shredByCardNumber(VISA, 'cli:dpo');
  expect(erased.sort()).toEqual([t1.token, t2.token].sort());
  expect(audited.sort()).toEqual(
    [`vault.card.shred:card:${t1.token}:cli:dpo`, `vault.card.shred:card:${t2.token}:cli:dpo`].sort(),
  );
  expect(await vault.reveal(t1.token)).toBeUndefined();
  expect((await vault.reveal(other.token))?.number).toBe(MC);
}, 60_000);

test('an unused CVC is destroyed by the sweep loop once an hour has passed on the vault clock', async () => {
  const entity = uniqueEntity('cvc');
  const cfg = kmsConfig(moto, await moto.createKey());
  let now = new Date();
  const { vault } = kmsVault(pool, cfg, countingKms(moto), { now: () => now });
  const card = await vault.tokenize(clientId, entity, {
    number: VISA,
    expMonth: 6,
    expYear: nextYear(),
    cvc: '321',
  });
  const sweeper = startCvcSweeper({ vault, everyMs: 50 });
  try {
    await sweeper.tick();
    expect((await vault.reveal(card.token))?.cvc).toBe('321');
    now = new Date(now.getTime() + 60 * 60 * 1000 + 1000);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const r = await pool.query<{ cvc_ct: Buffer | null }>('SELECT cvc_ct FROM cards WHERE token = $1', [
        card.token,
      ]);
      if (r.rows[0]?.cvc_ct === null) break;
      if (Date.now() > deadline) throw new Error('the sweep loop did not destroy the expired CVC');
      await new Promise((res) => setTimeout(res, 50));
    }
    const revealed = await vault.reveal(card.token);
    expect(revealed?.number).toBe(VISA);
    expect(revealed?.cvc).toBeUndefined();
  } finally {
    await sweeper.stop();
  }
}, 60_000);

test('kek_versions records the configured KEK per entity as version 1', async () => {
  const entity = uniqueEntity('kekv');
  const key = await moto.createKey();
  const cfg = kmsConfig(moto, await moto.createKey(), { [entity]: key });
  const { vault } = kmsVault(pool, cfg, countingKms(moto));
  await vault.tokenize(clientId, entity, { number: VISA, expMonth: 7, expYear: nextYear() });
  const keks = await createKeysRepo(pool).listKeks(entity);
  expect(keks).toEqual([
    expect.objectContaining({ legalEntity: entity, version: 1, kekId: key, state: 'active' }),
  ]);
}, 60_000);
