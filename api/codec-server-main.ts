/**
 * Codec server process (`npm run codec-server`). Holds payload-key access only (the payload KEK, not
 * the card KEKs) and the JWT public verification key(s) only (it cannot sign tokens); listens on
 * loopback by default. Point the Temporal UI at it with `--ui-codec-endpoint http://127.0.0.1:8888`
 * and set SETTLE_CODEC_UI_ORIGIN to the UI's origin. With SETTLE_TOTP_KEY it also serves the operators'
 * browser sign-in page (/sign-in), whose session cookie the UI's decode requests carry.
 */
import http from 'node:http';
import { configureAuditLog, createAuditLog } from '../db/audit-repo';
import type { AuditEventInput } from '../security/audit';
import { createOperatorsRepo } from '../db/operators-repo';
import { auditKeysFrom, rootKeyFrom } from '../security/purpose-keys';
import { createPool } from '../db/pool';
import { signalReady } from '../config/ready';
import { loadOrExit } from '../config/shapes';
import { loadCodecConfig } from '../config/load';
import { createLogger } from '../security/logger';
import { startMetricsServer } from '../observability/metrics';
import { displayCodec } from '../security/payload-codec';
import { createTokenVerifier, publicKeysFromPem } from '../security/tokens';
import { configurePayloadEncryption } from '../vault/vault-factory';
import { createCodecServer } from './codec-server';
import { createCodecSignIn } from './codec-sign-in';
import { answerClientErrors } from './client-error';

async function main(): Promise<void> {
  const cfg = loadOrExit(() => loadCodecConfig(process.env));
  const log = createLogger({ level: cfg.LOG_LEVEL, name: 'codec-server' });
  configureAuditLog({ keys: auditKeysFrom(rootKeyFrom(cfg.SETTLE_SECRET_ROOT_KEY)), log });
  const pool = createPool(cfg.DATABASE_URL, 'settle-codec-server', 3);
  configurePayloadEncryption(cfg, pool);
  const tokens = createTokenVerifier({
    publicKeys: publicKeysFromPem(cfg.SETTLE_JWT_PUBLIC_KEYS),
    issuer: cfg.SETTLE_JWT_ISSUER,
    audience: cfg.SETTLE_JWT_AUDIENCE,
  });
  const operators = createOperatorsRepo(pool);
  const auditLog = createAuditLog(pool);
  const audit = async (e: Omit<AuditEventInput, 'outcome'> & { outcome: string }) => {
    await auditLog.append({ ...e, outcome: e.outcome === 'success' ? 'success' : 'failure' });
  };
  const app = createCodecServer({
    codec: displayCodec,
    verify: (t) => tokens.verify(t),
    sessions: { touch: (sid, sub) => operators.touchSession(sid, sub, new Date()) },
    audit,
    uiOrigin: cfg.SETTLE_CODEC_UI_ORIGIN,
    signIn: createCodecSignIn({
      operators,
      totpKey: cfg.SETTLE_TOTP_KEY ? Buffer.from(cfg.SETTLE_TOTP_KEY, 'base64') : undefined,
      uiOrigin: cfg.SETTLE_CODEC_UI_ORIGIN,
      publicOrigin: cfg.SETTLE_CODEC_PUBLIC_ORIGIN,
      audit,
    }),
  });
  const server = http.createServer(app);
  answerClientErrors(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(cfg.SETTLE_CODEC_PORT, cfg.SETTLE_CODEC_HOST, resolve);
  });
  log.info(
    {
      host: cfg.SETTLE_CODEC_HOST,
      port: cfg.SETTLE_CODEC_PORT,
      uiOrigin: cfg.SETTLE_CODEC_UI_ORIGIN,
      browserSignIn: Boolean(cfg.SETTLE_TOTP_KEY),
      metricsPort: cfg.SETTLE_CODEC_METRICS_PORT || null,
    },
    'codec server listening',
  );
  // Loopback /metrics like every other process (observability/metrics.ts): decode and encode counts.
  const metrics =
    cfg.SETTLE_CODEC_METRICS_PORT > 0
      ? await startMetricsServer({
          port: cfg.SETTLE_CODEC_METRICS_PORT,
          onError: (err) =>
            log.error(
              { err, port: cfg.SETTLE_CODEC_METRICS_PORT },
              'metrics port unavailable; not serving metrics',
            ),
        })
      : undefined;
  signalReady('codec-server');
  const stop = () =>
    server.close(() => void Promise.all([pool.end(), metrics?.close()]).then(() => process.exit(0)));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`codec server: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
