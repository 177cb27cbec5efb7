/**
 * The Kubernetes manifests as a cluster would receive them: `kubectl kustomize` renders the example
 * overlay and the same invariants as the compose file are checked on the result (non-root, read-only
 * root filesystem, probes, resources, disruption budgets, who may reach the internet, the migration
 * Job, secrets by reference only), and each Deployment's environment against its process's config
 * shape, by name and by running the process's own loader on it.
 */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
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

type Labels = Record<string, string>;
type EnvVar = {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    configMapKeyRef?: { name: string; key: string };
  };
};
type Probe = { exec?: { command: string[] }; httpGet?: object; tcpSocket?: object };
type Container = {
  name: string;
  command?: string[];
  env?: EnvVar[];
  envFrom?: unknown[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: {
    runAsNonRoot?: boolean;
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    capabilities?: { drop?: string[] };
  };
  volumeMounts?: Array<{ name: string; mountPath: string }>;
};
type PodSpec = {
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  containers: Container[];
  volumes?: Array<{ name: string; emptyDir?: object }>;
  restartPolicy?: string;
};
type Selector = { matchLabels?: Labels };
type Rule = { to?: Array<{ ipBlock?: { cidr: string; except?: string[] } }> };
type Doc = {
  kind: string;
  metadata: { name: string; labels?: Labels };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  spec?: {
    selector?: Selector;
    podSelector?: Selector;
    policyTypes?: string[];
    egress?: Rule[];
    template?: { metadata?: { labels?: Labels }; spec: PodSpec };
  };
};

const root = path.join(__dirname, '../..');
const OVERLAY = 'deploy/k8s/overlays/example';
const kubectl = spawnSync('kubectl', ['kustomize', OVERLAY], { cwd: root, encoding: 'utf8' });
const available = !kubectl.error;
if (!available)
  // Not every developer machine has kubectl; CI's image does. Say so instead of passing silently.
  console.warn(`k8s-manifests: kubectl not found, manifests NOT checked (${kubectl.error?.message})`);
const maybe = available ? describe : describe.skip;

const docs: Doc[] = available
  ? parseAllDocuments(kubectl.stdout).map((d) => {
      if (d.errors.length) throw d.errors[0];
      return d.toJS() as Doc;
    })
  : [];
const ofKind = (kind: string) => docs.filter((d) => d.kind === kind);
const component = (d: Doc) => d.metadata.labels?.['app.kubernetes.io/component'] ?? '';
const podLabels = (d: Doc): Labels => d.spec?.template?.metadata?.labels ?? {};
const selects = (sel: Selector | undefined, labels: Labels) =>
  Object.entries(sel?.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
const container = (d: Doc): Container => {
  const c = d.spec?.template?.spec.containers[0];
  if (!c) throw new Error(`${d.metadata.name}: no container`);
  return c;
};

const SHAPES: Record<string, [z.ZodRawShape, (env: Record<string, string>) => unknown, string]> = {
  api: [apiShape, loadApiConfig, 'dist/api/server.js'],
  'payment-worker': [paymentWorkerShape, loadPaymentWorkerConfig, 'dist/workers/payment-worker.js'],
  'webhook-worker': [webhookWorkerShape, loadWebhookWorkerConfig, 'dist/workers/webhook-worker.js'],
  'card-worker': [cardWorkerShape, loadCardWorkerConfig, 'dist/workers/card-worker.js'],
  'codec-server': [codecShape, loadCodecConfig, 'dist/api/codec-server-main.js'],
};

/** Variables a process cannot start without (no default, not optional). */
function required(shape: z.ZodRawShape): string[] {
  return Object.entries(shape)
    .filter(([, t]) => !(t as z.ZodType).safeParse(undefined).success)
    .map(([k]) => k);
}

/** What the cluster's operators put in the Secrets (docs/deploy.md), with made-up values. */
const key32 = () => randomBytes(32).toString('base64');
const ed25519 = generateKeyPairSync('ed25519');
const SECRET_VALUES: Record<string, string> = {
  'settle-secrets/database-url': 'postgres://settle_runtime:runtime-password@db.internal:5432/settle',
  'settle-secrets/secret-root-key': key32(),
  'settle-secrets/fingerprint-key': key32(),
  'settle-secrets/totp-key': key32(),
  'settle-secrets/webhook-key': key32(),
  'settle-secrets/jwt-private-key': ed25519.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  'settle-secrets/jwt-public-keys': ed25519.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  'settle-secrets/stripe-api-key': 'sk_test_placeholder',
  'settle-secrets/stripe-webhook-secrets': 'whsec_placeholder',
  'settle-secrets/braintree-merchant-id': 'merchant',
  'settle-secrets/braintree-public-key': 'public',
  'settle-secrets/braintree-private-key': 'private',
  'settle-db-owner/owner-url': 'postgres://settle:owner-password@db.internal:5432/settle',
  'settle-db-owner/runtime-password': 'runtime-password-0123456789',
};

/** The environment the kubelet would give the container: values, ConfigMap keys, Secret keys. */
function resolveEnv(c: Container): Record<string, string> {
  const config = ofKind('ConfigMap').find((d) => d.metadata.name === 'settle-config')?.data ?? {};
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) {
    const cm = e.valueFrom?.configMapKeyRef;
    const secret = e.valueFrom?.secretKeyRef;
    const v =
      e.value ??
      (cm ? config[cm.key] : undefined) ??
      (secret ? SECRET_VALUES[`${secret.name}/${secret.key}`] : undefined);
    if (v === undefined) throw new Error(`${c.name}: ${e.name} resolves to nothing`);
    env[e.name] = v;
  }
  return env;
}

/** Names that hold secrets: they come from a Secret, never inline or from the ConfigMap. */
const SECRET_NAME = /(_KEY|_KEYS|SECRET|SECRETS|PASSWORD|DATABASE_URL|DATABASE_OWNER_URL)$/;
const NOT_SECRET = new Set(['SETTLE_KMS_KEY_ID', 'SETTLE_KMS_PAYLOAD_KEY_ID']);

maybe('the example overlay, rendered by kubectl kustomize', () => {
  const deployments = ofKind('Deployment');

  test('has the five processes, the migration Job and no Secret at all', () => {
    expect(deployments.map(component).sort()).toEqual(Object.keys(SHAPES).sort());
    for (const d of deployments) expect(container(d).command).toEqual(['node', SHAPES[component(d)]![2]]);
    expect(ofKind('Secret')).toEqual([]);
    expect(docs.filter((d) => d.data !== undefined && d.kind !== 'ConfigMap')).toEqual([]);
    expect(docs.filter((d) => d.stringData !== undefined)).toEqual([]);
  });

  test('every pod runs as non-root with a read-only root filesystem and no privilege escalation', () => {
    for (const d of [...deployments, ...ofKind('Job')]) {
      const pod = d.spec!.template!.spec;
      expect([d.metadata.name, pod.securityContext?.runAsNonRoot]).toEqual([d.metadata.name, true]);
      expect(pod.securityContext?.runAsUser).toBeGreaterThan(0);
      for (const c of pod.containers) {
        expect([d.metadata.name, c.securityContext]).toEqual([
          d.metadata.name,
          expect.objectContaining({
            runAsNonRoot: true,
            readOnlyRootFilesystem: true,
            allowPrivilegeEscalation: false,
            capabilities: { drop: ['ALL'] },
          }),
        ]);
        // The one writable path: /tmp, in memory.
        const tmp = c.volumeMounts?.find((m) => m.mountPath === '/tmp');
        expect(pod.volumes?.find((v) => v.name === tmp?.name)?.emptyDir).toBeDefined();
      }
    }
  });

  test('every Deployment has liveness and readiness probes, resource requests and limits', () => {
    for (const d of deployments) {
      const c = container(d);
      expect([d.metadata.name, !!c.livenessProbe, !!c.readinessProbe]).toEqual([d.metadata.name, true, true]);
      for (const kind of ['requests', 'limits'] as const)
        expect([d.metadata.name, Object.keys(c.resources?.[kind] ?? {}).sort()]).toEqual([
          d.metadata.name,
          ['cpu', 'memory'],
        ]);
    }
  });

  test("worker probes ask the loopback metrics port the worker's own config sets", () => {
    const portVar: Record<string, string> = {
      'payment-worker': 'SETTLE_PAYMENT_WORKER_METRICS_PORT',
      'webhook-worker': 'SETTLE_WEBHOOK_WORKER_METRICS_PORT',
      'card-worker': 'SETTLE_CARD_WORKER_METRICS_PORT',
    };
    for (const d of deployments.filter((x) => portVar[component(x)])) {
      const c = container(d);
      const port = c.env?.find((e) => e.name === portVar[component(d)])?.value;
      expect(port).toMatch(/^[1-9]\d*$/);
      for (const probe of [c.livenessProbe, c.readinessProbe])
        expect(probe?.exec?.command.join(' ')).toContain(`127.0.0.1:${port}/`);
    }
  });

  test('every Deployment has a PodDisruptionBudget selecting its pods', () => {
    for (const d of deployments) {
      const budgets = ofKind('PodDisruptionBudget').filter((p) => selects(p.spec?.selector, podLabels(d)));
      expect([d.metadata.name, budgets.length]).toEqual([d.metadata.name, 1]);
    }
  });

  test('egress is denied by default; only the card worker reaches the providers, the webhook worker merchants', () => {
    const policies = ofKind('NetworkPolicy');
    const applying = (labels: Labels) => policies.filter((p) => selects(p.spec?.podSelector, labels));
    const internet = (labels: Labels) =>
      applying(labels).flatMap((p) =>
        (p.spec?.egress ?? []).flatMap((r) => (r.to ?? []).filter((t) => t.ipBlock?.cidr === '0.0.0.0/0')),
      );
    for (const d of deployments) {
      // Every pod is under a policy with both directions: what no policy allows is denied.
      const types = new Set(applying(podLabels(d)).flatMap((p) => p.spec?.policyTypes ?? []));
      expect([d.metadata.name, [...types].sort()]).toEqual([d.metadata.name, ['Egress', 'Ingress']]);
    }
    const withInternet = deployments.filter((d) => internet(podLabels(d)).length > 0).map(component);
    expect(withInternet.sort()).toEqual(['card-worker', 'webhook-worker']);
    for (const d of deployments.filter((x) => withInternet.includes(component(x))))
      for (const t of internet(podLabels(d)))
        expect(t.ipBlock?.except).toEqual(
          expect.arrayContaining(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16']),
        );
    // The providers' policy selects the card worker's pods and no other process's.
    const providers = policies.find((p) => p.metadata.name === 'settle-card-worker-providers');
    expect(
      deployments.filter((d) => selects(providers?.spec?.podSelector, podLabels(d))).map(component),
    ).toEqual(['card-worker']);
  });

  test('migrations run in a Job as the owner; no Deployment holds the owner credentials', () => {
    const [job, ...more] = ofKind('Job');
    expect(more).toEqual([]);
    const c = job!.spec!.template!.spec.containers[0]!;
    expect(c.command).toEqual(['node', 'dist/db/migrate.js']);
    expect(job!.spec!.template!.spec.restartPolicy).toBe('Never');
    expect(c.env?.find((e) => e.name === 'DATABASE_OWNER_URL')?.valueFrom?.secretKeyRef?.name).toBe(
      'settle-db-owner',
    );
    expect(() => loadMigrateConfig(resolveEnv(c))).not.toThrow();
    const ownerRefs = deployments.filter((d) =>
      (container(d).env ?? []).some((e) => e.valueFrom?.secretKeyRef?.name === 'settle-db-owner'),
    );
    expect(ownerRefs.map((d) => d.metadata.name)).toEqual([]);
    expect(Object.keys(migrateShape)).toEqual(expect.arrayContaining(['DATABASE_OWNER_URL']));
  });

  test('secrets come by reference (secretKeyRef), never inline or from the ConfigMap', () => {
    for (const d of [...deployments, ...ofKind('Job')]) {
      for (const c of d.spec!.template!.spec.containers) {
        expect([d.metadata.name, c.envFrom]).toEqual([d.metadata.name, undefined]);
        for (const e of (c.env ?? []).filter((x) => SECRET_NAME.test(x.name) && !NOT_SECRET.has(x.name)))
          expect([d.metadata.name, e.name, e.value, !!e.valueFrom?.secretKeyRef]).toEqual([
            d.metadata.name,
            e.name,
            undefined,
            true,
          ]);
      }
    }
  });

  test.each(Object.keys(SHAPES))(
    '%s: env names known to its config, required ones set, config loads',
    (name) => {
      const d = deployments.find((x) => component(x) === name)!;
      const [shape, load] = SHAPES[name]!;
      const env = (container(d).env ?? []).map((e) => e.name);
      expect(env.filter((k) => !Object.keys(shape).includes(k))).toEqual([]);
      expect(required(shape).filter((k) => !env.includes(k))).toEqual([]);
      expect(() => load(resolveEnv(container(d)))).not.toThrow();
    },
  );
});
