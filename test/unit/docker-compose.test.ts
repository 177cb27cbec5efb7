/**
 * No Docker engine runs here, so the production-like stack is checked statically: services, ports
 * and every environment variable name against the config module of the process it configures.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import type { z } from 'zod';
import { apiShape, cardWorkerShape, paymentWorkerShape, webhookWorkerShape } from '../../config/shapes';

type Service = {
  environment?: Record<string, string>;
  ports?: string[];
  command?: string[];
  build?: string;
  image?: string;
};
const compose = parse(fs.readFileSync(path.join(__dirname, '../../docker-compose.yml'), 'utf8'), {
  merge: true,
}) as {
  services: Record<string, Service>;
};
const svc = (name: string): Service => {
  const s = compose.services[name];
  if (!s) throw new Error(`service ${name} missing`);
  return s;
};

/** Variables a process cannot start without (no default, not optional). */
function required(shape: z.ZodRawShape): string[] {
  return Object.entries(shape)
    .filter(([, t]) => !(t as z.ZodType).safeParse(undefined).success)
    .map(([k]) => k);
}

test('the stack has PostgreSQL, Temporal, its UI, the API and both workers', () => {
  for (const name of [
    'postgres',
    'temporal',
    'temporal-ui',
    'api',
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

test('ports agree with the config defaults and the service addresses', () => {
  expect(svc('api').ports).toContain(`${apiShape.PORT.parse(undefined)}:3000`);
  expect(svc('api').environment?.PORT).toBe('3000');
  expect(svc('temporal').ports).toContain('7233:7233');
  expect(svc('api').environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
  expect(svc('card-worker').environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
  expect(svc('postgres').ports).toContain('5432:5432');
  expect(svc('api').environment?.DATABASE_URL).toMatch(/@postgres:5432\//);
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

test('migrations run as the owner; every process connects as the runtime login role', () => {
  expect(svc('migrate').environment?.DATABASE_OWNER_URL).toMatch(/^postgres:\/\/settle:/);
  expect(svc('migrate').environment?.SETTLE_DB_RUNTIME_PASSWORD).toBeDefined();
  for (const name of ['api', 'payment-worker', 'webhook-worker', 'card-worker'])
    expect(svc(name).environment?.DATABASE_URL).toMatch(/^postgres:\/\/settle_runtime:/);
});
