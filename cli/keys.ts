/**
 * `cli keys status`                      every KEK version: age, cryptoperiod, rotate-by, live keys
 * `cli keys rotate --legal-entity E [--kms-key-id K] [--batch N]`
 *                                        new KEK version (a new KMS key unless K is given), then
 *                                        re-wrap every data key in the background with progress
 * `cli keys rewrap --legal-entity E`     resume an interrupted rotation
 * Rotation runs beside live traffic: old tokens keep working during and after (vault/key-rotation.ts).
 */
import { parseArgs } from 'node:util';
import { createAuditLog } from '../db/audit-repo';
import { createKeysRepo } from '../db/keys-repo';
import { KmsKeyProvider } from '../security/kms-key-provider';
import { createKeyRotation, kekStatus, type RewrapProgress } from '../vault/key-rotation';
import { cliActor, withKeys } from './key-env';
import type { Command } from './command';

const progress = (p: RewrapProgress) =>
  process.stdout.write(
    `  ${p.legalEntity}: re-wrapped ${p.done}/${p.total}${p.failed ? `, ${p.failed} failed` : ''}\n`,
  );

const status: Command = async (args, env) => {
  parseArgs({ args, options: {}, strict: true });
  await withKeys(env, async ({ cfg, pool }) => {
    const rows = await kekStatus(createKeysRepo(pool), cfg.SETTLE_KEK_CRYPTOPERIOD_DAYS);
    process.stdout.write(
      `cryptoperiod: ${cfg.SETTLE_KEK_CRYPTOPERIOD_DAYS} days (SETTLE_KEK_CRYPTOPERIOD_DAYS)\n`,
    );
    if (rows.length === 0) process.stdout.write('no KEK in use yet\n');
    for (const r of rows) {
      process.stdout.write(
        `${r.legalEntity} v${r.version} ${r.state.padEnd(8)} ${r.kekId}  age ${r.ageDays}d  rotate by ${r.rotateBy.slice(0, 10)}` +
          `${r.overdue ? '  OVERDUE' : ''}  live data keys ${r.liveDataKeys}\n`,
      );
    }
  });
};

const rotate: Command = async (args, env) => {
  const { values } = parseArgs({
    args,
    options: {
      'legal-entity': { type: 'string' },
      'kms-key-id': { type: 'string' },
      batch: { type: 'string', default: '200' },
    },
    strict: true,
  });
  const entity = values['legal-entity'];
  if (!entity) throw new Error('--legal-entity is required');
  const batchSize = Number(values.batch);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error('--batch must be a positive integer');
  await withKeys(env, async ({ cfg, pool, hierarchy, vault }) => {
    const keys = createKeysRepo(pool);
    let kekId = values['kms-key-id'];
    if (!kekId) {
      const current = (await keys.listKeks(entity)).at(-1);
      if (cfg.SETTLE_KEY_PROVIDER === 'local') kekId = `local:${entity}:v${(current?.version ?? 1) + 1}`;
      else {
        const kms = new KmsKeyProvider({ region: cfg.AWS_REGION, endpoint: cfg.SETTLE_KMS_ENDPOINT });
        kekId = await kms.createKey(`settle KEK for ${entity}`);
        kms.destroy();
      }
    }
    process.stdout.write(`rotating ${entity} to ${kekId}\n`);
    const audit = createAuditLog(pool);
    try {
      const r = await createKeyRotation({ keys, hierarchy, vault }).rotate(entity, kekId, {
        batchSize,
        onProgress: progress,
      });
      await audit.append({
        actor: cliActor(env),
        action: 'keys.rotate',
        resource: `kek:${entity}:v${r.version}`,
        outcome: r.failed ? 'failure' : 'success',
        details: { kekId, rewrapped: r.done, failed: r.failed, retired: r.kekVersionsRetired },
      });
      process.stdout.write(
        `done: v${r.version} active, ${r.done} data keys re-wrapped, ${r.failed} failed, ` +
          `${r.wrappingKeysDestroyed} old wrapping keys destroyed, ${r.kekVersionsRetired} KEK versions retired\n`,
      );
      if (r.failed) process.exitCode = 1;
    } catch (err) {
      await audit.append({
        actor: cliActor(env),
        action: 'keys.rotate',
        resource: `kek:${entity}`,
        outcome: 'failure',
      });
      throw err;
    }
  });
};

const rewrap: Command = async (args, env) => {
  const { values } = parseArgs({
    args,
    options: { 'legal-entity': { type: 'string' }, batch: { type: 'string', default: '200' } },
    strict: true,
  });
  const entity = values['legal-entity'];
  if (!entity) throw new Error('--legal-entity is required');
  await withKeys(env, async ({ pool, hierarchy, vault }) => {
    const r = await createKeyRotation({ keys: createKeysRepo(pool), hierarchy, vault }).rewrapAll(entity, {
      batchSize: Number(values.batch),
      onProgress: progress,
    });
    process.stdout.write(`done: ${r.done} re-wrapped, ${r.failed} failed, under ${r.kekId}\n`);
    if (r.failed) process.exitCode = 1;
  });
};

export const keyCommands: Record<string, Command> = { status, rotate, rewrap };
