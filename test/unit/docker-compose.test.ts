/**
 * No Docker engine runs here, so the production stack is checked statically: services, exposure,
 * networks, users, image versions, healthchecks, and every process's environment against the config
 * shape of the process it configures, both by name and by running that process's own loader on the
 * environment compose would hand it (the operator having set what the file's header asks for).
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import type { z } from 'zod';
import {
  apiShape,
  cardWorkerShape,
  codecShape,
  migrateShape,
  paymentWorkerShape,
  webhookWorkerShape,
} from '../../config/shapes';
import {
  loadApiConfig,
  loadCardWorkerConfig,
  loadCodecConfig,
  loadMigrateConfig,
  loadPaymentWorkerConfig,
  loadWebhookWorkerConfig,
} from '../../config/load';

type Service = {
  environment?: Record<string, string>;
  ports?: string[];
  command?: string[];
  build?: string;
  image?: string;
  user?: string;
  read_only?: boolean;
  tmpfs?: string[];
  networks?: string[];
  healthcheck?: { test?: string[] };
  depends_on?: Record<string, { condition: string }>;
};
const root = path.join(__dirname, '../..');
const compose = parse(fs.readFileSync(path.join(root, 'docker-compose.yml'), 'utf8'), {
  merge: true,
}) as {
  services: Record<string, Service>;
  networks: Record<string, { internal?: boolean } | null>;
};
const svc = (name: string): Service => {
  const s = compose.services[name];
  if (!s) throw new Error(`service ${name} missing`);
  return s;
};
const services = Object.keys(compose.services);

/** Settle's own processes: built from this repository's Dockerfile. */
const SETTLE = services.filter((n) => svc(n).build === '.');
/** Long-running Settle processes (migrate is a one-shot): they connect as the runtime role. */
const RUNTIME = ['api', 'codec-server', 'payment-worker', 'webhook-worker', 'card-worker'];
/** Services others wait on to finish (migrations, schema, namespace): no healthcheck to give. */
const ONE_SHOTS = new Set(
  services.flatMap((n) =>
    Object.entries(svc(n).depends_on ?? {})
      .filter(([, d]) => d.condition === 'service_completed_successfully')
      .map(([dep]) => dep),
  ),
);

/** Variables a process cannot start without (no default, not optional). */
function required(shape: z.ZodRawShape): string[] {
  return Object.entries(shape)
    .filter(([, t]) => !(t as z.ZodType).safeParse(undefined).success)
    .map(([k]) => k);
}

/** Compose's interpolation: `${X}`, `${X:-default}`, `${X:?message}` (fails like compose when unset). */
function interpolate(value: string, operator: Record<string, string>): string {
  return value.replace(
    /\$\{([A-Z0-9_]+)(?::([-?])([^}]*))?\}/g,
    (_m, name: string, op?: string, arg?: string) => {
      const v = operator[name];
      if (v !== undefined && v !== '') return v;
      if (op === '?') throw new Error(`${name} unset: ${arg}`);
      return op === '-' ? (arg ?? '') : '';
    },
  );
}
const envOf = (name: string, operator: Record<string, string>): Record<string, string> =>
  Object.fromEntries(
    Object.entries(svc(name).environment ?? {}).map(([k, v]) => [k, interpolate(String(v), operator)]),
  );

const key32 = () => randomBytes(32).toString('base64');
const ed25519 = generateKeyPairSync('ed25519');
/** What the file's header asks the operator for, with one of its two key setups. */
const operatorBase = {
  POSTGRES_PASSWORD: 'owner-password-0123456789',
  SETTLE_DB_RUNTIME_PASSWORD: 'runtime-password-0123456789',
  TEMPORAL_DB_PASSWORD: 'temporal-password-0123456789',
  SETTLE_SECRET_ROOT_KEY: key32(),
  SETTLE_FINGERPRINT_KEY: key32(),
  SETTLE_JWT_PRIVATE_KEY: ed25519.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  SETTLE_JWT_PUBLIC_KEYS: ed25519.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  SETTLE_TLS_CERT_PATH: './tls/api.crt',
  SETTLE_TLS_KEY_PATH: './tls/api.key',
};
const KEY_SETUPS: Array<[string, Record<string, string>]> = [
  ['aws-kms', { ...operatorBase, SETTLE_KMS_KEY_ID: 'alias/settle' }],
  ['local trial', { ...operatorBase, SETTLE_KEY_PROVIDER: 'local', SETTLE_LOCAL_MASTER_KEY: key32() }],
];

