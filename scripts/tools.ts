/** Reads .tools/paths.env written by scripts/provision-tools.sh. */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..');

export function toolPaths(): Record<string, string> {
  const file = path.join(ROOT, '.tools', 'paths.env');
  if (!fs.existsSync(file)) {
    throw new Error(
      'Tools are not provisioned: run `bash scripts/provision-tools.sh` (npm start and npm test do it for you)',
    );
  }
  const out: Record<string, string> = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m?.[1] && m[2] !== undefined) out[m[1]] = m[2];
  }
  return out;
}

export function toolPath(
  name: 'TEMPORAL_CLI' | 'TEMPORAL_TEST_SERVER' | 'MOTO_SERVER' | 'LOCALSTRIPE',
): string {
  const p = toolPaths()[name];
  if (!p || !fs.existsSync(p)) throw new Error(`${name} is missing: run \`bash scripts/provision-tools.sh\``);
  return p;
}

/** A free TCP port on loopback (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** True when something accepts TCP connections on host:port. */
export function portOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Poll `check` until it is true or `timeoutMs` passes (readiness of a child process, not a test sleep). */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 60_000,
  everyMs = 200,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
