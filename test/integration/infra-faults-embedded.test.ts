/**
 * Infrastructure faults under load, on `npm start`'s embedded default: embedded PostgreSQL (a child
 * of npm start, data under SETTLE_DATA_DIR/pg) and the Temporal dev server, all in a temp data
 * folder on free ports. While payments flow through the real API and workers, the PostgreSQL server
 * is stopped (fast shutdown, as `pg_ctl stop -m fast` or an operator restart does). npm start owns
 * that server, so it is the one that must bring it back: it reports the exit and restarts it with
 * backoff, like any crashed child. Proves: every payment ends authorized exactly once at the sandbox
 * (0 lost, 0 duplicated, 0 stuck), no other child exits, npm start keeps running, and while the
 * database is down the API answers 503 in the contract's shape, never 500.
 * The DATABASE_URL case and the Temporal restart are in infra-faults.test.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { embeddedPgUrl } from '../../scripts/embedded-pg';
import { freePort } from '../../scripts/tools';
import { childExitLines, startNpmStart, type NpmStart } from '../support/npm-start';
import { errorShape, ledgerCheck, paymentLoad, type Reply } from '../support/payment-load';

jest.setTimeout(180_000);

const PAYMENTS = 20;

let dataDir: string;
let pgPort: number;
let settle: NpmStart;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'settle-faults-emb-'));
  pgPort = await freePort();
  settle = await startNpmStart(
    {
      SETTLE_DATA_DIR: path.join(dataDir, 'settle'),
      EMBEDDED_PG_PORT: String(pgPort),
      TEMPORAL_PORT: String(await freePort()),
      TEMPORAL_UI_PORT: String(await freePort()),
      SETTLE_CODEC_PORT: String(await freePort()),
    },
    await freePort(),
  );
}, 200_000);

afterAll(async () => {
  await settle?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
}, 120_000);

/** The postmaster's pid: the first line of postmaster.pid in the embedded data folder. */
const postmasterPid = () =>
  Number(fs.readFileSync(path.join(dataDir, 'settle', 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);

test('embedded PostgreSQL stopped under load: npm start restarts it; nothing lost, doubled or stuck; 503 not 500', async () => {
  const load = paymentLoad({
    api: settle.api,
    accessToken: await settle.accessToken(),
    card: settle.demo().card,
    keyPrefix: `faults-emb-${process.pid}`,
  });
  const payments = load.start(PAYMENTS);
  const first = await Promise.race(payments);
  expect(first.status).toBe('authorized');

  // Fast shutdown of the server itself (SIGINT to the postmaster), not of npm start's child wrapper.
  const pidBefore = postmasterPid();
  const before = settle.output().length;
  process.kill(pidBefore, 'SIGINT');
  // Until npm start says the server is back, every answer is recorded: while it is down they must be
  // 503s in the contract's shape (a probe may still be served just before or after the outage).
  const readyzWhileDown: Reply[] = [];
  const readsWhileDown: Reply[] = [];
  await settle.until(
    'npm start to restart the embedded PostgreSQL',
    async () => {
      readyzWhileDown.push(await load.get('/readyz'));
      readsWhileDown.push(await load.get(`/v1/payments/${first.paymentId}`));
      return settle.output().slice(before);
    },
    (o) => o.includes('[settle] postgres restarted'),
    60_000,
  );
  await settle.until(
    'readiness after the PostgreSQL restart',
    () => load.get('/readyz'),
    (r) => r.status === 200,
  );
  const outcomes = await Promise.all(payments);

  const down = (rs: Reply[]) => rs.filter((r) => r.status !== 200);
  const summary = {
    npmStartRunning: settle.process.exitCode === null,
    postgresRestartedByNpmStart: postmasterPid() !== pidBefore,
    childExits: childExitLines(settle.output().slice(before)),
    readyzWhileDown: [
      ...new Set(
        down(readyzWhileDown).map(
          (r) => `${r.status} ${String((r.body.checks as Record<string, string>)?.database)}`,
        ),
      ),
    ],
    readsWhileDown: [...new Set(down(readsWhileDown).map((r) => errorShape(r).join(' ')))],
    fiveHundreds: load.fiveHundreds.length,
    notAuthorized: outcomes.filter((o) => o.status !== 'authorized').map((o) => [o.key, o.status, o.seen]),
  };
  expect(summary).toEqual({
    npmStartRunning: true,
    postgresRestartedByNpmStart: true,
    // Only PostgreSQL went down, and npm start says what it did about it.
    childExits: [
      '[settle] postgres exited unexpectedly (code 1); restarting it in 1 s',
      '[settle] postgres restarted',
    ],
    readyzWhileDown: ['503 unavailable'],
    readsWhileDown: ['503 internal service_unavailable'],
    fiveHundreds: 0,
    notAuthorized: [],
  });

  // 0 lost: every merchant got its own payment; 0 duplicated, 0 stuck.
  const ids = outcomes.map((o) => o.paymentId!);
  expect(new Set(ids).size).toBe(PAYMENTS);
  expect(await ledgerCheck(embeddedPgUrl(pgPort, 'settle'), ids)).toEqual({
    authorized: PAYMENTS,
    notExactlyOnce: [],
    stuck: [],
  });
});
