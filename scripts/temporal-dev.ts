/**
 * Starts the Temporal dev server (Temporal CLI `server start-dev`) with the engine's search
 * attributes registered. Used by `npm start` (SQLite file, WAL pragmas, Web UI) and by the
 * integration tests (in-memory, headless, free ports).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTE_REGISTRATIONS } from '../workflows/search-attributes';
import { portOpen, toolPath, waitFor } from './tools';

export interface TemporalDevServer {
  address: string;
  uiUrl?: string | undefined;
  process: ChildProcess;
  stop(): Promise<void>;
}

export async function startTemporalDevServer(opts: {
  port: number;
  uiPort?: number | undefined;
  dbFile?: string | undefined;
  logFile?: string | undefined;
  /** Own process group (npm start: Ctrl-C reaches only the orchestrator, which stops it last). */
  detached?: boolean;
  /** The Web UI decodes payloads through this codec server (api/codec-server.ts). */
  codecEndpoint?: string | undefined;
}): Promise<TemporalDevServer> {
  if (await portOpen(opts.port)) {
    throw new Error(`port ${opts.port} is already in use: is another Temporal server running?`);
  }
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(opts.port),
    '--log-level',
    'error',
  ];
  if (opts.uiPort) {
    args.push('--ui-port', String(opts.uiPort));
    if (opts.codecEndpoint) args.push('--ui-codec-endpoint', opts.codecEndpoint);
  } else args.push('--headless');
  if (opts.dbFile) {
    args.push(
      '--db-filename',
      opts.dbFile,
      '--sqlite-pragma',
      'journal_mode=wal',
      '--sqlite-pragma',
      'synchronous=normal',
    );
  }
  for (const [name, type] of SEARCH_ATTRIBUTE_REGISTRATIONS)
    args.push('--search-attribute', `${name}=${type}`);
  // Local dev server: allow the larger update rate the tests and the demo need.
  args.push('--dynamic-config-value', 'frontend.enableUpdateWorkflowExecution=true');
  args.push('--dynamic-config-value', 'frontend.enableExecuteMultiOperation=true');

  const out = opts.logFile ? fs.openSync(opts.logFile, 'a') : 'ignore';
  const child = spawn(toolPath('TEMPORAL_CLI'), args, {
    stdio: ['ignore', out, out],
    detached: opts.detached ?? false,
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  const address = `127.0.0.1:${opts.port}`;
  await waitFor(
    'the Temporal dev server',
    async () => {
      if (exited) throw new Error('exited');
      const conn = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await conn.workflowService.getSystemInfo({});
        return true;
      } finally {
        await conn.close();
      }
    },
    90_000,
    300,
  ).catch((err: unknown) => {
    child.kill('SIGKILL');
    throw new Error(
      `Temporal dev server did not start${opts.logFile ? ` (see ${opts.logFile})` : ''}: ${String(err)}`,
    );
  });

  return {
    address,
    uiUrl: opts.uiPort ? `http://127.0.0.1:${opts.uiPort}` : undefined,
    process: child,
    async stop() {
      if (exited) return;
      const done = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await done;
      clearTimeout(timer);
    },
  };
}
