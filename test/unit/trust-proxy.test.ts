/**
 * SETTLE_TRUST_PROXY decides whose X-Forwarded-For the API believes, and through it the source
 * address the admin allowlist and the audit log see. A catch-all (`true`, `0.0.0.0/0`, `::/0`, a
 * /1 hidden after a valid entry, the whole IPv4-mapped space) would let any client pick its address:
 * refused at start, naming the variable. Proxy lists of real size still load.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { ConfigError } from '../../config/shapes';
import { loadApiConfig } from '../../config/load';

const env = (SETTLE_TRUST_PROXY: string) => ({
  DATABASE_URL: 'postgres://u@127.0.0.1:5432/db',
  SETTLE_LOCAL_MASTER_KEY: randomBytes(32).toString('base64'),
  SETTLE_FINGERPRINT_KEY: randomBytes(32).toString('base64'),
  SETTLE_JWT_PRIVATE_KEY: generateKeyPairSync('ed25519')
    .privateKey.export({ format: 'pem', type: 'pkcs8' })
    .toString(),
  SETTLE_TRUST_PROXY,
});

function problems(v: string): string[] {
  try {
    loadApiConfig(env(v));
  } catch (err) {
    // Only this variable's verdict (other variables may be required by other parts of the config).
    if (err instanceof ConfigError) return err.problems.filter((p) => p.startsWith('SETTLE_TRUST_PROXY'));
    throw err;
  }
  return [];
}

test.each([
  'true',
  '0.0.0.0/0',
  '::/0',
  'loopback,0.0.0.0/1',
  '10.0.0.0/7',
  '128.0.0.0/1',
  '2000::/3',
  '::ffff:0:0/96',
  '::ffff:0.0.0.0/100',
  '10.0.0.0/0.0.0.0',
  'not-an-address',
  '10.0.0.1/33',
  '1,10.0.0.1',
])('%j is refused naming SETTLE_TRUST_PROXY', (v) => {
  const p = problems(v);
  expect(p).toHaveLength(1);
  expect(p[0]).toMatch(/^SETTLE_TRUST_PROXY: /);
});

test.each([
  'false',
  '1',
  '2',
  'loopback',
  'loopback,linklocal,uniquelocal',
  '10.0.0.0/8',
  '10.1.2.3',
  '127.0.0.1/32,::1/128',
  '172.16.0.0/12, 192.168.0.0/16',
  'fd00::/32',
  '2001:db8::/48',
  '::ffff:10.0.0.0/104',
  '10.0.0.0/255.0.0.0',
])('%j is accepted', (v) => {
  expect(problems(v)).toEqual([]);
});
