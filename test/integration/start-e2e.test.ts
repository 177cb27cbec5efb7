/**
 * The README's first command, end to end: `npm start`'s script on a fresh data folder brings the
 * engine up on embedded defaults (its own Temporal dev server and embedded PostgreSQL), the printed
 * example authorizes a payment, a second start refuses, Ctrl-C (SIGINT) stops every process, and the
 * payment is still there after a restart. Also: stopped PostgreSQL / Temporal give a clear message.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, portOpen, ROOT } from '../../scripts/tools';

jest.setTimeout(240_000);

interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** Every `npm start` this file ran: a failed assertion must not leave an engine running. */
const started: Running[] = [];

function startSettle(env: NodeJS.ProcessEnv): Running {
  let out = '';
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/start.ts')], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, as in a terminal: Ctrl-C (ctrlC below) signals the whole group.
    detached: true,
  });
  child.stdout?.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const running = { child, output: () => out, exited };
  started.push(running);
  return running;
}

/** A terminal's Ctrl-C: SIGINT to every process in the foreground process group. */
function ctrlC(r: Running): void {
  if (r.child.pid) process.kill(-r.child.pid, 'SIGINT');
}

async function until(what: string, check: () => boolean, ms = 180_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Run the banner's shell example exactly as a user would paste it. */
function runExample(banner: string): string {
  const start = banner.indexOf('TOKEN=$(curl');
  const end = banner.indexOf('Ctrl-C stops everything');
  const script = banner.slice(start, end);
  const r = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
  return r.stdout;
}

let dataDir: string;
let env: NodeJS.ProcessEnv;
let apiPort: number;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'settle-start-'));
  apiPort = await freePort();
  const { DATABASE_URL: _d, TEMPORAL_ADDRESS: _t, ...rest } = process.env;
  env = {
    ...rest,
    SETTLE_DATA_DIR: dataDir,
    PORT: String(apiPort),
    TEMPORAL_PORT: String(await freePort()),
    TEMPORAL_UI_PORT: String(await freePort()),
    EMBEDDED_PG_PORT: String(await freePort()),
    METRICS_PORT: '0',
    SETTLE_CODEC_PORT: String(await freePort()),
    LOG_LEVEL: 'warn',
  };
});
afterAll(async () => {
  // Ctrl-C, as a user would: the script stops its workers, API, Temporal and PostgreSQL in order.
  const left = started.filter((r) => r.child.exitCode === null && r.child.signalCode === null);
  for (const r of left) ctrlC(r);
  await Promise.all(left.map((r) => r.exited));
  fs.rmSync(dataDir, { recursive: true, force: true });
}, 120_000);

test('npm start: up, example pays, second start refuses, Ctrl-C stops all, state survives restart', async () => {
  const first = startSettle(env);
  await until(
    'the banner',
    () => first.output().includes('Settle is running.') || first.child.exitCode !== null,
  );
  expect(first.output()).toContain('Settle is running.');
  // The dev server's Web UI decodes through the codec server, whose operator sign-in page is up.
  const uiSettings = (await (
    await fetch(`http://127.0.0.1:${env.TEMPORAL_UI_PORT}/api/v1/settings`)
  ).json()) as { Codec: { Endpoint: string } };
  expect(uiSettings.Codec.Endpoint).toBe(`http://127.0.0.1:${env.SETTLE_CODEC_PORT}`);
  expect((await fetch(`http://127.0.0.1:${env.SETTLE_CODEC_PORT}/sign-in`)).status).toBe(200);

  const paid = JSON.parse(runExample(first.output())) as { id: string; status: string; amount: number };
  expect(paid).toMatchObject({ status: 'authorized', amount: 1999 });

  const second = startSettle(env);
  expect(await second.exited).toBe(1);
  expect(second.output()).toMatch(/already running \(pid \d+/);
  expect(second.output()).not.toMatch(/\n\s+at /);

  ctrlC(first);
  expect(await first.exited).toBe(0);
  expect(first.output()).toContain('[settle] stopped');
  expect(first.output()).not.toMatch(/\n\S*\s+at /); // no child died with a stack trace
  expect(fs.existsSync(path.join(dataDir, 'settle.lock'))).toBe(false);
  expect(await portOpen(apiPort)).toBe(false);
  expect(await portOpen(Number(env.TEMPORAL_PORT))).toBe(false);
  expect(await portOpen(Number(env.EMBEDDED_PG_PORT))).toBe(false);

  const again = startSettle(env);
  await until(
    'the banner after restart',
    () => again.output().includes('Settle is running.') || again.child.exitCode !== null,
  );
  const banner = again.output();
  const token = /TOKEN=\$\(curl[\s\S]*?sed -E 's\/\.\*"accessToken":"\(\[\^"\]\+\)"\.\*\/\\1\/'\)/.exec(
    banner,
  )?.[0];
  expect(token).toBeDefined();
  const r = spawnSync(
    'bash',
    [
      '-c',
      `${token}\ncurl -s http://127.0.0.1:${apiPort}/v1/payments/${paid.id} -H "Authorization: Bearer $TOKEN"`,
    ],
    { encoding: 'utf8' },
  );
  expect(JSON.parse(r.stdout)).toMatchObject({ id: paid.id, status: 'authorized', amount: 1999 });
  ctrlC(again);
  expect(await again.exited).toBe(0);
});

test('a stopped PostgreSQL or Temporal server gives a clear message, not a stack trace', async () => {
  const closed = String(await freePort());
  const pg = startSettle({
    ...env,
    SETTLE_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'settle-nopg-')),
    DATABASE_URL: `postgres://x@127.0.0.1:${closed}/x`,
    TEMPORAL_PORT: String(await freePort()),
    TEMPORAL_UI_PORT: String(await freePort()),
  });
  expect(await pg.exited).toBe(1);
  expect(pg.output()).toContain('Cannot reach PostgreSQL at DATABASE_URL');
  expect(pg.output()).not.toMatch(/\n\s+at /);

  const api = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'api/server.ts')], {
    cwd: ROOT,
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: process.env.SETTLE_TEST_DATABASE_URL,
      TEMPORAL_ADDRESS: `127.0.0.1:${closed}`,
      ...secretsFrom(dataDir),
      METRICS_PORT: '0',
      PORT: String(await freePort()),
    },
  });
  expect(api.status).toBe(1);
  expect(api.stderr).toContain(`Cannot reach the Temporal server at 127.0.0.1:${closed}`);
  expect(api.stderr).not.toMatch(/\n\s+at /);
});

function secretsFrom(dir: string): Record<string, string> {
  return JSON.parse(fs.readFileSync(path.join(dir, 'secrets.json'), 'utf8')) as Record<string, string>;
}
