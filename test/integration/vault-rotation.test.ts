/**
 * KEK rotation under load against moto's KMS: while two other "processes" keep tokenizing and
 * revealing, the entity's KEK is rotated and every data key re-wrapped in batches. Every card
 * (written before, during and after) decrypts afterwards, nothing live stays under the old KEK, the
 * old wrapping keys are destroyed and the old KEK version retired.
 */
import { createKeysRepo } from '../../db/keys-repo';
import { createPool, type Pool } from '../../db/pool';
import { createKeyRotation, kekStatus, type RewrapProgress } from '../../vault/key-rotation';
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

const CARDS = ['4242424242424242', '4000000000000002', '4111111111111111', '5555555555554444'];

let moto: Moto;
let pool: Pool;
let clientId: string;

beforeAll(async () => {
  moto = await startMoto();
  pool = createPool(testDatabaseUrl(), 'settle-test-vault-rotation', 8);
  clientId = await insertClient(pool);
}, 90_000);
afterAll(async () => {
  await pool?.end();
  await moto?.stop();
});

test('rotating the KEK under load loses no card and leaves nothing under the old KEK', async () => {
  const entity = uniqueEntity('rotate');
  const oldKek = await moto.createKey('v1');
  const newKek = await moto.createKey('v2');
  const cfg = kmsConfig(moto, oldKek);
  const keys = createKeysRepo(pool);
  // Small use counts so the load spreads cards over many wrapping keys.
  const opts = { maxUses: 7, kekRefreshMs: 300 };
  const api = kmsVault(pool, cfg, countingKms(moto), opts);
  const cardWorker = kmsVault(pool, cfg, countingKms(moto), opts);
  const operator = kmsVault(pool, cfg, countingKms(moto), opts);

  const expected = new Map<string, string>();
  const tokenize = async (i: number) => {
    const number = CARDS[i % CARDS.length]!;
    const meta = await api.vault.tokenize(clientId, entity, {
      number,
      expMonth: 1 + (i % 12),
      expYear: nextYear(),
    });
    expected.set(meta.token, number);
  };
  for (let i = 0; i < 60; i++) await tokenize(i);

  // Load: tokenize and reveal continuously (bounded) until the rotation is done.
  let rotating = true;
  const loadErrors: unknown[] = [];
  let loadOps = 0;
  const load = async (offset: number) => {
    let i = offset;
    while (rotating && loadOps < 2000) {
      try {
        await tokenize(i);
        const tokens = [...expected.keys()];
        const t = tokens[(i * 7) % tokens.length]!;
        expect((await cardWorker.vault.reveal(t))?.number).toBe(expected.get(t));
      } catch (err) {
        loadErrors.push(err);
      }
      i += 2;
      loadOps++;
    }
  };
  const progress: RewrapProgress[] = [];
  const rotation = createKeyRotation({ keys, hierarchy: operator.hierarchy, vault: operator.vault });
  const loads = [load(1000), load(1001)];
  let report;
  try {
    report = await rotation.rotate(entity, newKek, { batchSize: 10, onProgress: (p) => progress.push(p) });
  } finally {
    rotating = false;
    await Promise.all(loads);
  }

  expect(loadErrors).toEqual([]);
  expect(loadOps).toBeGreaterThan(0);
  expect(report.version).toBe(2);
  expect(report.failed).toBe(0);
  expect(report.done).toBeGreaterThanOrEqual(60);
  expect(report.kekVersionsRetired).toBe(1);
  expect(report.wrappingKeysDestroyed).toBeGreaterThan(0);
  // Progress was reported batch by batch and only grew.
  expect(progress.length).toBeGreaterThan(1);
  for (let i = 1; i < progress.length; i++)
    expect(progress[i]!.done).toBeGreaterThanOrEqual(progress[i - 1]!.done);

  // Nothing live under the old KEK; its wrapping keys are destroyed; v1 retired, v2 active.
  const under = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM data_keys WHERE legal_entity = $1 AND wrapped IS NOT NULL AND kek_id <> $2`,
    [entity, newKek],
  );
  expect(under.rows[0]!.n).toBe(0);
  const oldWks = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM wrapping_keys WHERE legal_entity = $1 AND kek_id = $2 AND wrapped IS NOT NULL`,
    [entity, oldKek],
  );
  expect(oldWks.rows[0]!.n).toBe(0);
  const status = (await kekStatus(keys, 365)).filter((s) => s.legalEntity === entity);
  expect(status.map((s) => [s.version, s.kekId, s.state])).toEqual([
    [1, oldKek, 'retired'],
    [2, newKek, 'active'],
  ]);
  expect(status[1]!.liveDataKeys).toBe(expected.size);
  expect(status[1]!.overdue).toBe(false);

  // Every card decrypts afterwards, from a process that has never seen the old keys.
  const after = kmsVault(pool, cfg, countingKms(moto));
  for (const [token, number] of expected) expect((await after.vault.reveal(token))?.number).toBe(number);
  process.stdout.write(
    `rotation: ${expected.size} cards, ${loadOps} load ops, report ${JSON.stringify(report)}\n`,
  );
}, 180_000);

test('the cryptoperiod report flags a KEK older than its cryptoperiod', async () => {
  const entity = uniqueEntity('period');
  const kek = await moto.createKey();
  const cfg = kmsConfig(moto, kek);
  const { vault } = kmsVault(pool, cfg, countingKms(moto));
  await vault.tokenize(clientId, entity, { number: CARDS[0]!, expMonth: 2, expYear: nextYear() });
  const keys = createKeysRepo(pool);
  const in400Days = new Date(Date.now() + 400 * 86_400_000);
  const [now] = (await kekStatus(keys, 365)).filter((s) => s.legalEntity === entity);
  const [later] = (await kekStatus(keys, 365, in400Days)).filter((s) => s.legalEntity === entity);
  expect(now).toMatchObject({ overdue: false, liveDataKeys: 1, cryptoperiodDays: 365 });
  expect(later).toMatchObject({ overdue: true, ageDays: 400 });
}, 60_000);