/** Temporal server and UI releases with Worker Deployments and the UI's codec endpoint, as tested here. */
const MIN_VERSIONS: Record<string, string> = {
  'temporalio/server': '1.32.0',
  'temporalio/admin-tools': '1.32.0',
  'temporalio/ui': '2.54.1',
};
const versionAtLeast = (v: string, min: string) => {
  const a = v.split(/[.-]/).map(Number);
  const b = min.split('.').map(Number);
  for (let i = 0; i < b.length; i++) {
    if ((a[i] ?? 0) !== b[i]) return (a[i] ?? 0) > (b[i] ?? 0);
  }
  return true;
};

test('the stack has PostgreSQL, Temporal, its UI, the codec server, the API and every worker', () => {
  for (const name of [
    'postgres',
    'temporal',
    'temporal-ui',
    'api',
    'codec-server',
    'payment-worker',
    'webhook-worker',
    'card-worker',
    'migrate',
  ]) {
    expect(compose.services[name]).toBeDefined();
  }
  expect(svc('temporal').environment?.DB).toBe('postgres12');
  expect(svc('temporal').environment?.POSTGRES_SEEDS).toBe('postgres');
});

test.each([
  ['api', apiShape, 'dist/api/server.js'],
  ['payment-worker', paymentWorkerShape, 'dist/workers/payment-worker.js'],
  ['webhook-worker', webhookWorkerShape, 'dist/workers/webhook-worker.js'],
  ['card-worker', cardWorkerShape, 'dist/workers/card-worker.js'],
  ['codec-server', codecShape, 'dist/api/codec-server-main.js'],
  ['migrate', migrateShape, 'dist/db/migrate.js'],
] as const)(
  '%s: built from the one Dockerfile, env names known to its config, required ones set',
  (name, shape, entry) => {
    const s = svc(name);
    expect(s.build).toBe('.');
    expect(s.command).toEqual(['node', entry]);
    const env = Object.keys(s.environment ?? {});
    const known = Object.keys(shape);
    expect(env.filter((k) => !known.includes(k))).toEqual([]);
    expect(required(shape).filter((k) => !env.includes(k))).toEqual([]);
  },
);

// Names alone miss cross-variable rules (a key provider without its key): each process's own loader
// runs on what compose would pass it.
const LOADERS: Array<[string, (env: Record<string, string>) => unknown]> = [
  ['api', loadApiConfig],
  ['payment-worker', loadPaymentWorkerConfig],
  ['webhook-worker', loadWebhookWorkerConfig],
  ['card-worker', loadCardWorkerConfig],
  ['codec-server', loadCodecConfig],
  ['migrate', loadMigrateConfig],
];
describe.each(KEY_SETUPS)('with the %s key setup', (_setup, operator) => {
  test.each(LOADERS)('%s starts: its config loads from the compose environment', (name, load) => {
    expect(() => load(envOf(name, operator))).not.toThrow();
  });
});

test('only the API is published to the world; the UI and codec server on loopback only', () => {
  const published = Object.fromEntries(
    services.filter((n) => svc(n).ports?.length).map((n) => [n, svc(n).ports]),
  );
  expect(published).toEqual({
    api: [`${apiShape.PORT.parse(undefined)}:3000`],
    'temporal-ui': ['127.0.0.1:8080:8080'],
    'codec-server': ['127.0.0.1:8888:8888'],
  });
  // The API serves TLS itself (TLS 1.2 minimum, HSTS).
  expect(svc('api').environment?.SETTLE_TLS_CERT_FILE).toBeTruthy();
  expect(svc('api').environment?.SETTLE_TLS_KEY_FILE).toBeTruthy();
  // The UI's page calls the codec server from the operator's browser: both on loopback, and the
  // codec server accepts that one origin.
  expect(svc('temporal-ui').environment?.TEMPORAL_CODEC_ENDPOINT).toBe('http://127.0.0.1:8888');
  expect(svc('codec-server').environment?.SETTLE_CODEC_UI_ORIGIN).toBe('http://127.0.0.1:8080');
});

test('PostgreSQL and Temporal are on the internal network only, with no route out', () => {
  expect(compose.networks.backend?.internal).toBe(true);
  for (const name of ['postgres', 'temporal', 'temporal-schema', 'temporal-init']) {
    expect([name, svc(name).networks]).toEqual([name, ['backend']]);
    expect([name, svc(name).ports]).toEqual([name, undefined]);
  }
  // Every process that talks to them is on it too (TEMPORAL_ADDRESS / DATABASE_URL resolve there).
  for (const name of [...SETTLE, 'temporal-ui'])
    expect([name, svc(name).networks?.includes('backend')]).toEqual([name, true]);
});

