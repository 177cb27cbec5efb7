/**
 * The payload keyring keeps the Temporal codec off the database: the current key and known key ids
 * come from memory, refreshes run in the background and their failures are reported, not thrown,
 * until a hard bound; a worker's codec therefore survives a PostgreSQL or KMS outage.
 */
/* eslint-disable @typescript-eslint/require-await -- the fake keeps the source's async signatures */
import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import { createEncryptionCodec } from '../../security/payload-codec';
import { createCachingKeyring, type PayloadKeySource } from '../../vault/payload-keyring';

interface FakeSource extends PayloadKeySource {
  down: boolean;
  calls: { current: number; byId: number; retire: number };
  keys: Map<string, Buffer>;
  currentId: string;
  rotate(): void;
}

function source(): FakeSource {
  let n = 0;
  const keys = new Map<string, Buffer>();
  const s: FakeSource = {
    down: false,
    calls: { current: 0, byId: 0, retire: 0 },
    keys,
    currentId: '',
    rotate() {
      s.currentId = `wk_${++n}`;
      keys.set(s.currentId, randomBytes(32));
    },
    async current() {
      s.calls.current++;
      if (s.down) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
      return { id: s.currentId, key: keys.get(s.currentId)! };
    },
    async byId(id: string) {
      s.calls.byId++;
      if (s.down) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
      const k = keys.get(id);
      if (!k) throw new Error('unknown key');
      return k;
    },
    retireCurrent() {
      s.calls.retire++;
      s.rotate();
    },
  };
  s.rotate();
  return s;
}

/** Lets background refreshes (promise chains) settle: no timers involved. */
const settle = () => new Promise((r) => setImmediate(r));

test('the current key is served from memory; a refresh runs only once it is due', async () => {
  const src = source();
  let t = 0;
  const ring = createCachingKeyring(src, { now: () => t, refreshMs: 1000 });
  const first = await ring.current();
  for (let i = 0; i < 50; i++) expect((await ring.current()).id).toBe(first.id);
  expect(src.calls.current).toBe(1);
  t = 1500;
  src.rotate();
  expect((await ring.current()).id).toBe(first.id); // served while the refresh runs
  await settle();
  expect((await ring.current()).id).toBe(src.currentId);
  expect(src.calls.current).toBe(2);
});

test('while the source is down the cached key keeps serving; failures are reported, not thrown', async () => {
  const src = source();
  let t = 0;
  const errors: unknown[] = [];
  const ring = createCachingKeyring(src, {
    now: () => t,
    refreshMs: 1000,
    maxStaleMs: 60_000,
    onRefreshError: (e) => errors.push(e),
  });
  const { id } = await ring.current();
  src.down = true;
  for (t = 1000; t < 30_000; t += 700) {
    expect((await ring.current()).id).toBe(id);
    await settle();
  }
  expect(errors.length).toBeGreaterThan(0);
  // Backoff: far fewer attempts than calls.
  expect(src.calls.current).toBeLessThan(20);
  src.down = false;
  src.rotate();
  t += 60_000; // past the backoff and the refresh age: the next call triggers a refresh that lands
  await ring.current();
  await settle();
  expect((await ring.current()).id).toBe(src.currentId);
});

test('past the hard staleness bound, encode waits for a fresh key and fails loudly if there is none', async () => {
  const src = source();
  let t = 0;
  const ring = createCachingKeyring(src, { now: () => t, maxStaleMs: 10_000, onRefreshError: () => {} });
  await ring.current();
  src.down = true;
  t = 10_001;
  await expect(ring.current()).rejects.toThrow(/ECONNREFUSED/);
});

test('a key used rotateUses times is retired: the next refresh brings a new one', async () => {
  const src = source();
  const ring = createCachingKeyring(src, { rotateUses: 3 });
  const first = (await ring.current()).id;
  await ring.current();
  await ring.current();
  await ring.current(); // 4th use: refresh due (3 uses), served from cache meanwhile
  await settle();
  expect(src.calls.retire).toBe(1);
  expect((await ring.current()).id).not.toBe(first);
});

test('the codec encodes and decodes known key ids with the database down', async () => {
  const src = source();
  const ring = createCachingKeyring(src, { onRefreshError: () => {} });
  await ring.warm();
  const codec = createEncryptionCodec(() => ring);
  const [before] = await codec.encode([defaultPayloadConverter.toPayload({ a: 1 })]);
  src.down = true;
  const [during] = await codec.encode([defaultPayloadConverter.toPayload({ b: 2 })]);
  const out = await codec.decode([before!, during!]);
  expect(out.map((p) => defaultPayloadConverter.fromPayload(p))).toEqual([{ a: 1 }, { b: 2 }]);
  expect(src.calls.byId).toBe(0);
  // An id this process never saw still needs the source (and fails while it is down).
  src.down = false;
  const other = createCachingKeyring(src);
  src.rotate();
  const [foreign] = await createEncryptionCodec(() => other).encode([defaultPayloadConverter.toPayload('x')]);
  src.down = true;
  await expect(codec.decode([foreign!])).rejects.toThrow(/ECONNREFUSED/);
});
