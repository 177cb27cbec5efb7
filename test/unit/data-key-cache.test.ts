/** The wrapping-key cache: bounded age AND bounded uses; one load per miss however many callers. */
import { randomBytes } from 'node:crypto';
import { createDataKeyCache, type CachedKey } from '../../security/data-key-cache';

function loader() {
  let n = 0;
  const load = () => Promise.resolve<CachedKey>({ id: `k${++n}`, key: randomBytes(32), kekId: 'kek' });
  return { load, count: () => n };
}

test('a key is handed out at most maxUses times, then a new one is loaded', async () => {
  const cache = createDataKeyCache({ maxAgeMs: 60_000, maxUses: 3 });
  const l = loader();
  const ids: string[] = [];
  for (let i = 0; i < 7; i++) ids.push((await cache.use('slot', l.load)).id);
  expect(ids).toEqual(['k1', 'k1', 'k1', 'k2', 'k2', 'k2', 'k3']);
  expect(l.count()).toBe(3);
});

test('a key older than maxAgeMs is never handed out again (controllable clock)', async () => {
  let now = 1_000_000;
  const cache = createDataKeyCache({ maxAgeMs: 1000, maxUses: 1_000_000, now: () => now });
  const l = loader();
  expect((await cache.use('s', l.load)).id).toBe('k1');
  now += 999;
  expect((await cache.use('s', l.load)).id).toBe('k1');
  now += 1;
  expect((await cache.use('s', l.load)).id).toBe('k2');
  expect(cache.stats()).toMatchObject({ expired: 1, misses: 2, hits: 1 });
});

test('concurrent misses share one load (single flight), and slots are independent', async () => {
  const cache = createDataKeyCache({ maxAgeMs: 60_000, maxUses: 100 });
  const l = loader();
  const got = await Promise.all(Array.from({ length: 20 }, () => cache.use('a', l.load)));
  expect(new Set(got.map((g) => g.id)).size).toBe(1);
  expect(l.count()).toBe(1);
  expect((await cache.use('b', l.load)).id).toBe('k2');
});

test('concurrent callers beyond maxUses each still get a key within its limit', async () => {
  const cache = createDataKeyCache({ maxAgeMs: 60_000, maxUses: 2 });
  const l = loader();
  const got = await Promise.all(Array.from({ length: 6 }, () => cache.use('a', l.load)));
  const perKey = new Map<string, number>();
  for (const g of got) perKey.set(g.id, (perKey.get(g.id) ?? 0) + 1);
  for (const n of perKey.values()) expect(n).toBeLessThanOrEqual(2);
  expect(l.count()).toBe(3);
});

test('a failed load is not cached; limits must be positive', async () => {
  const cache = createDataKeyCache({ maxAgeMs: 1000, maxUses: 5 });
  await expect(cache.use('s', () => Promise.reject(new Error('kms down')))).rejects.toThrow('kms down');
  const l = loader();
  expect((await cache.use('s', l.load)).id).toBe('k1');
  expect(() => createDataKeyCache({ maxAgeMs: 0, maxUses: 1 })).toThrow(RangeError);
});