test('every Settle process runs as a non-root user on a read-only root filesystem', () => {
  expect(SETTLE).toEqual(expect.arrayContaining([...RUNTIME, 'migrate']));
  for (const name of SETTLE) {
    const s = svc(name);
    expect([name, s.user]).toEqual([name, expect.stringMatching(/^[1-9]\d*(:[1-9]\d*)?$/)]);
    expect([name, s.read_only]).toEqual([name, true]);
    expect([name, s.tmpfs]).toEqual([name, ['/tmp']]);
  }
  const dockerfile = fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8');
  const users = [...dockerfile.matchAll(/^USER\s+(\S+)/gm)].map((m) => m[1]);
  expect(users.at(-1)).toMatch(/^[1-9]\d*(:[1-9]\d*)?$/);
  expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:24-bookworm-slim$/m);
});

test('Temporal images are releases with Worker Deployments and the UI codec endpoint', () => {
  const temporalImages = services.map((n) => svc(n).image ?? '').filter((i) => i.startsWith('temporalio/'));
  expect(temporalImages.some((i) => i.startsWith('temporalio/auto-setup'))).toBe(false); // deprecated
  for (const image of temporalImages) {
    const [repo, tag = ''] = image.split(':');
    const min = MIN_VERSIONS[repo!];
    expect([image, min !== undefined && versionAtLeast(tag, min)]).toEqual([image, true]);
  }
  expect(temporalImages).toEqual(expect.arrayContaining([expect.stringMatching(/^temporalio\/server:/)]));
  expect(temporalImages).toEqual(expect.arrayContaining([expect.stringMatching(/^temporalio\/ui:/)]));
});

test('every long-running service has a healthcheck', () => {
  expect([...ONE_SHOTS].sort()).toEqual(['migrate', 'temporal-init', 'temporal-schema']);
  for (const name of services.filter((n) => !ONE_SHOTS.has(n)))
    expect([name, (svc(name).healthcheck?.test?.length ?? 0) > 0]).toEqual([name, true]);
});

test('worker healthchecks ask the metrics port their own config says', () => {
  const ports: Array<[string, string]> = [
    ['payment-worker', 'SETTLE_PAYMENT_WORKER_METRICS_PORT'],
    ['webhook-worker', 'SETTLE_WEBHOOK_WORKER_METRICS_PORT'],
    ['card-worker', 'SETTLE_CARD_WORKER_METRICS_PORT'],
  ];
  for (const [name, variable] of ports) {
    const port = svc(name).environment?.[variable];
    expect([name, port]).toEqual([name, expect.stringMatching(/^[1-9]\d*$/)]);
    expect(svc(name).healthcheck?.test?.join(' ')).toContain(`127.0.0.1:${port}/`);
  }
});

test('service addresses agree: Temporal, PostgreSQL, the API port', () => {
  expect(svc('api').environment?.PORT).toBe('3000');
  for (const name of ['api', 'payment-worker', 'webhook-worker', 'card-worker'])
    expect(svc(name).environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
  for (const name of RUNTIME) expect(svc(name).environment?.DATABASE_URL).toMatch(/@postgres:5432\/settle$/);
});

test('the workers share task queues with the API', () => {
  for (const k of ['SETTLE_TASK_QUEUE', 'SETTLE_CARD_TASK_QUEUE'] as const) {
    expect(svc('payment-worker').environment?.[k]).toBe(svc('api').environment?.[k]);
    expect(svc('card-worker').environment?.[k]).toBe(svc('api').environment?.[k]);
  }
  expect(svc('webhook-worker').environment?.SETTLE_WEBHOOK_TASK_QUEUE).toBe(
    svc('api').environment?.SETTLE_WEBHOOK_TASK_QUEUE,
  );
});

test('migrations run as the owner; every runtime process connects as the runtime login role', () => {
  expect(svc('migrate').environment?.DATABASE_OWNER_URL).toMatch(/^postgres:\/\/settle:/);
  expect(svc('migrate').environment?.DATABASE_URL).toBeUndefined();
  expect(svc('migrate').environment?.SETTLE_DB_RUNTIME_PASSWORD).toBeDefined();
  for (const name of RUNTIME)
    expect([name, svc(name).environment?.DATABASE_URL]).toEqual([
      name,
      expect.stringMatching(/^postgres:\/\/settle_runtime:/),
    ]);
  // Temporal has its own role, not the owner's.
  expect(svc('temporal').environment?.POSTGRES_USER).toBe('temporal');
});
