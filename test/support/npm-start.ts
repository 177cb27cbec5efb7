/**
 * `npm start` (scripts/start.ts) as a test subject: spawned in its own process group with the given
 * environment, its output collected, the demo client and card read from its banner. For tests that
 * break its dependencies under load (test/integration/infra-faults*.test.ts).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { ROOT } from '../../scripts/tools';

export interface NpmStart {
  api: string;
  process: ChildProcess;
  /** Everything npm start and its children printed so far. */
  output(): string;
  /** Polls `probe` until `ok`; fails early, with the output, if npm start exits meanwhile. */
  until<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, ms?: number): Promise<T>;
  /** The demo client's credentials and card token, from the banner. */
  demo(): { clientId: string; clientSecret: string; card: string };
  /** A bearer token of the demo client. */
  accessToken(): Promise<string>;
  /** The pid of the child process running `file` (e.g. 'workers/payment-worker.ts'). */
  childPid(file: string): number;
  /** SIGINT to the whole group (a terminal Ctrl-C), then waits for the exit. */
  stop(): Promise<void>;
}

/** Starts npm start with `env` (on top of this process's, without DATABASE_URL and TEMPORAL_ADDRESS). */
export async function startNpmStart(env: NodeJS.ProcessEnv, apiPort: number): Promise<NpmStart> {
  let output = '';
  const { DATABASE_URL: _d, TEMPORAL_ADDRESS: _t, DATABASE_OWNER_URL: _o, ...rest } = process.env;
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/start.ts')], {
    cwd: ROOT,
    env: { ...rest, PORT: String(apiPort), METRICS_PORT: '0', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  proc.stdout?.on('data', (c: Buffer) => (output += c.toString('utf8')));
  proc.stderr?.on('data', (c: Buffer) => (output += c.toString('utf8')));
  const api = `http://127.0.0.1:${apiPort}`;

  async function until<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, ms = 120_000) {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = await probe().catch(() => undefined);
      if (v !== undefined && ok(v)) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${output.slice(-3000)}`);
      if (proc.exitCode !== null) throw new Error(`npm start exited while waiting for ${what}\n${output}`);
      await delay(200);
    }
  }

  const demo = () => {
    const clientId = /Demo client\s+(cli_\S+)/.exec(output)?.[1];
    const clientSecret = /"clientSecret":"([^"]+)"/.exec(output)?.[1];
    const card = /Demo card\s+(tok_\S+)/.exec(output)?.[1];
    if (!clientId || !clientSecret || !card) throw new Error(`no demo client in the banner\n${output}`);
    return { clientId, clientSecret, card };
  };

  const self: NpmStart = {
    api,
    process: proc,
    output: () => output,
    until,
    demo,
    async accessToken() {
      const { clientId, clientSecret } = demo();
      const r = await fetch(`${api}/v1/auth/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ clientId, clientSecret }),
      });
      return ((await r.json()) as { accessToken: string }).accessToken;
    },
    childPid(file) {
      const ps = spawnSync('ps', ['-o', 'pid=,args=', '--ppid', String(proc.pid)], { encoding: 'utf8' });
      const line = ps.stdout.split('\n').find((l) => l.includes(file));
      return Number(line?.trim().split(/\s+/)[0]);
    },
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null || !proc.pid) return;
      const exited = new Promise((r) => proc.once('exit', r));
      process.kill(-proc.pid, 'SIGINT');
      await Promise.race([exited, delay(60_000)]);
    },
  };
  await until(
    'the banner',
    () => Promise.resolve(output),
    (o) => o.includes('Settle is running.'),
    150_000,
  );
  return self;
}

/** Lines saying a child of npm start exited, was restarted, or a worker failed. */
export const childExitLines = (output: string): string[] =>
  output
    .split('\n')
    .filter((l) => /exited unexpectedly|restarting|restarted|Worker failed|worker failed/.test(l));
