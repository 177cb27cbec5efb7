/**
 * Infrastructure faults under load. `npm start` (scripts/start.ts) runs on a DATABASE_URL PostgreSQL
 * cluster of its own and an external Temporal dev server (SQLite file, so a restart keeps history).
 * While payments flow through the real API and workers, PostgreSQL is stopped for a few seconds and
 * started again, then the Temporal dev server is restarted. Proves: every payment ends authorized
 * exactly once at the sandbox (0 lost, 0 duplicated, 0 stuck in processing), no child process exits
 * (no "exited" line from npm start), and while a dependency is down the API answers 503 in the
 * contract's shape (type `internal`, code `service_unavailable`), never 500, and /readyz says so.
 * The embedded PostgreSQL case (npm start's default) is in infra-faults-embedded.test.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { startTemporalDevServer, type TemporalDevServer } from '../../scripts/temporal-dev';
import { freePort } from '../../scripts/tools';
import { childExitLines, startNpmStart, type NpmStart } from '../support/npm-start';
import { createPgCluster, type PgCluster } from '../support/pg-cluster';
import { errorShape, ledgerCheck, paymentLoad, type Reply } from '../support/payment-load';

jest.setTimeout(240_000);

const PAYMENTS = 30;
/**
 * How long each dependency stays down: longer than one retry interval, short of any timeout.
 * PostgreSQL stays down past the 10 s a process trusts its view of the active KEK, so any process
 * that still looked keys up in PostgreSQL on the payload codec's hot path would hit the outage.
 */
const PG_OUTAGE_MS = 11_000;
const TEMPORAL_OUTAGE_MS = 6_000;

let cluster: PgCluster;
let temporal: TemporalDevServer;
let temporalPort: number;
let temporalDb: string;
let dataDir: string;
let settle: NpmStart;

async function startTemporal(): Promise<TemporalDevServer> {
  return startTemporalDevServer({
    port: temporalPort,
    dbFile: temporalDb,
    logFile: path.join(dataDir, 'temporal-ext.log'),
  });
}

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'settle-faults-'));
  cluster = await createPgCluster();
  temporalPort = await freePort();
  temporalDb = path.join(dataDir, 'temporal-ext.db');
  temporal = await startTemporal();
  settle = await startNpmStart(
    {
      SETTLE_DATA_DIR: path.join(dataDir, 'settle'),
      DATABASE_URL: cluster.url,
      TEMPORAL_ADDRESS: temporal.address,
      SETTLE_CODEC_PORT: String(await freePort()),
    },
    await freePort(),
  );
}, 200_000);

afterAll(async () => {
  await settle?.stop();
  await temporal?.stop();
  cluster?.destroy();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
}, 120_000);

test('PostgreSQL and Temporal restarts under load: nothing lost, doubled or stuck; 503 not 500; no process exits', async () => {
  const load = paymentLoad({
    api: settle.api,
    accessToken: await settle.accessToken(),
    card: settle.demo().card,
    keyPrefix: `faults-${process.pid}`,
  });
  const errorsDuringOutage: Reply[] = [];
  const payments = load.start(PAYMENTS);
  const first = await Promise.race(payments);
  expect(first.status).toBe('authorized');

  // 1. PostgreSQL down for PG_OUTAGE_MS.
  cluster.stop();
  const pgDownUntil = Date.now() + PG_OUTAGE_MS;
  const readyPgDown = await load.get('/readyz');
  errorsDuringOutage.push(await load.get(`/v1/payments/${first.paymentId}`));
  await delay(Math.max(pgDownUntil - Date.now(), 0));
  cluster.start();
  await settle.until(
    'readiness after the PostgreSQL restart',
    () => load.get('/readyz'),
    (r) => r.status === 200,
  );

  // 2. Temporal down for TEMPORAL_OUTAGE_MS (same port and SQLite file: history survives).
  await temporal.stop();
  const temporalDownUntil = Date.now() + TEMPORAL_OUTAGE_MS;
  const readyTemporalDown = await load.get('/readyz');
  errorsDuringOutage.push(await load.create(`faults-probe-${process.pid}`, 500));
  await delay(Math.max(temporalDownUntil - Date.now(), 0));
  temporal = await startTemporal();

  const outcomes = await Promise.all(payments);

  // One summary, so a failure shows every violated property at once.
  const summary = {
    npmStartRunning: settle.process.exitCode === null,
    childExitsOrRestarts: childExitLines(settle.output()),
    readyzPgDown: [readyPgDown.status, (readyPgDown.body.checks as Record<string, string>)?.database],
    readyzTemporalDown: [
      readyTemporalDown.status,
      (readyTemporalDown.body.checks as Record<string, string>)?.temporal,
    ],
    errorsWhileDown: errorsDuringOutage.map(errorShape),
    fiveHundreds: load.fiveHundreds.length,
    notAuthorized: outcomes.filter((o) => o.status !== 'authorized').map((o) => [o.key, o.status, o.seen]),
  };
  expect(summary).toEqual({
    npmStartRunning: true,
    childExitsOrRestarts: [],
    readyzPgDown: [503, 'unavailable'],
    readyzTemporalDown: [503, 'unavailable'],
    errorsWhileDown: errorsDuringOutage.map(() => [503, 'internal', 'service_unavailable']),
    fiveHundreds: 0,
    notAuthorized: [],
  });

  // 0 lost: every merchant got its own payment; 0 duplicated at the sandbox provider, 0 stuck.
  const ids = outcomes.map((o) => o.paymentId!);
  expect(new Set(ids).size).toBe(PAYMENTS);
  expect(await ledgerCheck(cluster.url, ids)).toEqual({
    authorized: PAYMENTS,
    notExactlyOnce: [],
    stuck: [],
  });
});

test('npm start restarts a crashed child with backoff and says so; the engine keeps paying', async () => {
  const pid = settle.childPid('workers/payment-worker.ts');
  expect(pid).toBeGreaterThan(0);
  const before = settle.output().length;
  process.kill(pid, 'SIGKILL');
  await settle.until(
    'the restart',
    () => Promise.resolve(settle.output().slice(before)),
    (o) => o.includes('[settle] payment-worker restarted'),
    60_000,
  );
  expect(settle.output().slice(before)).toContain(
    '[settle] payment-worker exited unexpectedly (SIGKILL); restarting it in 1 s',
  );
  expect(settle.process.exitCode).toBeNull();
  // The restarted worker serves payments.
  const load = paymentLoad({
    api: settle.api,
    accessToken: await settle.accessToken(),
    card: settle.demo().card,
    keyPrefix: `after-restart-${process.pid}`,
  });
  expect((await load.create(`after-restart-${process.pid}`, 777)).status).toBe(201);
});
