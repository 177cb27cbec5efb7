/**
 * Everything the payments bench runs against, and its teardown: a Temporal dev server (started here,
 * or the one at TEMPORAL_ADDRESS), a fresh migrated database (on DATABASE_URL's server, else an
 * embedded PostgreSQL), Settle's stack (test/support/stack.ts: the Express app, payment + card
 * workers, sandbox provider) behind a listening loopback HTTP server, and the ceiling workers on task
 * queues of their own with their own bundle (bench/payments/workflows.ts).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { startTemporalDevServer, type TemporalDevServer } from '../../scripts/temporal-dev';
import { freePort } from '../../scripts/tools';
import {
  createTestDatabase,
  migrateDatabase,
  runtimeUrl,
  type TestDatabase,
} from '../../test/support/database';
import { startStack, stopAllStacks, type Stack } from '../../test/support/stack';
import { createNoopActivities } from './activities';
import { parentPid, pidListeningOn } from './measure';

/** The stack's shared pool in the bench: the API's, payment worker's and card worker's pools of 10. */
export const SETTLE_POOL_SIZE = 30;

export interface BenchEnv {
  stack: Stack;
  baseUrl: string;
  /** Plain client (default data converter) for the ceilings and for reading histories. */
  ceilingClient: Client;
  ceilingQueue: string;
  ceilingCardQueue: string;
  temporalPid: number | undefined;
  postgresPid: number | undefined;
  /** The Temporal server was there before the bench (its workflows are terminated at the end). */
  reusedTemporal: boolean;
  sharedDatabaseServer: boolean;
  stop(): Promise<void>;
}

export async function setUp(log: (line: string) => void): Promise<BenchEnv> {
  const undo: Array<() => Promise<unknown>> = [];
  const stop = async () => {
    for (const fn of undo.splice(0).reverse())
      await fn().catch((err: unknown) => log(`cleanup: ${String(err)}`));
  };
  try {
    const artifacts = fs.mkdtempSync(path.join(os.tmpdir(), 'settle-bench-'));
    undo.push(() => fs.promises.rm(artifacts, { recursive: true, force: true }));

    let temporalAddress = process.env.TEMPORAL_ADDRESS;
    let temporalPid: number | undefined;
    let server: TemporalDevServer | undefined;
    if (temporalAddress) {
      const port = Number(temporalAddress.split(':').pop());
      temporalPid = Number(process.env.TEMPORAL_PID) || pidListeningOn(port);
      log(`Temporal: reusing ${temporalAddress} (pid ${temporalPid ?? 'not found: no server CPU'})`);
    } else {
      // On disk with WAL, as `npm start` runs it: in-memory SQLite would flatter the server's cost.
      server = await startTemporalDevServer({
        port: await freePort(),
        dbFile: path.join(artifacts, 'temporal.sqlite'),
        logFile: path.join(artifacts, 'temporal.log'),
      });
      undo.push(() => server!.stop());
      temporalAddress = server.address;
      temporalPid = server.process.pid;
      log(`Temporal: dev server started at ${temporalAddress} (pid ${temporalPid})`);
    }

    const db: TestDatabase = await createTestDatabase();
    undo.push(() => db.drop());
    migrateDatabase(db.url);
    log(`PostgreSQL: ${process.env.DATABASE_URL ? 'a fresh database on DATABASE_URL' : 'embedded'}`);
    // What test/support/stack.ts reads (the integration global setup sets the same).
    process.env.SETTLE_TEST_TEMPORAL_ADDRESS = temporalAddress;
    process.env.SETTLE_TEST_DATABASE_URL = db.url;
    process.env.SETTLE_TEST_RUNTIME_DATABASE_URL = runtimeUrl(db.url);
    process.env.SETTLE_TEST_SECRET_ROOT_KEY = randomBytes(32).toString('base64');

    // One pool stands for the API's, the payment worker's and the card worker's (10 each in
    // production): the stack's test default of 5 would make Settle wait for connections it has.
    const stack = await startStack({ poolSize: SETTLE_POOL_SIZE });
    undo.push(() => stopAllStacks());
    const backend = await stack.pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const postgresPid = parentPid(backend.rows[0]!.pid);

    const httpServer = http.createServer(stack.app);
    await new Promise<void>((r) => httpServer.listen(0, '127.0.0.1', r));
    undo.push(
      () =>
        new Promise<void>((r) => {
          httpServer.closeAllConnections();
          httpServer.close(() => r());
        }),
    );
    const baseUrl = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;

    const connection = await Connection.connect({ address: temporalAddress });
    undo.push(() => connection.close());
    const ceilingClient = new Client({ connection });
    const native = await NativeConnection.connect({ address: temporalAddress });
    undo.push(() => native.close());
    const suffix = randomBytes(4).toString('hex');
    const ceilingQueue = `bench-ceiling-${suffix}`;
    const ceilingCardQueue = `bench-ceiling-card-${suffix}`;
    // Two workers like Settle's payment + card workers, with SDK defaults as theirs are.
    const workers = [
      await Worker.create({
        connection: native,
        taskQueue: ceilingQueue,
        workflowsPath: require.resolve('./workflows'),
        activities: createNoopActivities(),
      }),
      await Worker.create({
        connection: native,
        taskQueue: ceilingCardQueue,
        activities: createNoopActivities(),
      }),
    ];
    const runs = workers.map((w) => w.run());
    undo.push(async () => {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await Promise.allSettled(runs);
    });

    return {
      stack,
      baseUrl,
      ceilingClient,
      ceilingQueue,
      ceilingCardQueue,
      temporalPid,
      postgresPid,
      reusedTemporal: !server,
      sharedDatabaseServer: Boolean(process.env.DATABASE_URL),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
