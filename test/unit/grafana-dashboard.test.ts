/**
 * docs/grafana/settle-dashboard.json queries only metrics the code exports: every PromQL expression
 * in it is parsed (Prometheus's own grammar, lezer-promql), each metric it selects is looked up in
 * prom-client's registry as filled by observability/metrics.ts (a histogram exports _bucket, _sum
 * and _count). A renamed metric, or a panel for one nobody defines, fails here instead of showing
 * "No data" to an operator.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { LRParser } from '@lezer/lr' with { 'resolution-mode': 'import' };

// The package is ESM with a CommonJS build (its `require` export), which is what jest loads here.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { parser } = require('@prometheus-io/lezer-promql') as { parser: LRParser };
import { register } from 'prom-client';
import '../../observability/metrics';

const DASHBOARD = path.join(__dirname, '../../docs/grafana/settle-dashboard.json');

/** Every `expr` string anywhere in a dashboard (panels, rows' nested panels, templating). */
function expressions(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const x of node) expressions(x, out);
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === 'expr' && typeof v === 'string') out.push(v);
      else expressions(v, out);
    }
  }
  return out;
}

/** Grafana's interval variables are not PromQL: a duration stands in for them before parsing. */
const asPromQl = (expr: string) => expr.replace(/\$__(rate_interval|interval|range)\b|\$\{__\w+\}/g, '5m');

/** Parse one expression: the metric names it selects, and the text of any part that did not parse. */
function analyse(expr: string): { metrics: string[]; errors: string[] } {
  const q = asPromQl(expr);
  const metrics: string[] = [];
  const errors: string[] = [];
  parser.parse(q).iterate({
    enter(n) {
      if (n.type.isError) errors.push(`${JSON.stringify(q.slice(n.from, n.to))} at ${n.from}`);
      if (n.type.name === 'VectorSelector') {
        const id = n.node.getChild('Identifier');
        if (id) metrics.push(q.slice(id.from, id.to));
      }
      // {__name__="x"} selects a metric too.
      if (n.type.name === 'UnquotedLabelMatcher') {
        const text = q.slice(n.from, n.to);
        const m = /^__name__\s*=\s*"([^"]+)"$/.exec(text);
        if (m?.[1]) metrics.push(m[1]);
      }
    },
  });
  return { metrics, errors };
}

/** Names a scrape of this process shows for Settle's metrics. */
async function exportedNames(): Promise<Set<string>> {
  const names = new Set<string>();
  for (const m of await register.getMetricsAsJSON()) {
    names.add(m.name);
    if (String(m.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(m.name + s);
    if (String(m.type) === 'summary') for (const s of ['_sum', '_count']) names.add(m.name + s);
  }
  return names;
}

/** What is wrong with a dashboard: expressions that do not parse, metrics nobody exports. */
async function problems(dashboard: unknown) {
  const exported = await exportedNames();
  const unparsed: string[] = [];
  const missing = new Set<string>();
  for (const expr of expressions(dashboard)) {
    const { metrics, errors } = analyse(expr);
    if (errors.length || metrics.length === 0) unparsed.push(`${expr}: ${errors.join(', ') || 'no metric'}`);
    for (const m of metrics) if (!exported.has(m)) missing.add(m);
  }
  return { unparsed, missing: [...missing].sort() };
}

const dashboard = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8')) as {
  panels: Array<{ title: string; targets?: Array<{ expr: string }> }>;
};

test('every expression parses and selects only metrics Settle exports', async () => {
  const exprs = expressions(dashboard);
  expect(exprs.length).toBeGreaterThanOrEqual(10);
  expect(await problems(dashboard)).toEqual({ unparsed: [], missing: [] });
});

test('the dashboard shows payments, declines and errors, provider p99, queue depth and breaker state', () => {
  const used = new Set(expressions(dashboard).flatMap((e) => analyse(e).metrics));
  expect([...used].sort()).toEqual(
    expect.arrayContaining([
      'settle_payment_transitions_total',
      'settle_provider_call_duration_seconds_bucket',
      'settle_provider_call_duration_seconds_count',
      'settle_provider_circuit_state',
      'settle_webhook_queue_depth',
      'settle_webhook_deliveries_total',
    ]),
  );
  const p99 = expressions(dashboard).filter((e) => e.startsWith('histogram_quantile(0.99,'));
  expect(p99).toHaveLength(1);
});

test('a panel that references a metric nobody exports, or PromQL that does not parse, is caught', async () => {
  const broken = structuredClone(dashboard);
  broken.panels.push(
    {
      title: 'renamed metric',
      targets: [{ expr: 'sum(rate(settle_payments_total{status="declined"}[$__rate_interval]))' }],
    },
    { title: 'typo', targets: [{ expr: 'sum by (status (rate(settle_payment_transitions_total[5m]))' }] },
  );
  const found = await problems(broken);
  expect(found.missing).toEqual(['settle_payments_total']);
  expect(found.unparsed).toHaveLength(1);
  expect(found.unparsed[0]).toMatch(/^sum by \(status \(rate/);
});
