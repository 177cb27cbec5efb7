/**
 * Benchmark: card tokenization + decryption through AWS KMS (moto), with the wrapping-key cache
 * (candidate, default limits) against a baseline without it (maxUses = 1: one KMS data key per card,
 * what a naive envelope scheme costs). Both run here, now, on this machine, and the report is ratios:
 * throughput, KMS calls and heap growth. No absolute threshold is asserted anywhere.
 *
 *   npm run bench            (DATABASE_URL optional: a throwaway database is created either way)
 *   BENCH_CARDS=500 npm run bench
 *
 * Card numbers are synthetic (random digits + Luhn check digit), made at run time.
 */
import { randomInt } from 'node:crypto';
import { createPool } from '../db/pool';
import { createTestDatabase, migrateDatabase } from '../test/support/database';
import { startMoto } from '../test/support/moto';
import {
  countingKms,
  insertClient,
  kmsConfig,
  kmsVault,
  nextYear,
  uniqueEntity,
} from '../test/support/vault-fixtures';

function syntheticPan(): string {
  const body = `4${Array.from({ length: 14 }, () => randomInt(10)).join('')}`;
  // Luhn check digit for body + '0'
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let d = Number(body[body.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return body + String((10 - (sum % 10)) % 10);
}

interface Result {
  label: string;
  opsPerSec: number;
  kmsCalls: number;
  heapDeltaMb: number;
}

async function main(): Promise<void> {
  const cards = Number(process.env.BENCH_CARDS ?? 200);
  const db = await createTestDatabase();
  migrateDatabase(db.url);
  const moto = await startMoto();
  const pool = createPool(db.url, 'settle-bench', 5);
  try {
    const clientId = await insertClient(pool);
    const key = await moto.createKey('bench KEK');
    const pans = Array.from({ length: cards }, syntheticPan);

    async function run(label: string, maxUses: number): Promise<Result> {
      const provider = countingKms(moto);
      const cfg = kmsConfig(moto, key);
      const { vault } = kmsVault(pool, cfg, provider, { maxUses });
      const entity = uniqueEntity('bench');
      global.gc?.();
      const heap0 = process.memoryUsage().heapUsed;
      const t0 = process.hrtime.bigint();
      for (const number of pans) {
        const meta = await vault.tokenize(clientId, entity, {
          number,
          expMonth: 12,
          expYear: nextYear(),
          cvc: '123',
        });
        const card = await vault.reveal(meta.token, 'bench');
        if (card?.number !== number) throw new Error('round trip failed');
      }
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const heapDeltaMb = (process.memoryUsage().heapUsed - heap0) / 1024 / 1024;
      return {
        label,
        opsPerSec: (2 * cards) / seconds,
        kmsCalls: provider.calls.generate + provider.calls.decrypt,
        heapDeltaMb,
      };
    }

    // Warm-up so JIT and connections do not favour whichever runs second.
    await run('warm-up', 10_000);
    const baseline = await run('baseline: no cache (1 KMS data key per card)', 1);
    const candidate = await run('candidate: wrapping-key cache (default limits)', 10_000);

    const row = (r: Result) =>
      `${r.label.padEnd(48)} ${r.opsPerSec.toFixed(1).padStart(9)} ops/s ${String(r.kmsCalls).padStart(6)} KMS calls ${r.heapDeltaMb.toFixed(1).padStart(7)} MB heap`;
    process.stdout.write(
      [
        `vault tokenize+reveal, ${cards} cards, KMS = moto on loopback`,
        row(baseline),
        row(candidate),
        `ratios candidate/baseline: throughput x${(candidate.opsPerSec / baseline.opsPerSec).toFixed(2)}, ` +
          `KMS calls x${(candidate.kmsCalls / baseline.kmsCalls).toFixed(3)}, heap growth x${(candidate.heapDeltaMb / Math.max(baseline.heapDeltaMb, 0.001)).toFixed(2)}`,
        '',
      ].join('\n'),
    );
  } finally {
    await pool.end();
    await moto.stop();
    await db.drop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
