/**
 * Infrastructure faults under load. `npm start` (scripts/start.ts) runs on a DATABASE_URL PostgreSQL
 * cluster of its own and an external Temporal dev server (SQLite file, so a restart keeps history).
 * While payments flow through the real API and workers, PostgreSQL is stopped for a few seconds and
 * started again, then the Temporal dev server is restarted. Proves: every payment ends authorized
 * exactly once at the sandbox (0 lost, 0 duplicated, 0 stuck in processing), no child process exits
 * (no "exited" line from npm start), and while a dependency is down the API answers 503 in the
 * contract's shape (type `internal`, code `service_unavailable`), never 500, and /readyz says so.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Client } from 'pg';
import { startTemporalDevServer, type TemporalDevServer } from '../../scripts/temporal-dev';
import { freePort, ROOT } from '../../scripts/tools';
import { createPgCluster, type PgCluster } from '../support/pg-cluster';

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
let settle: ChildProcess;
let output = '';
let api = '';

async function startTemporal(): Promise<TemporalDevServer> {
  return startTemporalDevServer({
    port: temporalPort,
    dbFile: temporalDb,
    logFile: path.join(dataDir, 'temporal-ext.log'),
  });
}

async function until<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, ms = 120_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined && ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${output.slice(-3000)}`);
    if (settle.exitCode !== null) throw new Error(`npm start exited while waiting for ${what}\n${output}`);
    await delay(200);
  }
}

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'settle-faults-'));
  cluster = await createPgCluster();
  temporalPort = await freePort();
  temporalDb = path.join(dataDir, 'temporal-ext.db');
  temporal = await startTemporal();
  const apiPort = await freePort();
  api = `http://127.0.0.1:${apiPort}`;
  const { DATABASE_URL: _d, TEMPORAL_ADDRESS: _t, ...rest } = process.env;
  settle = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/start.ts')], {
    cwd: ROOT,
    env: {
      ...rest,
      SETTLE_DATA_DIR: path.join(dataDir, 'settle'),
      DATABASE_URL: cluster.url,
      TEMPORAL_ADDRESS: temporal.address,
      PORT: String(apiPort),
      METRICS_PORT: '0',
      SETTLE_CODEC_PORT: String(await freePort()),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  settle.stdout?.on('data', (c: Buffer) => (output += c.toString('utf8')));
  settle.stderr?.on('data', (c: Buffer) => (output += c.toString('utf8')));
  await until(
    'the banner',
    () => Promise.resolve(output),
    (o) => o.includes('Settle is running.'),
    150_000,
  );
}, 200_000);

afterAll(async () => {
  if (settle && settle.exitCode === null && settle.pid) {
    const exited = new Promise((r) => settle.once('exit', r));
    process.kill(-settle.pid, 'SIGINT');
    await Promise.race([exited, delay(60_000)]);
  }
  await temporal?.stop();
  cluster?.destroy();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
}, 120_000);

interface Outcome {
  key: string;
  paymentId?: string;
  status?: string;
  /** Every HTTP status this payment's client saw, in order. */
  seen: number[];
}

