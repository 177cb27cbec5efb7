/**
 * The HTTP POST of a merchant webhook delivery, behind the SSRF guard (security/url-guard.ts):
 * vet the URL, resolve the hostname (every address), refuse if ANY address is refused, then connect
 * to the vetted address only. The socket's `lookup` is pinned to that address, so a second DNS
 * answer (rebinding between check and connect) is never consulted; TLS still verifies the
 * certificate against the hostname (SNI and checkServerIdentity use `host`, not the address).
 * Redirects are not followed (node:http never does): a redirect is not a delivery. One deadline
 * covers the whole attempt (DNS included): a host that never resolves costs no more than one that
 * accepts and hangs.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { checkTargetAddress, checkTargetUrl, type UrlPolicy } from '../security/url-guard';

/** The target is refused by policy: not a transient failure, never retried. */
export class TargetRefusedError extends Error {
  constructor(reason: string) {
    super(`target refused: ${reason}`);
    this.name = 'TargetRefusedError';
  }
}

export type Resolver = (host: string) => Promise<Array<{ address: string; family: number }>>;
const systemResolver: Resolver = (host) => dnsLookup(host, { all: true, verbatim: true });

export interface PinnedTarget {
  url: URL;
  address: string;
  family: 4 | 6;
}

/** Vet the URL and every address its host resolves to; the first vetted address is the one to use. */
export async function vetTarget(
  raw: string,
  policy: UrlPolicy,
  resolve = systemResolver,
): Promise<PinnedTarget> {
  const v = checkTargetUrl(raw, policy);
  if (!v.ok) throw new TargetRefusedError(v.reason);
  if (v.ipLiteral) return { url: v.url, address: v.host, family: v.host.includes(':') ? 6 : 4 };
  const addresses = await resolve(v.host);
  if (addresses.length === 0) throw new Error(`no address for ${v.host}`);
  for (const a of addresses) {
    const ok = checkTargetAddress(a.address, policy);
    if (!ok.ok) throw new TargetRefusedError(`${v.host} ${ok.reason}`);
  }
  const first = addresses[0]!;
  return { url: v.url, address: first.address, family: first.family === 6 ? 6 : 4 };
}

/** A `lookup` that answers only the vetted address, whatever name is asked (single or `all`). */
export function pinnedLookup(address: string, family: 4 | 6): LookupFunction {
  return (_host, options, callback) => {
    if (options.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  };
}

/** POST to a vetted target; resolves with the HTTP status (the body is discarded). */
export function postPinned(
  t: PinnedTarget,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<number> {
  const mod = t.url.protocol === 'https:' ? https : http;
  return new Promise<number>((resolve, reject) => {
    const req = mod.request(
      t.url,
      {
        method: 'POST',
        headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) },
        lookup: pinnedLookup(t.address, t.family),
        // A fresh connection per attempt: a pooled socket could belong to an earlier resolution.
        agent: false,
        signal: AbortSignal.timeout(timeoutMs),
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Rejects with a timeout error once `ms` has passed; the timer never keeps the process alive. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([p, expired]).finally(() => clearTimeout(timer));
}

/** Vet, resolve, pin and POST, all within `timeoutMs`. */
export async function vetAndPost(
  raw: string,
  policy: UrlPolicy,
  resolve: Resolver | undefined,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<number> {
  const started = Date.now();
  const target = await within(vetTarget(raw, policy, resolve), timeoutMs, 'resolving the endpoint');
  return postPinned(target, headers, body, Math.max(1, timeoutMs - (Date.now() - started)));
}
