/**
 * localstripe (PyPI) for integration tests, plus a recording, fault-injecting HTTP proxy in front of it.
 *
 * startLocalStripe(): spawns the binary (LOCALSTRIPE from .tools/paths.env, else
 * .tools/venv/bin/localstripe) on a free port with `--from-scratch` (never reload a previous run's
 * store) and polls GET /v1/balance until it answers; stop() kills exactly that child.
 *
 * startStripeProxy(): the Stripe SDK talks to this proxy, which forwards to localstripe. It exists
 * because localstripe cannot do three things the tests need:
 *   - it ignores Idempotency-Key, so the proxy RECORDS request headers (never bodies: they carry card
 *     data) and the test asserts that every write carried our deterministic key;
 *   - it cannot fail, so the proxy injects faults: N answers of HTTP 5xx without forwarding, or a
 *     forwarded write whose response is withheld until the client gives up (timeout after effect);
 *   - it never sets `capture_before`, so a test can rewrite one response to carry it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';

const REPO_ROOT = path.resolve(__dirname, '..', '..');

export function localStripeBinary(): string {
  const envFile = path.join(REPO_ROOT, '.tools', 'paths.env');
  if (existsSync(envFile)) {
    for (const line of readFileSync(envFile, 'utf8').split('\n')) {
      const m = /^LOCALSTRIPE=(.+)$/.exec(line.trim());
      if (m?.[1] && existsSync(m[1])) return m[1];
    }
  }
  return path.join(REPO_ROOT, '.tools', 'venv', 'bin', 'localstripe');
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** One GET; resolves with the status code, rejects on connection errors. */
function probe(port: number, pathname: string, apiKey: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: pathname,
        method: 'GET',
        headers: { Authorization: `Bearer ${apiKey}` },
        agent: false,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.setTimeout(1000, () => req.destroy(new Error('probe timeout')));
    req.on('error', reject);
    req.end();
  });
}

export interface LocalStripe {
  port: number;
  apiKey: string;
  stop(): Promise<void>;
}