test('PostgreSQL and Temporal restarts under load: nothing lost, doubled or stuck; 503 not 500; no process exits', async () => {
  const clientId = /Demo client\s+(cli_\S+)/.exec(output)?.[1];
  const clientSecret = /"clientSecret":"([^"]+)"/.exec(output)?.[1];
  const card = /Demo card\s+(tok_\S+)/.exec(output)?.[1];
  expect([clientId, clientSecret, card].every(Boolean)).toBe(true);
  const tokenRes = await fetch(`${api}/v1/auth/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ clientId, clientSecret }),
  });
  const { accessToken } = (await tokenRes.json()) as { accessToken: string };
  const auth = { Authorization: `Bearer ${accessToken}` };
  const errorsDuringOutage: Array<{ status: number; body: unknown }> = [];
  const fiveHundreds: Array<{ path: string; body: string }> = [];

  const get = async (p: string) => {
    // A refused connection is recorded as status 0: the API process is gone.
    const r = await fetch(`${api}${p}`, { headers: auth }).catch(() => undefined);
    if (!r) return { status: 0, body: {} as Record<string, unknown> };
    const text = await r.text();
    if (r.status === 500) fiveHundreds.push({ path: p, body: text });
    return { status: r.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };

  /** One merchant: retries the same key until the payment has an outcome, as the contract says. */
  async function pay(i: number): Promise<Outcome> {
    const o: Outcome = { key: `faults-${process.pid}-${i}`, seen: [] };
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      if (o.paymentId) {
        const g = await get(`/v1/payments/${o.paymentId}`).catch(() => undefined);
        if (g) o.seen.push(g.status);
        if (g?.status === 200 && g.body.status !== 'processing') {
          o.status = g.body.status as string;
          return o;
        }
      } else {
        const r = await fetch(`${api}/v1/payments`, {
          method: 'POST',
          headers: { ...auth, 'Content-Type': 'application/json', 'Idempotency-Key': o.key },
          body: JSON.stringify({
            amount: 1000 + i,
            currency: 'USD',
            paymentMethod: { token: card },
            capture: 'manual',
          }),
        }).catch(() => undefined);
        if (r) {
          o.seen.push(r.status);
          const text = await r.text();
          const body = (text ? JSON.parse(text) : {}) as {
            id?: string;
            status?: string;
            error?: { details?: { paymentId?: string } };
          };
          if (r.status === 500) fiveHundreds.push({ path: '/v1/payments', body: text });
          if (r.status === 201 && body.id) {
            o.paymentId = body.id;
            o.status = body.status;
            return o;
          }
          if (body.error?.details?.paymentId) o.paymentId = body.error.details.paymentId;
        }
      }
      await delay(300);
    }
    return o;
  }

  // The load: one merchant every 150 ms, so payments are at every stage when the faults hit.
  const load = Array.from({ length: PAYMENTS }, (_, i) => delay(i * 150).then(() => pay(i)));
  const first = await Promise.race(load);
  expect(first.status).toBe('authorized');

  // 1. PostgreSQL down for PG_OUTAGE_MS.
  cluster.stop();
  const pgDownUntil = Date.now() + PG_OUTAGE_MS;
  const readyPgDown = await get('/readyz');
  const readPgDown = await get(`/v1/payments/${first.paymentId}`);
  errorsDuringOutage.push(readPgDown);
  await delay(Math.max(pgDownUntil - Date.now(), 0));
  cluster.start();
  await until(
    'readiness after the PostgreSQL restart',
    () => get('/readyz'),
    (r) => r.status === 200,
  );

  // 2. Temporal down for TEMPORAL_OUTAGE_MS (same port and SQLite file: history survives).
  await temporal.stop();
  const temporalDownUntil = Date.now() + TEMPORAL_OUTAGE_MS;
  const readyTemporalDown = await get('/readyz');
  const createTemporalDown = await fetch(`${api}/v1/payments`, {
    method: 'POST',
    headers: {
      ...auth,
      'Content-Type': 'application/json',
      'Idempotency-Key': `faults-probe-${process.pid}`,
    },
    body: JSON.stringify({ amount: 500, currency: 'USD', paymentMethod: { token: card }, capture: 'manual' }),
  }).catch(() => undefined);
  const createBody = ((await createTemporalDown?.json()) ?? {}) as Record<string, unknown>;
  errorsDuringOutage.push({ status: createTemporalDown?.status ?? 0, body: createBody });
  await delay(Math.max(temporalDownUntil - Date.now(), 0));
  temporal = await startTemporal();

  const outcomes = await Promise.all(load);

  // One summary, so a failure shows every violated property at once.
  const summary = {
    npmStartRunning: settle.exitCode === null,
    childExitsOrRestarts: output
      .split('\n')
      .filter((l) => /exited unexpectedly|restarting|Worker failed/.test(l)),
    readyzPgDown: [readyPgDown.status, (readyPgDown.body.checks as Record<string, string>)?.database],
    readyzTemporalDown: [
      readyTemporalDown.status,
      (readyTemporalDown.body.checks as Record<string, string>)?.temporal,
    ],
    errorsWhileDown: errorsDuringOutage.map((e) => {
      const err = (e.body as { error?: { type?: string; code?: string } }).error;
      return [e.status, err?.type, err?.code];
    }),
    fiveHundreds: fiveHundreds.length,
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

  // 0 lost: every merchant got its own payment.
  const ids = outcomes.map((o) => o.paymentId!);
  expect(new Set(ids).size).toBe(PAYMENTS);

  // 0 duplicated: exactly one authorization per payment at the sandbox provider, none for others.
  const db = new Client({ connectionString: cluster.url });
  await db.connect();
  try {
    const ops = await db.query<{ payment_id: string; n: number }>(
      `SELECT t.payment_id, count(*)::int AS n FROM sandbox_transactions t
        JOIN sandbox_operations o ON o.reference = t.reference AND o.kind = 'authorize'
       WHERE t.payment_id = ANY($1) GROUP BY 1`,
      [ids],
    );
    expect(ops.rows.length).toBe(PAYMENTS);
    expect(ops.rows.filter((r) => r.n !== 1)).toEqual([]);
    const stuck = await db.query(`SELECT id FROM payments WHERE status = 'processing' AND id = ANY($1)`, [
      ids,
    ]);
    expect(stuck.rows).toEqual([]);
  } finally {
    await db.end();
  }
});

test('npm start restarts a crashed child with backoff and says so; the engine keeps paying', async () => {
  const ps = spawnSync('ps', ['-o', 'pid=,args=', '--ppid', String(settle.pid)], { encoding: 'utf8' });
  const line = ps.stdout.split('\n').find((l) => l.includes('workers/payment-worker.ts'));
  const pid = Number(line?.trim().split(/\s+/)[0]);
  expect(pid).toBeGreaterThan(0);
  const before = output.length;
  process.kill(pid, 'SIGKILL');
  await until(
    'the restart',
    () => Promise.resolve(output.slice(before)),
    (o) => o.includes('[settle] payment-worker restarted'),
    60_000,
  );
  expect(output.slice(before)).toContain(
    '[settle] payment-worker exited unexpectedly (SIGKILL); restarting it in 1 s',
  );
  expect(settle.exitCode).toBeNull();
  // The restarted worker serves payments.
  const clientId = /Demo client\s+(cli_\S+)/.exec(output)?.[1];
  const clientSecret = /"clientSecret":"([^"]+)"/.exec(output)?.[1];
  const card = /Demo card\s+(tok_\S+)/.exec(output)?.[1];
  const { accessToken } = (await (
    await fetch(`${api}/v1/auth/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ clientId, clientSecret }),
    })
  ).json()) as { accessToken: string };
  const r = await fetch(`${api}/v1/payments`, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${accessToken}`,
      'Content-Type': 'application/json',
      'Idempotency-Key': `after-restart-${process.pid}`,
    },
    body: JSON.stringify({ amount: 777, currency: 'USD', paymentMethod: { token: card }, capture: 'manual' }),
  });
  expect(r.status).toBe(201);
});
