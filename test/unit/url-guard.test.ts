/**
 * SSRF guard (security/url-guard.ts): every refused address class, public addresses, IPv4-mapped
 * IPv6, schemes, credentials and ports, as tables; then the delivery transport
 * (activities/webhook-transport.ts): ANY refused address refuses the target, and the connection goes
 * to the vetted address only (a host that DNS cannot resolve still reaches the pinned address).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { TargetRefusedError, postPinned, vetTarget } from '../../activities/webhook-transport';
import {
  STRICT_URL_POLICY,
  checkTargetAddress,
  checkTargetUrl,
  urlPolicyFromConfig,
  type UrlPolicy,
} from '../../security/url-guard';

const OPEN: UrlPolicy = { allowHttp: true, allowPrivateTargets: true };

describe('checkTargetAddress', () => {
  test.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['::1', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'linkLocal'], // cloud metadata
    ['169.254.0.1', 'linkLocal'],
    ['fe80::1', 'linkLocal'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['100.127.255.255', 'carrierGradeNat'],
    ['fc00::1', 'uniqueLocal'],
    ['fd12:3456::1', 'uniqueLocal'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['ff02::1', 'multicast'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['::', 'unspecified'],
    ['255.255.255.255', 'broadcast'],
    ['192.0.2.1', 'reserved'], // TEST-NET-1
    ['198.51.100.1', 'reserved'], // TEST-NET-2
    ['203.0.113.1', 'reserved'], // TEST-NET-3
    ['198.18.0.1', 'reserved'], // benchmarking
    ['240.0.0.1', 'reserved'],
    ['2001:db8::1', 'reserved'], // documentation
    ['2001:2::1', 'benchmarking'],
    // IPv4-mapped IPv6 is judged by its IPv4 address.
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:169.254.169.254', 'linkLocal'],
    ['::ffff:10.1.2.3', 'private'],
    ['::ffff:100.64.1.1', 'carrierGradeNat'],
    // Deprecated IPv4-compatible IPv6 (::/96, RFC 4291 2.5.5.1) is judged by its IPv4 address too.
    ['::7f00:1', 'loopback'],
    ['::127.0.0.1', 'loopback'],
    ['::a9fe:a9fe', 'linkLocal'],
    ['::10.1.2.3', 'private'],
    ['::c0a8:101', 'private'],
    ['::0:0:7f00:1', 'loopback'],
    // IPv6 forms that embed an IPv4 address (which may be internal).
    ['64:ff9b::a00:1', 'rfc6052'],
    ['2002:a00:1::1', '6to4'],
    ['2001:0:4136:e378::1', 'teredo'],
  ])('%s is refused (%s)', (ip, range) => {
    expect(checkTargetAddress(ip, STRICT_URL_POLICY)).toEqual({
      ok: false,
      reason: `resolves to a non-public address (${range})`,
    });
    // The explicit opt-out (local receivers in tests and development) lets it through.
    expect(checkTargetAddress(ip, OPEN)).toEqual({ ok: true });
  });

  test.each([
    '8.8.8.8',
    '1.1.1.1',
    '93.184.216.34',
    '172.15.255.255', // just below 172.16/12
    '172.32.0.1', // just above
    '100.63.255.255', // just below 100.64/10
    '100.128.0.1', // just above
    '169.253.255.255',
    '2606:4700:4700::1111',
    '2a00:1450:4001:80b::200e',
    '::ffff:8.8.8.8',
  ])('%s (public) is allowed', (ip) => {
    expect(checkTargetAddress(ip, STRICT_URL_POLICY)).toEqual({ ok: true });
  });

  test.each(['localhost', '127.1', '0x7f000001', '2130706433', ''])('%j is not an address', (ip) => {
    expect(checkTargetAddress(ip, OPEN)).toEqual({ ok: false, reason: 'not an IP address' });
  });
});

describe('checkTargetUrl', () => {
  const httpOnly: UrlPolicy = { allowHttp: true, allowPrivateTargets: false };
  test.each<[string, UrlPolicy, string]>([
    ['http://hooks.example.com/x', STRICT_URL_POLICY, 'must be an https URL'],
    ['ftp://hooks.example.com/x', OPEN, 'must be an http(s) URL'],
    ['file:///etc/passwd', OPEN, 'must be an http(s) URL'],
    ['gopher://hooks.example.com/', OPEN, 'must be an http(s) URL'],
    ['not a url', OPEN, 'not a valid URL'],
    ['https://user:pw@hooks.example.com/x', STRICT_URL_POLICY, 'must not contain credentials'],
    ['https://user@hooks.example.com/x', STRICT_URL_POLICY, 'must not contain credentials'],
    ['https://127.0.0.1/x', STRICT_URL_POLICY, 'is a non-public address (loopback)'],
    ['https://169.254.169.254/latest/meta-data/', STRICT_URL_POLICY, 'is a non-public address (linkLocal)'],
    ['https://[::1]:8443/x', STRICT_URL_POLICY, 'is a non-public address (loopback)'],
    ['https://[::ffff:127.0.0.1]/x', STRICT_URL_POLICY, 'is a non-public address (loopback)'],
    ['https://[::7f00:1]/x', STRICT_URL_POLICY, 'is a non-public address (loopback)'],
    ['https://[::127.0.0.1]/x', STRICT_URL_POLICY, 'is a non-public address (loopback)'],
    ['https://[::a9fe:a9fe]/latest/meta-data/', STRICT_URL_POLICY, 'is a non-public address (linkLocal)'],
    ['https://[fd00::1]/x', STRICT_URL_POLICY, 'is a non-public address (uniqueLocal)'],
    ['https://10.0.0.5/x', STRICT_URL_POLICY, 'is a non-public address (private)'],
    ['https://100.100.100.200/x', STRICT_URL_POLICY, 'is a non-public address (carrierGradeNat)'],
    ['https://0.0.0.0/x', STRICT_URL_POLICY, 'is a non-public address (unspecified)'],
    // Shorthand IPv4 spellings are normalized by the URL parser before the check.
    ['http://0x7f.1/x', httpOnly, 'is a non-public address (loopback)'],
    ['http://2130706433/x', httpOnly, 'is a non-public address (loopback)'],
    ['http://0177.0.0.1/x', httpOnly, 'is a non-public address (loopback)'],
  ])('%s is refused', (url, policy, reason) => {
    expect(checkTargetUrl(url, policy)).toEqual({ ok: false, reason });
  });

  test('the port allowlist is applied to explicit and default ports', () => {
    const ports: UrlPolicy = { ...STRICT_URL_POLICY, allowedPorts: [443, 8443] };
    expect(checkTargetUrl('https://hooks.example.com:22/x', ports)).toEqual({
      ok: false,
      reason: 'port 22 is not allowed',
    });
    expect(checkTargetUrl('https://hooks.example.com:8443/x', ports)).toMatchObject({ ok: true, port: 8443 });
    expect(checkTargetUrl('https://hooks.example.com/x', ports)).toMatchObject({ ok: true, port: 443 });
  });

  test.each<[string, UrlPolicy, { host: string; ipLiteral: boolean; port: number }]>([
    [
      'https://hooks.example.com/settle',
      STRICT_URL_POLICY,
      { host: 'hooks.example.com', ipLiteral: false, port: 443 },
    ],
    ['https://8.8.8.8:8443/x', STRICT_URL_POLICY, { host: '8.8.8.8', ipLiteral: true, port: 8443 }],
    [
      'https://[2606:4700::1111]/x',
      STRICT_URL_POLICY,
      { host: '2606:4700::1111', ipLiteral: true, port: 443 },
    ],
    // A hostname is accepted here whatever it resolves to: it is resolved and vetted at delivery.
    ['https://localhost/x', STRICT_URL_POLICY, { host: 'localhost', ipLiteral: false, port: 443 }],
    ['http://hooks.example.com/x', httpOnly, { host: 'hooks.example.com', ipLiteral: false, port: 80 }],
    ['http://127.0.0.1:9000/x', OPEN, { host: '127.0.0.1', ipLiteral: true, port: 9000 }],
  ])('%s is accepted', (url, policy, want) => {
    expect(checkTargetUrl(url, policy)).toMatchObject({ ok: true, ...want });
  });

  test('configuration flags map to the policy (default strict)', () => {
    expect(
      urlPolicyFromConfig({ SETTLE_WEBHOOK_ALLOW_HTTP: 'false', SETTLE_WEBHOOK_ALLOW_PRIVATE: 'false' }),
    ).toEqual(STRICT_URL_POLICY);
    expect(
      urlPolicyFromConfig({ SETTLE_WEBHOOK_ALLOW_HTTP: 'true', SETTLE_WEBHOOK_ALLOW_PRIVATE: 'true' }),
    ).toEqual(OPEN);
  });
});

describe('delivery transport', () => {
  const answers =
    (...addresses: string[]) =>
    () =>
      Promise.resolve(addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));

  test('a hostname is refused if ANY of its addresses is refused', async () => {
    const err = await vetTarget(
      'https://hooks.example.com/x',
      STRICT_URL_POLICY,
      answers('93.184.216.34', '10.0.0.7'),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TargetRefusedError);
    expect((err as Error).message).toBe(
      'target refused: hooks.example.com resolves to a non-public address (private)',
    );
    await expect(
      vetTarget('https://meta.example.com/', STRICT_URL_POLICY, answers('::ffff:169.254.169.254')),
    ).rejects.toThrow('resolves to a non-public address (linkLocal)');
  });

  test('a hostname with only public addresses is pinned to the first one', async () => {
    const t = await vetTarget(
      'https://hooks.example.com/x',
      STRICT_URL_POLICY,
      answers('2606:4700::1111', '93.184.216.34'),
    );
    expect(t).toMatchObject({ address: '2606:4700::1111', family: 6 });
    expect(t.url.hostname).toBe('hooks.example.com');
  });

  test('an IP-literal host is not resolved', async () => {
    const resolve = jest.fn(answers('8.8.8.8'));
    await expect(vetTarget('http://127.0.0.1:1/x', OPEN, resolve)).resolves.toMatchObject({
      address: '127.0.0.1',
      family: 4,
    });
    expect(resolve).not.toHaveBeenCalled();
  });

  test('the connection goes to the vetted address, never to a second resolution', async () => {
    const seen: Array<{ host: string | undefined; body: string }> = [];
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ host: req.headers.host, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      // `.invalid` never resolves (RFC 6761): the request can only arrive through the pinned lookup.
      const resolve = jest.fn(answers('127.0.0.1'));
      const t = await vetTarget(`http://rebind.invalid:${port}/hook`, OPEN, resolve);
      const status = await postPinned(t, { 'Content-Type': 'application/json' }, '{"a":1}', 5_000);
      expect(status).toBe(204);
      expect(resolve).toHaveBeenCalledTimes(1);
      expect(seen).toEqual([{ host: `rebind.invalid:${port}`, body: '{"a":1}' }]);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