export async function startLocalStripe(opts: { timeoutMs?: number } = {}): Promise<LocalStripe> {
  const binary = localStripeBinary();
  const port = await freePort();
  const apiKey = 'sk_test_settle_localstripe';
  const child: ChildProcess = spawn(binary, ['--port', String(port), '--from-scratch'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString('utf8')).slice(-4000);
  });
  let exited: number | null | undefined;
  const exitPromise = new Promise<void>((resolve) =>
    child.once('exit', (code) => {
      exited = code;
      resolve();
    }),
  );

  const stop = async (): Promise<void> => {
    if (exited !== undefined) return;
    child.kill('SIGTERM');
    const forced = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exitPromise;
    clearTimeout(forced);
  };

  // Readiness: poll until localstripe answers an authenticated request (no fixed sleep).
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  let delay = 25;
  for (;;) {
    if (exited !== undefined) throw new Error(`localstripe exited (${exited}) before answering: ${stderr}`);
    try {
      if ((await probe(port, '/v1/balance', apiKey)) === 200) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`localstripe did not answer on port ${port}: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 250);
  }
  return { port, apiKey, stop };
}

export interface RecordedRequest {
  method: string;
  path: string;
  idempotencyKey: string | undefined;
}

type ResponseRewrite = {
  match: (method: string, path: string) => boolean;
  rewrite: (body: unknown) => unknown;
};

export interface StripeProxy {
  port: number;
  /** Method, path and Idempotency-Key of every request seen (bodies are never kept). */
  readonly requests: RecordedRequest[];
  /** The next `count` requests get HTTP `status` with a Stripe-shaped error body; nothing is forwarded. */
  failNext(count: number, status?: number): void;
  /** The next request matching `match` gets this status and JSON body instead of being forwarded. */
  respondNext(match: (method: string, path: string) => boolean, status: number, body: unknown): void;
  /**
   * The next write (POST) matching `match` (default: any) is forwarded and takes effect; its response
   * is withheld until the client disconnects (a timeout after the effect).
   */
  loseNextWriteResponse(match?: (method: string, path: string) => boolean): void;
  /** Rewrite the JSON body of the next matching response (e.g. add fields localstripe lacks). */
  rewriteNextResponse(match: ResponseRewrite['match'], rewrite: ResponseRewrite['rewrite']): void;
  reset(): void;
  stop(): Promise<void>;
}

/**
 * What localstripe lacks beyond the three above (list filters, other resources) is added by extension
 * modules (e.g. localstripe-records.ts): each handler is asked, in order, before a request is
 * forwarded, and returns true when it answered the request itself.
 */
export type StripeProxyExtension = (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => boolean;

export async function startStripeProxy(
  targetPort: number,
  opts: { extensions?: StripeProxyExtension[] } = {},
): Promise<StripeProxy> {
  const requests: RecordedRequest[] = [];
  let failures: { count: number; status: number } = { count: 0, status: 500 };
  const canned: Array<{ match: (method: string, path: string) => boolean; status: number; body: unknown }> =
    [];
  const lose: Array<(method: string, path: string) => boolean> = [];
  const rewrites: ResponseRewrite[] = [];

  const server = http.createServer((req, res) => {
    const method = req.method ?? 'GET';
    const urlPath = req.url ?? '/';
    const bare = urlPath.split('?')[0] ?? urlPath;
    const key = req.headers['idempotency-key'];
    requests.push({ method, path: bare, idempotencyKey: typeof key === 'string' ? key : undefined });

    if (failures.count > 0) {
      failures.count -= 1;
      req.resume();
      const body = JSON.stringify({ error: { type: 'api_error', message: 'Injected failure' } });
      res.writeHead(failures.status, { 'Content-Type': 'application/json', 'Request-Id': 'req_injected' });
      res.end(body);
      return;
    }
    const cannedIdx = canned.findIndex((c) => c.match(method, bare));
    if (cannedIdx >= 0) {
      const [c] = canned.splice(cannedIdx, 1);
      req.resume();
      res.writeHead(c!.status, { 'Content-Type': 'application/json', 'Request-Id': 'req_canned' });
      res.end(JSON.stringify(c!.body));
      return;
    }
    const url = new URL(urlPath, 'http://localstripe');
    if ((opts.extensions ?? []).some((handle) => handle(req, res, url))) return;
    const loseIdx = method === 'POST' ? lose.findIndex((m) => m(method, bare)) : -1;
    const withhold = loseIdx >= 0;
    if (withhold) lose.splice(loseIdx, 1);

    const upstream = http.request(
      {
        host: '127.0.0.1',
        port: targetPort,
        method,
        path: urlPath,
        headers: { ...req.headers, host: `127.0.0.1:${targetPort}` },
        agent: false,
      },
      (up) => {
        const chunks: Buffer[] = [];
        up.on('data', (c: Buffer) => chunks.push(c));
        up.on('end', () => {
          if (withhold) {
            // The effect happened upstream; the answer is lost. Hold the socket open until the
            // client times out and closes it (no timer of our own).
            res.on('close', () => undefined);
            return;
          }
          let body = Buffer.concat(chunks);
          const idx = rewrites.findIndex((r) => r.match(method, bare));
          if (idx >= 0) {
            const [rw] = rewrites.splice(idx, 1);
            body = Buffer.from(JSON.stringify(rw!.rewrite(JSON.parse(body.toString('utf8')))));
          }
          const headers = { ...up.headers, 'content-length': String(body.length) };
          delete headers['transfer-encoding'];
          res.writeHead(up.statusCode ?? 502, headers);
          res.end(body);
        });
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: { type: 'api_error', message: 'Proxy upstream error' } }));
    });
    req.pipe(upstream);
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;

  return {
    port,
    requests,
    failNext(count, status = 500) {
      failures = { count, status };
    },
    respondNext(match, status, body) {
      canned.push({ match, status, body });
    },
    loseNextWriteResponse(match = () => true) {
      lose.push(match);
    },
    rewriteNextResponse(match, rewrite) {
      rewrites.push({ match, rewrite });
    },
    reset() {
      failures = { count: 0, status: 500 };
      lose.length = 0;
      rewrites.length = 0;
      canned.length = 0;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
